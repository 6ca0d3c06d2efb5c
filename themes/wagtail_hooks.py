from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from themes import urls
from themes.selectors import theme_projects_for_user


@hooks.register("register_admin_urls")
def register_theme_urls():
    return [path("themes/", include(urls, namespace="themes_admin"))]


class ThemesMenuItem(MenuItem):
    def is_shown(self, request):
        return theme_projects_for_user(user=request.user).exists()


@hooks.register("register_admin_menu_item")
def register_themes_menu_item():
    return ThemesMenuItem(
        "Themes", reverse("themes_admin:index"), icon_name="tag", order=250, name="themes"
    )


@hooks.register("register_log_actions")
def register_theme_log_actions(actions):
    for action, label in [
        ("run_start", "Theme run queued"),
        ("run_done", "Theme run finished"),
        ("run_failed", "Theme run failed"),
        ("assign", "New story placed in themes"),
        ("rename", "Theme renamed"),
        ("describe", "Theme described"),
        ("merge", "Themes merged"),
        ("split", "Theme split"),
        ("hide", "Theme hidden or shown"),
        ("move", "Quote moved to another theme"),
        ("pin", "Quote pinned or unpinned"),
    ]:
        actions.register_action(f"storyloom.themes.{action}", label, label)
