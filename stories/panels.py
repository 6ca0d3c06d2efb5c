"""A small registry through which downstream apps (transcription, ...) add a panel to the
story pages that stories own, without stories importing them (see DESIGN.md, "Apps").

A panel is a function `(*, story, user, compact) -> str` returning safe HTML ("" for none);
`compact` asks for the short form used in lists of stories."""

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
