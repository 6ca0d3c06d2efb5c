"""Workshops in the Wagtail admin: the menu, the workshop pages' own views (404 for other
projects), the pack choosers, buttons on a workshop's page header, keeping pack proposals in
step with the pack, and the audit log's names for workshop actions."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.pages import PageViewSet
from wagtail.admin.widgets.button import Button

from cms.selectors import projects_for_user
from workshops import selectors, services, urls
from workshops.choosers import clip_chooser_viewset, quote_chooser_viewset, theme_chooser_viewset
from workshops.models import WorkshopPage


@hooks.register("register_admin_urls")
def register_workshop_urls():
    return [path("workshops/", include(urls, namespace="workshops"))]


class WorkshopsMenuItem(MenuItem):
    def is_shown(self, request):
        return projects_for_user(user=request.user).exists()


@hooks.register("register_admin_menu_item")
def register_workshops_menu_item():
    return WorkshopsMenuItem(
        "Workshops",
        reverse("workshops:index"),
        icon_name="group",
        order=260,
        name="workshops",
    )


class WorkshopPageViewSet(PageViewSet):
    """Every admin view of one workshop (edit, history, revisions, preview, workflow…) answers
    404 to someone outside its project, before Wagtail's own permission checks."""

    model = WorkshopPage

    def get_view_by_name(self, name):
        view = super().get_view_by_name(name)

        def project_members_only(request, *args, **kwargs):
            # "pk": the revisions comparison names the page so. "parent_page_id": the
            # explorer and "add a page here", opened at a workshop.
            for key in ("page_id", "page_to_move_id", "pk", "parent_page_id"):
                if key in kwargs and WorkshopPage.objects.filter(pk=kwargs[key]).exists():
                    selectors.workshop_get_for_user(user=request.user, workshop_id=kwargs[key])
            return view(request, *args, **kwargs)

        return project_members_only


@hooks.register("register_admin_viewset")
def register_workshop_viewsets():
    return [
        WorkshopPageViewSet(),
        theme_chooser_viewset,
        quote_chooser_viewset,
        clip_chooser_viewset,
    ]


def _hide_other_projects_workshops(pages, user):
    visible = selectors.workshops_visible_to(user=user).values("pk")
    return pages.exclude(pk__in=WorkshopPage.objects.exclude(pk__in=visible).values("pk"))


@hooks.register("construct_explorer_page_queryset")
def hide_workshops_in_explorer(parent_page, pages, request):
    return _hide_other_projects_workshops(pages, request.user)


@hooks.register("construct_page_chooser_queryset")
def hide_workshops_in_chooser(pages, request):
    return _hide_other_projects_workshops(pages, request.user)


@hooks.register("before_create_page")
def only_facilitators_create_workshops(request, parent_page, page_class):
    # Reporters hold "add" on their project (for stories), which would let them add a
    # workshop too: building packs is the facilitators' job.
    if page_class is WorkshopPage and not selectors.can_build_packs(
        user=request.user, project=parent_page.specific
    ):
        messages.error(request, selectors.NO_EDIT_MESSAGE)
        return redirect("workshops:index")
    return None


def _sync_proposals(request, page):
    if isinstance(page.specific, WorkshopPage):
        workshop = page.specific
        services.proposals_sync_from_pack(workshop=workshop, user=request.user)


@hooks.register("after_create_page")
def sync_proposals_after_create(request, page):
    _sync_proposals(request, page)


@hooks.register("after_edit_page")
def sync_proposals_after_edit(request, page):
    _sync_proposals(request, page)


@hooks.register("register_page_header_buttons")
def workshop_header_buttons(page, user, view_name, next_url=None):
    if not isinstance(page.specific, WorkshopPage):
        return []
    buttons = [
        Button(
            "Pack and exports",
            reverse("workshops:detail", args=[page.pk]),
            icon_name="doc-full",
            priority=5,
        ),
        Button(
            "Outcomes",
            reverse("workshops:outcomes", args=[page.pk]),
            icon_name="tasks",
            priority=6,
        ),
    ]
    if selectors.can_edit_workshop(user=user, workshop=page.specific):
        buttons.append(
            Button(
                "Draft a pack from the themes",
                reverse("workshops:draft", args=[page.pk]),
                icon_name="wand",
                priority=7,
            )
        )
    return buttons


@hooks.register("register_log_actions")
def register_workshop_log_actions(actions):
    for action, label in [
        ("pack_drafted", "Pack drafted from the themes"),
        ("export", "Pack exported"),
        ("regenerated", "Pack made again without withdrawn material"),
        ("proposal_added", "Proposal added"),
        ("proposal_removed", "Proposal removed with its block"),
        ("proposal_decided", "Proposal votes or decision recorded"),
        ("proposal_themes", "Proposal linked to themes"),
        ("attendance", "Attendance recorded"),
        ("significant_story", "Most significant story recorded"),
        ("significant_story_removed", "Most significant story taken off"),
        ("clip_played", "Clip played from a pack"),
    ]:
        actions.register_action(f"storyloom.workshops.{action}", label, label)
