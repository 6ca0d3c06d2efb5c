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


def user_is_steward(user) -> bool:
    return user.is_active and (
        user.is_superuser or user.groups.filter(name=ROLE_GROUPS[Role.STEWARD]).exists()
    )
