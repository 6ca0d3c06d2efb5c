from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.log_actions import log
from wagtail.models import GroupPagePermission

from cms.models import ProjectGroup, ProjectPage
from cms.roles import PROJECT_PAGE_PERMISSIONS, ROLE_GROUPS, Role


def page_permission(codename: str) -> Permission:
    return Permission.objects.get(
        content_type__app_label="wagtailcore", codename=f"{codename}_page"
    )


@transaction.atomic
def project_ensure_role_groups(*, project: ProjectPage) -> dict[str, Group]:
    """Create (once) the per-project groups that carry each role's page permissions."""
    groups = {}
    for role, permissions in PROJECT_PAGE_PERMISSIONS.items():
        link = ProjectGroup.objects.filter(project=project, role=role).first()
        if link is None:
            group = Group.objects.create(name=f"{project.title} [{project.pk}]: {role.label}")
            link = ProjectGroup.objects.create(project=project, role=role, group=group)
        for codename in permissions:
            GroupPagePermission.objects.get_or_create(
                group=link.group, page=project, permission=page_permission(codename)
            )
        groups[role] = link.group
    return groups


@transaction.atomic
def project_add_member(*, project: ProjectPage, user, role: Role, by_user=None) -> None:
    """Give a user a role in a project: the site-wide role group plus the project's group."""
    if role == Role.STEWARD:
        raise ValueError("Data stewards are site-wide; add them to the 'Data stewards' group.")
    groups = project_ensure_role_groups(project=project)
    user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]), groups[role])
    log(
        instance=project,
        action="storyloom.project.member_added",
        user=by_user,
        data={"user_id": user.pk, "role": str(role)},
    )


@transaction.atomic
def project_remove_member(*, project: ProjectPage, user, role: Role, by_user=None) -> None:
    link = ProjectGroup.objects.filter(project=project, role=role).first()
    if link:
        user.groups.remove(link.group)
    log(
        instance=project,
        action="storyloom.project.member_removed",
        user=by_user,
        data={"user_id": user.pk, "role": str(role)},
    )
