from django.urls import path, reverse
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


@hooks.register("register_admin_urls")
def sensitive_access_urls():
    from cms.views import SensitiveAccessView

    return [
        path(
            "reports/sensitive-access/",
            SensitiveAccessView.as_view(),
            name="storyloom_sensitive_access",
        ),
        path(
            "reports/sensitive-access/results/",
            SensitiveAccessView.as_view(results_only=True),
            name="storyloom_sensitive_access_results",
        ),
    ]


@hooks.register("register_reports_menu_item")
def sensitive_access_menu_item():
    from wagtail.admin.menu import MenuItem

    from cms.roles import user_is_steward

    class StewardsOnly(MenuItem):
        def is_shown(self, request):
            return user_is_steward(request.user)

    return StewardsOnly(
        "Sensitive access",
        reverse("storyloom_sensitive_access"),
        icon_name="view",
        order=900,
    )


@hooks.register("construct_reports_menu")
def page_types_report_for_stewards_only(request, menu_items):
    # Its view answers 404 to anyone else (cms.views.PageTypesUsageView).
    from cms.roles import user_is_steward

    if not user_is_steward(request.user):
        menu_items[:] = [item for item in menu_items if item.name != "page-types-usage"]
