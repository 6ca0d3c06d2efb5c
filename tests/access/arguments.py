"""Real URLs for the routes: each argument filled from one side of the world (a project's
objects), so that a route is asked about a thing that exists."""

from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.models import Collection, Site, Workflow

from actions.models import ActionStatus
from tests.access.routes import Route

# What an argument means, by its name: the object of the side's project it takes.
BY_ARGUMENT = {
    "story_id": lambda s: s.story.pk,
    "segment_id": lambda s: s.segment.pk,
    "clip_id": lambda s: s.clip.pk,
    "media_id": lambda s: s.recording.pk,
    "consent_id": lambda s: s.consent.pk,
    "update_id": lambda s: s.update.pk,
    "action_id": lambda s: s.action.pk,
    "workshop_id": lambda s: s.workshop.pk,
    "project_id": lambda s: s.project.pk,
    "project_slug": lambda s: s.project.slug,
    "theme_id": lambda s: s.theme.pk,
    "chosen_id": lambda s: s.significant.pk,
    "page_id": lambda s: s.story.pk,
    "page_to_move_id": lambda s: s.story.pk,
    "parent_page_id": lambda s: s.project.pk,
    "destination_id": lambda s: s.project.pk,
    "revision_id": lambda s: s.story.latest_revision.pk,
    "page_pk": lambda s: s.project.pk,
    # Wagtail's own: a real value where one is easy to name, else a plausible one.
    "app_label": lambda s: "stories",
    "model_name": lambda s: "storypage",
    "app_name": lambda s: "stories",
    "content_type_app_name": lambda s: "stories",
    "content_type_model_name": lambda s: "storypage",
    "action_name": lambda s: "approve",
    "task_state_id": lambda s: s.task_state.pk,
    "task_id": lambda s: s.task_state.task_id,
    "workflow_state_id": lambda s: s.task_state.workflow_state_id,
    "workflow_pk": lambda s: Workflow.objects.order_by("pk").first().pk,
    "collection_id": lambda s: Collection.objects.order_by("pk").first().pk,
    "object_id": lambda s: str(s.story.pk),
    "session_id": lambda s: 1,
    "image_id": lambda s: 1,
    "document_id": lambda s: 1,
    "doc_id": lambda s: 1,
    "uploaded_file_id": lambda s: 1,
    "redirect_id": lambda s: 1,
    "restriction_id": lambda s: 1,
    "page_view_restriction_id": lambda s: 1,
    "filter_spec": lambda s: "original",
    "uidb64": lambda s: "MQ",
    "token": lambda s: "set-password",
    "revision_id_a": lambda s: "earliest",
    "revision_id_b": lambda s: "latest",
}

# `pk` (and a few other arguments) mean a different object on each family of routes.
PK_BY_NAMESPACE = {
    "storytellers": lambda s: s.storyteller.pk,
    "consent": lambda s: s.consent.pk,
    "erasures": lambda s: s.erasure.pk,
    "transcription_jobs": lambda s: s.job.pk,
    "name_list": lambda s: s.name_entry.pk,
    "action_statuses": lambda s: ActionStatus.objects.order_by("pk").first().pk,
    "wagtailsnippets_actions_action": lambda s: s.action.pk,
    "wagtailsnippetchoosers_actions_action": lambda s: s.action.pk,
    "workshop_theme_chooser": lambda s: s.theme.pk,
    "workshop_quote_chooser": lambda s: s.segment.pk,
    "workshop_clip_chooser": lambda s: s.clip.pk,
    "wagtailadmin_pages": lambda s: s.story.pk,
    "wagtailadmin_api:pages": lambda s: s.story.pk,
    "wagtailadmin_collections": lambda s: Collection.objects.order_by("pk").first().pk,
    "wagtailadmin_workflows": lambda s: Workflow.objects.order_by("pk").first().pk,
    "wagtailsites": lambda s: Site.objects.order_by("pk").first().pk,
    "wagtailusers_users": lambda s: s.reporter.pk,
    "wagtailusers_groups": lambda s: Group.objects.order_by("pk").first().pk,
}

# The story in the approval workflow, for the workflow's own routes.
_WAITING = {"page_id": lambda s: s.waiting_story.pk}

PER_ROUTE = {
    "wagtailadmin_pages:workflow_action": _WAITING,
    "wagtailadmin_pages:collect_workflow_action_data": _WAITING,
    "wagtailadmin_pages:confirm_workflow_cancellation": _WAITING,
    "wagtailadmin_pages:workflow_preview": _WAITING,
    "wagtailadmin_pages:workflow_history_detail": _WAITING,
    "wagtailsnippets_actions_action:revisions_revert": {
        "revision_id": lambda s: s.action.revisions.order_by("pk").first().pk
    },
    "transcription:story_captions": {"fmt": "vtt"},
    "stories:resumable_upload": {"upload_id": "5f0c6a52-3c3e-4d6b-9a59-3a0c2f9d7e11"},
    "themes_admin:chart": {"name": "map", "fmt": "svg"},
    "themes_admin:theme_action": {"action": "rename"},
    "workshops:export": {"variant": "participant", "fmt": "html"},
    "wagtailadmin_api:pages:action": {"action_name": "copy"},
    "wagtail_bulk_action": {"app_label": "wagtailcore", "model_name": "page", "action": "delete"},
    "wagtailadmin_editing_sessions:ping": {"app_label": "wagtailcore", "model_name": "page"},
    "wagtailadmin_tag_model_autocomplete": {"app_name": "stories", "model_name": "storypage"},
}

# Patterns without a name, or with unnamed groups: the path to ask for, by route name.
BY_HAND = {
    "<unnamed> admin/test404/": lambda s: "/admin/test404/",
    "<unnamed> admin/^.*/$": lambda s: "/admin/no-such-page/",
    "wagtaildocs_serve": lambda s: "/documents/1/notes.pdf",
    "wagtail_serve": lambda s: s.story.url,
}


def argument(route: Route, name: str, side):
    special = PER_ROUTE.get(route.name, {})
    if name in special:
        value = special[name]
        return value(side) if callable(value) else value
    namespace = route.name.rsplit(":", 1)[0] if ":" in route.name else ""
    if name == "pk":
        return PK_BY_NAMESPACE.get(namespace, lambda s: 1)(side)
    if name not in BY_ARGUMENT:
        raise LookupError(
            f"{route.key}: no value for the argument '{name}'. Say in tests/access/arguments.py "
            "which object of the world it takes."
        )
    return BY_ARGUMENT[name](side)


def url_for(route: Route, side, **override) -> str:
    if route.name in BY_HAND:
        return BY_HAND[route.name](side)
    kwargs = {name: override.get(name, argument(route, name, side)) for name in route.kwargs_names}
    return reverse(route.name, kwargs=kwargs)


# A POST names its object in the body on some routes: the same object, as a real form would.
POST_DATA = {
    "transcription:clip_create": lambda s: {"story_id": s.story.pk, "first_segment": ""},
}


def post_data(route: Route, side) -> dict:
    return POST_DATA[route.name](side) if route.name in POST_DATA else {}
