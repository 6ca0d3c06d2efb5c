from django.db.models import QuerySet

from cms.models import ProjectGroup, ProjectPage
from cms.roles import Role, role_cache, user_is_steward


def projects_for_user(*, user, role: Role | None = None) -> QuerySet[ProjectPage]:
    """Projects the user takes part in (in any role, or the one given). Stewards: all."""
    if not user.is_authenticated or not user.is_active:
        return ProjectPage.objects.none()
    if user_is_steward(user) and role in (None, Role.STEWARD):
        return ProjectPage.objects.all().order_by("title")
    groups = ProjectGroup.objects.filter(group__user=user)
    if role is not None:
        groups = groups.filter(role=role)
    return ProjectPage.objects.filter(pk__in=groups.values("project_id")).order_by("title")


REPORTING_ROLES = {Role.REPORTER, Role.STEWARD}


def projects_for_reporting(*, user) -> QuerySet[ProjectPage]:
    """Projects where the user may record stories: a reporter there, or a data steward."""
    return projects_for_user(user=user, role=Role.REPORTER) | projects_for_user(
        user=user, role=Role.STEWARD
    )


def can_report_in(*, user, project: ProjectPage) -> bool:
    return bool(project_roles_for_user(user=user, project=project) & REPORTING_ROLES)


def project_roles_for_user(*, user, project: ProjectPage) -> set[str]:
    if not user.is_authenticated or not user.is_active:
        return set()
    # Asked many times a page: the project's groups are kept on the user object for its
    # request (cms.roles).
    cache = role_cache(user)
    key = ("project_roles", project.pk)
    if key not in cache:
        cache[key] = frozenset(
            ProjectGroup.objects.filter(project=project, group__user=user).values_list(
                "role", flat=True
            )
        )
    roles = set(cache[key])
    if user_is_steward(user):
        roles.add(Role.STEWARD)
    return roles
