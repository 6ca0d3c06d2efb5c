from django import template

from cms.selectors import can_report_in

register = template.Library()


@register.simple_tag(takes_context=True)
def can_record_in(context, project) -> bool:
    """Whether the viewer may record stories in the project (a reporter there, or a
    steward): the capture form answers 404 to anyone else, so we do not offer it."""
    return can_report_in(user=context["request"].user, project=project)


@register.simple_tag(takes_context=True)
def story_panels(context, story, compact=False):
    """The panels other apps add to a story (transcription progress, the transcript), as
    HTML; `compact` for lists of stories."""
    from django.utils.safestring import mark_safe

    from stories.panels import story_panels as panels

    user = getattr(context.get("request"), "user", None)
    if user is None:
        return ""
    return mark_safe("".join(panels(story, user, compact=compact)))
