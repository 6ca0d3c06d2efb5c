from django import template

from cms.roles import Role
from cms.selectors import project_roles_for_user

register = template.Library()


@register.simple_tag(takes_context=True)
def can_record_in(context, project) -> bool:
    """Whether the viewer may record stories in the project (a reporter there, or a
    steward): the capture form answers 404 to anyone else, so we do not offer it."""
    roles = project_roles_for_user(user=context["request"].user, project=project)
    return bool(roles & {Role.REPORTER, Role.STEWARD})
