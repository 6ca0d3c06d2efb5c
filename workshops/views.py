"""Workshop pages in the admin: the list, a new workshop, a pack (read, draft, export), the
outcomes, and the clip page a printed QR code leads to. Thin: reads through selectors with
the viewer (another project's workshop is a 404), writes through services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from wagtail.log_actions import log

from cms.selectors import projects_for_user
from stories.http import serve_private_file
from stories.models import StoryPage
from themes.models import Theme
from workshops import pack as packs
from workshops import selectors, services
from workshops.forms import ProposalForm, SignificantStoryForm, WorkshopCreateForm
from workshops.models import Audience, Decision, SignificantStory


def _workshop(request, workshop_id):
    return selectors.workshop_get_for_user(user=request.user, workshop_id=workshop_id)


def _detail_url(workshop) -> str:
    return reverse("workshops:detail", args=[workshop.pk])


def _outcomes_url(workshop) -> str:
    return reverse("workshops:outcomes", args=[workshop.pk])


def _refuse(request, workshop, message=selectors.NO_EDIT_MESSAGE):
    messages.error(request, message)
    response = redirect(_detail_url(workshop))
    response.status_code = 303
    return response


def pack_context(request, *, workshop, version, variant: str | None) -> dict:
    """What a page showing a pack needs: the pack resolved for this viewer, or nothing for
    someone who may not read it."""
    project = selectors.workshop_project(workshop)
    can_read = selectors.can_read_packs(user=request.user, project=project)
    can_edit = selectors.can_build_packs(user=request.user, project=project)
    if variant is None:
        wanted = request.GET.get("variant")
        variant = (
            packs.FACILITATOR if can_edit and wanted == packs.FACILITATOR else packs.PARTICIPANT
        )
    if variant == packs.FACILITATOR and not can_edit:
        variant = packs.PARTICIPANT
    pack = None
    if can_read and version is not None:
        pack = packs.resolve_pack(
            workshop=workshop,
            version=version,
            variant=variant,
            clip_link=(lambda clip: _clip_url(workshop, clip)) if workshop.pk else None,
        )
    return {
        "workshop": workshop,
        "project": project,
        "pack": pack,
        "can_read": can_read,
        "can_edit": can_edit,
        "variant": variant,
        "variants": packs.VARIANTS,
    }


def _clip_url(workshop, clip) -> str:
    return reverse("workshops:clip", args=[workshop.pk, clip.pk])


# --- Listing and creating ---------------------------------------------------------------------


@require_GET
def index(request):
    projects = []
    for project in projects_for_user(user=request.user):
        workshops = list(selectors.workshops_visible_to(user=request.user, project=project))
        can_build = selectors.can_build_packs(user=request.user, project=project)
        if workshops or can_build:
            projects.append({"project": project, "workshops": workshops, "can_build": can_build})
    return TemplateResponse(request, "workshops/admin/index.html", {"projects": projects})


@require_http_methods(["GET", "POST"])
def create(request, project_id):
    project = projects_for_user(user=request.user).filter(pk=project_id).first()
    if project is None:
        raise Http404
    if not selectors.can_build_packs(user=request.user, project=project):
        messages.error(request, selectors.NO_EDIT_MESSAGE)
        return redirect("workshops:index")
    form = WorkshopCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workshop = services.workshop_create(
                project=project,
                user=request.user,
                title=data["title"],
                date=data["date"],
                venue=data["venue"],
                audience=data["audience"],
                objectives=data["objectives"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            if data["draft"]:
                try:
                    services.pack_draft(workshop=workshop, user=request.user)
                    messages.success(
                        request, "The workshop is ready, with a draft pack. Change it as you like."
                    )
                except ValidationError as error:
                    messages.warning(request, " ".join(error.messages))
            else:
                messages.success(request, "The workshop is ready. Add to its pack.")
            return redirect("wagtailadmin_pages:edit", workshop.pk)
    return TemplateResponse(
        request, "workshops/admin/create.html", {"project": project, "form": form}
    )


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


# --- One workshop -----------------------------------------------------------------------------


@require_GET
def detail(request, workshop_id):
    workshop = _workshop(request, workshop_id)
    version = selectors.pack_version_for_user(user=request.user, workshop=workshop)
    context = pack_context(request, workshop=workshop, version=version, variant=None)
    context.update(
        {
            "live": workshop.live,
            "has_draft_changes": workshop.has_unpublished_changes,
            "proposal_count": workshop.proposals.count(),
            "formats": [("pdf", "PDF"), ("html", "Web page (HTML)")],
        }
    )
    return TemplateResponse(request, "workshops/admin/detail.html", context)


@require_http_methods(["GET", "POST"])
def draft(request, workshop_id):
    workshop = _workshop(request, workshop_id)
    if not selectors.can_edit_workshop(user=request.user, workshop=workshop):
        return _refuse(request, workshop)
    if request.method == "POST":
        try:
            services.pack_draft(workshop=workshop, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(_detail_url(workshop))
        messages.success(
            request,
            "The pack has been drafted from the themes. The old pack is kept in the page history.",
        )
        return redirect("wagtailadmin_pages:edit", workshop.pk)
    version = selectors.latest_version(workshop)
    return TemplateResponse(
        request,
        "workshops/admin/draft.html",
        {"workshop": workshop, "has_content": bool(len(version.body))},
    )


@require_GET
def export(request, workshop_id, variant, fmt):
    workshop = _workshop(request, workshop_id)
    if variant not in packs.VARIANTS or fmt not in services.FORMATS:
        raise Http404
    try:
        result = services.pack_export(
            workshop=workshop,
            user=request.user,
            fmt=fmt,
            variant=variant,
            base_url=request.build_absolute_uri("/"),
        )
    except PermissionDenied as error:
        return _refuse(request, workshop, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_detail_url(workshop))
    response = HttpResponse(result.content, content_type=result.content_type)
    disposition = "inline" if fmt == "html" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{result.filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if fmt == "html":
        # The document carries everything inline; it may load and run nothing.
        response["Content-Security-Policy"] = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        )
    return response


# --- Outcomes ---------------------------------------------------------------------------------


def _pack_stories(workshop) -> list[tuple[int, str]]:
    """The stories participants can name, each labelled by its first quote in the pack (the
    story's title may be personal; its quoted, redacted words are what people saw)."""
    version = selectors.latest_version(workshop)
    resolved = packs.resolve_pack(workshop=workshop, version=version, charts=None)
    labels: dict[int, str] = {}
    for section in resolved.sections:
        quotes = section.data.get("quotes") or (
            [section.data["quote"]] if "quote" in section.data else []
        )
        for quote in quotes:
            labels.setdefault(quote.story_id, f"“{_short(quote.text)}” — {quote.role}")
        if section.kind == "clip":
            clip = section.data["clip"]
            labels.setdefault(clip.story_id, f"“{_short(clip.text)}” — {section.data['role']}")
    allowed = set(selectors.stories_in_workshop(workshop=workshop).values_list("pk", flat=True))
    return [(pk, label) for pk, label in labels.items() if pk in allowed]


def _short(text: str) -> str:
    from workshops.choosers import short

    return short(text, 70)


def _outcomes_context(request, workshop, *, proposal_form=None, story_form=None, errors=None):
    project = selectors.workshop_project(workshop)
    themes = Theme.objects.filter(
        project=project, run__is_current=True, merged_into__isnull=True, split_into=[]
    ).order_by("-storyteller_count", "pk")
    stories = _pack_stories(workshop)
    labels = dict(stories)
    counts = {a.group: a.count for a in workshop.attendance.all()}
    groups = list(dict.fromkeys([*workshop.audience, *counts]))
    groups += [g for g in Audience.values if g not in groups]
    proposals = list(selectors.proposals_for_user(user=request.user, workshop=workshop))
    for proposal in proposals:
        proposal.current_themes = [packs.resolve_theme(t, project) for t in proposal.themes.all()]
    post = request.POST if errors else None
    for proposal in proposals:
        prefix = f"proposal-{proposal.pk}"
        proposal.field_prefix = prefix
        proposal.errors = (errors or {}).get(prefix, [])
        proposal.shown = {
            "decision": post.get(f"{prefix}-decision") if post else proposal.decision,
            "reasons": post.get(f"{prefix}-reasons") if post else proposal.reasons,
            "for": post.get(f"{prefix}-for") if post else proposal.votes_for,
            "against": post.get(f"{prefix}-against") if post else proposal.votes_against,
            "abstain": post.get(f"{prefix}-abstain") if post else proposal.votes_abstain,
        }
    if post:
        counts = {g: post.get(f"attendance-{g}", "") for g in Audience.values}
    significant = list(workshop.significant_stories.all())
    for chosen in significant:
        chosen.label = labels.get(chosen.story_id, "A story that is no longer in the pack")
    return {
        "workshop": workshop,
        "project": project,
        "can_edit": selectors.can_edit_workshop(user=request.user, workshop=workshop),
        "attendance": [
            {"group": g, "label": Audience(g).label, "count": counts.get(g, 0)} for g in groups
        ],
        "attendance_total": sum(a.count for a in workshop.attendance.all()),
        "proposals": proposals,
        "decisions": Decision.choices,
        "significant": significant,
        "proposal_form": proposal_form or ProposalForm(themes=themes),
        "story_form": story_form or SignificantStoryForm(stories=stories),
        "attendance_errors": (errors or {}).get("attendance", []),
    }


@require_http_methods(["GET", "POST"])
def outcomes(request, workshop_id):
    workshop = _workshop(request, workshop_id)
    if request.method == "GET":
        return TemplateResponse(
            request, "workshops/admin/outcomes.html", _outcomes_context(request, workshop)
        )
    if not selectors.can_edit_workshop(user=request.user, workshop=workshop):
        return _refuse(request, workshop)
    post = request.POST
    attendance = {g: post.get(f"attendance-{g}", "0") for g in Audience.values}
    decided = []
    for proposal in workshop.proposals.all():
        prefix = f"proposal-{proposal.pk}"
        if f"{prefix}-decision" not in post:
            continue
        decided.append(
            services.ProposalOutcome(
                proposal=proposal,
                decision=post.get(f"{prefix}-decision", ""),
                reasons=post.get(f"{prefix}-reasons", ""),
                votes_for=post.get(f"{prefix}-for", "0"),
                votes_against=post.get(f"{prefix}-against", "0"),
                votes_abstain=post.get(f"{prefix}-abstain", "0"),
            )
        )
    try:
        services.outcomes_record(
            workshop=workshop, user=request.user, attendance=attendance, proposals=decided
        )
    except ValidationError as error:
        messages.error(request, "Nothing was saved yet: please check the messages below.")
        context = _outcomes_context(request, workshop, errors=error.message_dict)
        return TemplateResponse(request, "workshops/admin/outcomes.html", context, status=400)
    messages.success(request, "The outcomes are saved.")
    return redirect(_outcomes_url(workshop))


@require_POST
def proposal_add(request, workshop_id):
    workshop = _workshop(request, workshop_id)
    if not selectors.can_edit_workshop(user=request.user, workshop=workshop):
        return _refuse(request, workshop)
    project = selectors.workshop_project(workshop)
    themes = Theme.objects.filter(
        project=project, run__is_current=True, merged_into__isnull=True, split_into=[]
    )
    form = ProposalForm(request.POST, themes=themes)
    if form.is_valid():
        try:
            services.proposal_add(
                workshop=workshop,
                user=request.user,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                themes=form.cleaned_data["themes"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "The proposal is added. Record its votes and decision.")
            return redirect(_outcomes_url(workshop) + "#proposals")
    context = _outcomes_context(request, workshop, proposal_form=form)
    return TemplateResponse(request, "workshops/admin/outcomes.html", context, status=400)


@require_POST
def significant_add(request, workshop_id):
    workshop = _workshop(request, workshop_id)
    if not selectors.can_edit_workshop(user=request.user, workshop=workshop):
        return _refuse(request, workshop)
    form = SignificantStoryForm(request.POST, stories=_pack_stories(workshop))
    if form.is_valid():
        story = StoryPage.objects.filter(pk=form.cleaned_data["story"]).first()
        try:
            if story is None:
                raise ValidationError({"story": "Please choose one of the stories in the pack."})
            services.significant_story_add(
                workshop=workshop, user=request.user, story=story, why=form.cleaned_data["why"]
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "The story and why it matters are saved.")
            return redirect(_outcomes_url(workshop) + "#significant")
    context = _outcomes_context(request, workshop, story_form=form)
    return TemplateResponse(request, "workshops/admin/outcomes.html", context, status=400)


@require_POST
def significant_remove(request, workshop_id, chosen_id):
    workshop = _workshop(request, workshop_id)
    if not selectors.can_edit_workshop(user=request.user, workshop=workshop):
        return _refuse(request, workshop)
    chosen = SignificantStory.objects.filter(workshop=workshop, pk=chosen_id).first()
    if chosen is None:
        raise Http404
    services.significant_story_remove(chosen=chosen, user=request.user)
    messages.success(request, "The story is taken off the list.")
    return redirect(_outcomes_url(workshop) + "#significant")


# --- Clips (where a printed QR code leads) -------------------------------------------------------


def _pack_clip(request, workshop_id, clip_id):
    """A clip of a pack the viewer may read, and only while consent still allows it."""
    workshop = _workshop(request, workshop_id)
    version = selectors.pack_version_for_user(user=request.user, workshop=workshop)
    if version is None:
        raise Http404
    if int(clip_id) not in packs.material_ids(version)["clips"]:
        raise Http404
    project = selectors.workshop_project(workshop)
    clip = selectors.usable_clips(project=project).filter(pk=clip_id).first()
    if clip is None:
        raise Http404
    return workshop, clip


@require_GET
def clip(request, workshop_id, clip_id):
    try:
        workshop, clip = _pack_clip(request, workshop_id, clip_id)
    except Http404:
        return TemplateResponse(request, "workshops/clip_gone.html", {}, status=404)
    context = {
        "workshop": workshop,
        "clip": clip,
        "can_play": selectors.clip_can_play(clip),
        "is_video": clip.content_type.startswith("video/"),
        "role": packs.ROLE_LABELS.get(clip.story.storyteller_role, ""),
    }
    return TemplateResponse(request, "workshops/clip.html", context)


@require_safe  # HEAD too: players ask before they fetch
def clip_media(request, workshop_id, clip_id):
    workshop, clip = _pack_clip(request, workshop_id, clip_id)
    if not selectors.clip_can_play(clip):
        raise Http404

    def opened():
        log(
            instance=workshop,
            action="storyloom.workshops.clip_played",
            user=request.user,
            data={"clip": clip.pk, "story": clip.story_id},
        )

    extension = clip.file.name.rsplit(".", 1)[-1] if "." in clip.file.name else "bin"
    return serve_private_file(
        request,
        clip.file,
        content_type=clip.content_type or "application/octet-stream",
        filename=f"clip-{clip.pk}.{extension}",
        on_open=opened,
    )


@require_safe  # HEAD too: players ask before they fetch
def clip_captions(request, workshop_id, clip_id):
    _, clip = _pack_clip(request, workshop_id, clip_id)
    captions = clip.captions or "WEBVTT\n"
    response = HttpResponse(captions, content_type="text/vtt; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
