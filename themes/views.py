"""Admin pages for theme curation. Thin: every read goes through selectors (with the
viewer), every change through a service; other projects' themes are a 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from themes import selectors, services
from themes.models import RunStatus
from transcription.models import Segment

CHARTS = {"map", "roles", "time"}


def _project_url(project) -> str:
    return reverse("themes_admin:project", args=[project.pk])


@require_GET
def index(request):
    projects = selectors.theme_projects_for_user(user=request.user)
    return TemplateResponse(request, "themes/index.html", {"projects": projects})


def _run_status(run) -> dict:
    if run is None:
        return {"status": "none", "progress": 0, "finished": True, "message": ""}
    return {
        "run": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "progress": run.progress,
        "finished": run.is_finished,
        "message": run.message,
    }


@require_GET
def project_themes(request, project_id):
    project = selectors.project_get_for_theme_reader(user=request.user, project_id=project_id)
    themes = selectors.themes_with_words_hidden(
        selectors.themes_visible_to(user=request.user, project=project), project=project
    )
    quotes = selectors.quotes_for_themes(user=request.user, project=project, themes=themes, limit=3)
    for theme in themes:
        theme.project = project  # the page's project: not fetched again per theme
        theme.quotes = quotes[theme.pk]
        theme.only = selectors.heard_only_by(theme.role_counts)
        theme.roles = [
            (selectors.role_label(role), count) for role, count in theme.role_counts.items()
        ]
    latest = selectors.latest_run(project=project)
    context = {
        "project": project,
        "run": selectors.current_run(project=project),
        "latest": latest,
        "latest_status": _run_status(latest),
        "shown": [t for t in themes if not t.hidden],
        "hidden": [t for t in themes if t.hidden],
        "can_curate": selectors.can_curate_themes(user=request.user, project=project),
        "heard": selectors.who_is_heard(user=request.user, project=project, themes=themes),
    }
    return TemplateResponse(request, "themes/project.html", context)


@require_GET
def theme_detail(request, project_id, theme_id):
    project = selectors.project_get_for_theme_reader(user=request.user, project_id=project_id)
    theme = selectors.theme_get_for_user(user=request.user, project=project, theme_id=theme_id)
    hidden = selectors.hidden_theme_words(project=project)
    [theme] = selectors.themes_with_words_hidden([theme], project=project, hidden=hidden)
    others = selectors.themes_with_words_hidden(
        (t for t in selectors.themes_visible_to(user=request.user, project=project) if t != theme),
        project=project,
        hidden=hidden,
    )
    context = {
        "project": project,
        "theme": theme,
        "segments": selectors.theme_segments(user=request.user, theme=theme),
        "others": others,
        "can_curate": selectors.can_curate_themes(user=request.user, project=project),
    }
    return TemplateResponse(request, "themes/theme.html", context)


@require_GET
def run_status(request, project_id):
    project = selectors.project_get_for_theme_reader(user=request.user, project_id=project_id)
    return JsonResponse(_run_status(selectors.latest_run(project=project)))


@require_POST
def run_start(request, project_id):
    project = selectors.project_get_for_theme_reader(user=request.user, project_id=project_id)
    if not selectors.can_curate_themes(user=request.user, project=project):
        return _refused(request, project)
    run = services.theme_run_start(project=project, user=request.user)
    if run.status == RunStatus.RUNNING:
        messages.info(request, "Themes are already being found. Please wait.")
    else:
        messages.success(request, "Finding themes. This page shows the progress.")
    return redirect(_project_url(project))


def _refused(request, project):
    """A reader (a manager) who is not a curator: back to the themes (303), with the plain
    reason shown there."""
    messages.error(request, services.NO_CURATE_MESSAGE)
    response = redirect(_project_url(project))
    response.status_code = 303
    return response


def _segment(request, project) -> Segment:
    segment_id = request.POST.get("segment", "")
    segment = (
        selectors.analysis_segments(project=project).filter(pk=segment_id).first()
        if segment_id.isdigit()
        else None
    )
    if segment is None:
        raise ValidationError("Please choose a quote.")
    return segment


def _theme(request, project, theme_id):
    return selectors.theme_get_for_user(user=request.user, project=project, theme_id=theme_id)


@require_POST
def theme_action(request, project_id, theme_id, action):
    project = selectors.project_get_for_theme_reader(user=request.user, project_id=project_id)
    if not selectors.can_curate_themes(user=request.user, project=project):
        return _refused(request, project)
    theme = _theme(request, project, theme_id)
    back = request.POST.get("next") or _project_url(project)
    if not back.startswith("/"):
        back = _project_url(project)
    user = request.user
    try:
        if action == "rename":
            services.theme_rename(theme=theme, label=request.POST.get("label", ""), user=user)
            done = "The theme has its new name."
        elif action == "describe":
            services.theme_describe(
                theme=theme, description=request.POST.get("description", ""), user=user
            )
            done = "The description is saved."
        elif action in ("hide", "show"):
            services.theme_hide(theme=theme, user=user, hidden=action == "hide")
            done = "The theme is hidden." if action == "hide" else "The theme is shown again."
        elif action == "merge":
            ids = [i for i in request.POST.getlist("themes") if i.isdigit()]
            others = [_theme(request, project, i) for i in ids]
            if not others:
                raise ValidationError("Please tick at least one theme to merge into this one.")
            services.theme_merge(themes=others, into=theme, user=user)
            done = "The themes are merged."
        elif action == "split":
            parts = request.POST.get("parts", "2")
            services.theme_split_start(
                theme=theme, user=user, k=int(parts) if parts.isdigit() else 2
            )
            done = "The theme is being split. Reload the page in a moment to see the parts."
        elif action in ("pin", "unpin"):
            segment = _segment(request, project)
            pin = services.quote_pin if action == "pin" else services.quote_unpin
            pin(theme=theme, segment=segment, user=user)
            done = "The quote is pinned." if action == "pin" else "The quote is unpinned."
        elif action == "move":
            segment = _segment(request, project)
            target = request.POST.get("to", "")
            if not target.isdigit():
                raise ValidationError("Please choose the theme to move the quote to.")
            to_theme = _theme(request, project, target)
            services.assignment_move(
                segment=segment, from_theme=theme, to_theme=to_theme, user=user
            )
            [shown] = selectors.themes_with_words_hidden([to_theme], project=project)
            done = f"The quote is moved to “{shown.display_label}”."
        else:
            return HttpResponse(status=404)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(request, done)
    return redirect(back)


@require_GET
def chart(request, project_id, name, fmt):
    project = selectors.project_get_for_theme_reader(user=request.user, project_id=project_id)
    from themes import charts  # matplotlib: only here

    if name not in CHARTS or fmt not in charts.FORMATS:
        return HttpResponse(status=404)
    if name == "map":
        themes = selectors.themes_with_words_hidden(
            selectors.themes_visible_to(user=request.user, project=project, include_hidden=False),
            project=project,
        )
        data = charts.theme_map(themes, fmt=fmt)
    elif name == "roles":
        data = charts.role_bars(selectors.who_is_heard(user=request.user, project=project), fmt=fmt)
    else:
        over_time = selectors.themes_over_time(user=request.user, project=project)
        data = charts.themes_over_time(over_time, fmt=fmt)
    response = HttpResponse(data, content_type=charts.FORMATS[fmt])
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if fmt == "svg":
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="themes-{name}.{fmt}"'
    return response
