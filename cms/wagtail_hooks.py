from django.urls import reverse
from wagtail import hooks

from cms.models import ProjectPage
from cms.services import project_ensure_role_groups


@hooks.register("register_log_actions")
def register_project_log_actions(actions):
    actions.register_action("storyloom.project.member_added", "Member added", "Member added")
    actions.register_action("storyloom.project.member_removed", "Member removed", "Member removed")


@hooks.register("after_create_page")
def set_up_new_project(request, page):
    # A project made in the admin gets its role groups at once, so stewards can add people.
    if isinstance(page.specific, ProjectPage):
        project_ensure_role_groups(project=page.specific)


@hooks.register("register_account_menu_item")
def two_step_login_menu_item(request):
    return {
        "url": reverse("two_factor:profile"),
        "label": "Two-step login",
        "help_text": "Ask for a code from an app on your phone as well as your password.",
    }
