"""Thin views: every read goes through actions.selectors (with the viewer), every change
through actions.services. Another project's action or story is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST, require_safe
from wagtail.log_actions import log

from actions import selectors, services
from actions.forms import UpdateForm
from cms.models import ProjectPage
from cms.selectors import projects_for_user
from stories.http import serve_private_file


def _detail_context(request, action, form=None) -> dict:
    can_edit = selectors.can_edit_actions(user=request.user, project=action.project)
    if form is None and can_edit:
        form = UpdateForm(initial={"version": action.version})
    return {
        "action": action,
        "project": action.project,
        "can_edit": can_edit,
        "form": form,
        "updates": action.updates.select_related("author", "status_from", "status_to"),
        "trace": selectors.action_trace_summary(user=request.user, action=action),
        "children": action.children.select_related("status").order_by("pk"),
        "blockers": selectors.public_page_blockers(action=action),
        "overdue": action.is_overdue(),
    }


@require_GET
def action_detail(request, action_id):
    action = selectors.action_get_for_user(user=request.user, action_id=action_id)
    return TemplateResponse(request, "actions/admin/detail.html", _detail_context(request, action))


@require_GET
def action_stories(request, action_id):
    """All the stories behind an action, 50 to a page (the action's page shows the first few)."""
    action = selectors.action_get_for_user(user=request.user, action_id=action_id)
    listing = selectors.action_trail_stories_page(
        user=request.user, action=action, page_number=request.GET.get("page")
    )
    return TemplateResponse(
        request,
        "actions/admin/stories.html",
        {"action": action, "project": action.project, **listing},
    )


@require_POST
def action_post_update(request, action_id):
    action = selectors.action_get_for_user(user=request.user, action_id=action_id)
    if not selectors.can_edit_actions(user=request.user, project=action.project):
        raise Http404
    form = UpdateForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.action_post_update(
                action=action,
                user=request.user,
                text=data["text"],
                status=data["status"],
                status_reason=data["status_reason"] if data["status_reason"] else None,
                progress=data["progress"],
                evidence=data["evidence"],
                on=data["date"],
                expected_version=data["version"],
            )
        except services.StaleEdit as error:
            form.add_error(None, error.messages[0])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Your update has been saved.")
            return redirect("actions_admin:detail", action.pk)
    action.refresh_from_db()
    response = TemplateResponse(
        request, "actions/admin/detail.html", _detail_context(request, action, form=form)
    )
    response.status_code = 400
    return response


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@require_GET
def story_impact(request, story_id):
    impact = selectors.story_impact(user=request.user, story_id=story_id)
    return TemplateResponse(request, "actions/admin/impact.html", impact)


# --- Public and private files ----------------------------------------------------------------


@require_safe
def you_said_we_did(request, project_slug):
    """The public page: no login. Anyone may see what storytellers agreed to share
    publicly; when there is nothing yet, the public get a 404 (nobody learns the project
    exists) and the project's own people a page saying why it is empty."""
    project = get_object_or_404(ProjectPage.objects.live(), slug=project_slug)
    page = selectors.public_page(project=project)
    member = projects_for_user(user=request.user).filter(pk=project.pk).exists()
    if not page["has_content"] and not member:
        raise Http404
    return TemplateResponse(
        request, "actions/you_said_we_did.html", {**page, "member": member, "project": project}
    )


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1] if "." in name else "bin"


@require_safe
@login_required
def serve_evidence(request, update_id):
    update = selectors.evidence_get_for_user(user=request.user, update_id=update_id)

    def opened():
        log(
            instance=update.action,
            action="storyloom.actions.evidence_view",
            user=request.user,
            data={"update_id": update.pk},
        )

    return serve_private_file(
        request,
        update.evidence,
        content_type=update.evidence_content_type or "application/octet-stream",
        filename=f"action-{update.action_id}-evidence-{update.pk}.{_extension(update.evidence.name)}",
        on_open=opened,
    )
