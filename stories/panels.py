"""A small registry through which downstream apps (transcription, ...) add a panel to the
story pages that stories own, without stories importing them (see DESIGN.md, "Apps").

A panel is a function `(*, story, user, compact) -> str` returning safe HTML ("" for none);
`compact` asks for the short form used in lists of stories.

For lists, a panel may also offer `func.many(*, stories, user, compact) -> dict[int, str]`,
the same HTML for a whole page of stories by story id in a few queries (story_panels_many).
Panels without it are asked story by story."""

from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

_panels: list[Callable] = []


def register_story_panel(func: Callable) -> Callable:
    if func not in _panels:
        _panels.append(func)
    return func


def story_panels(story, user, *, compact: bool = False) -> list[SafeString]:
    rendered = (func(story=story, user=user, compact=compact) for func in _panels)
    return [mark_safe(html) for html in rendered if html]


def story_panels_many(stories, user, *, compact: bool = True) -> dict[int, list[SafeString]]:
    """Every panel of each of these stories (a page of a list), by story id: panels that
    offer `many` are asked once for all the stories, not once a story."""
    stories = list(stories)
    found: dict[int, list[SafeString]] = {story.pk: [] for story in stories}
    for func in _panels:
        many = getattr(func, "many", None)
        if many is not None:
            by_id = many(stories=stories, user=user, compact=compact)
        else:
            by_id = {s.pk: func(story=s, user=user, compact=compact) for s in stories}
        for story in stories:
            html = by_id.get(story.pk)
            if html:
                found[story.pk].append(mark_safe(html))
    return found
