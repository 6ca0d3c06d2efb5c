"""The four roles. Each is a site-wide group (admin access, snippet permissions) and, per
project, a group holding that project's Wagtail page permissions (see cms.services)."""

from django.db import models


class Role(models.TextChoices):
    REPORTER = "reporter", "Reporter"
    FACILITATOR = "facilitator", "Facilitator"
    MANAGER = "manager", "Manager"
    STEWARD = "steward", "Data steward"


# Site-wide group names, created by the data migration cms/0002.
ROLE_GROUPS = {
    Role.REPORTER: "Reporters",
    Role.FACILITATOR: "Facilitators",
    Role.MANAGER: "Managers",
    Role.STEWARD: "Data stewards",
}

# Wagtail page permissions each role holds on its project's subtree. "add" lets a reporter
# create stories and edit only the ones they own; stewards publish (approve) everywhere.
PROJECT_PAGE_PERMISSIONS = {
    Role.REPORTER: ["add"],
    Role.FACILITATOR: ["add"],
    Role.MANAGER: [],
}
STEWARD_PAGE_PERMISSIONS = ["add", "change", "publish", "lock", "unlock"]


# --- Per-request answers ---------------------------------------------------------------------
#
# Pages ask "is this user a data steward?" and "what are their roles in this project?" many
# times. The answers are kept on the user object itself (as Django keeps `_perm_cache`): the
# user object of a request lives for that request only, so nothing is kept across requests or
# users, and a user fetched afresh asks the database again. Changing a user's groups through
# that same object (user.groups.add/remove/set/clear) forgets its answers (cms.apps connects
# forget_roles_on_group_change).

ROLE_CACHE_ATTR = "_storyloom_role_cache"


def role_cache(user) -> dict:
    """The user object's own cache of role answers (made on first use)."""
    cache = getattr(user, ROLE_CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(user, ROLE_CACHE_ATTR, cache)  # through request.user's lazy wrapper too
    return cache


def forget_roles(user) -> None:
    if getattr(user, ROLE_CACHE_ATTR, None) is not None:
        setattr(user, ROLE_CACHE_ATTR, None)


def forget_roles_on_group_change(sender, instance, action, reverse, **kwargs):
    """m2m_changed on User.groups: the user object whose groups changed forgets its answers."""
    if action.startswith("post_") and not reverse:
        forget_roles(instance)


def user_is_steward(user) -> bool:
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not getattr(user, "pk", None):
        return False  # anonymous or unsaved: no groups
    # Only the group membership is kept; is_active and is_superuser are read each time.
    cache = role_cache(user)
    if "steward_group" not in cache:
        cache["steward_group"] = user.groups.filter(name=ROLE_GROUPS[Role.STEWARD]).exists()
    return cache["steward_group"]
