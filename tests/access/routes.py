"""Every URL pattern the site answers, read from the URL resolver: its fully qualified name
(namespaces included), its full pattern and the names and types of its arguments."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or "<unnamed> pattern" for a pattern without a name
    pattern: str  # the whole pattern, prefixes included
    converters: tuple[tuple[str, str], ...]  # (argument, converter) in order
    positional: int  # unnamed regex groups (passed as args)
    view: str  # the view's module and name, to tell where a route comes from

    @property
    def kwargs_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.converters)

    @property
    def key(self) -> str:
        """The name, with the arguments: two patterns may share a name (Wagtail's settings
        edit view, with and without a pk)."""
        return f"{self.name}({','.join(self.kwargs_names)})" if self.converters else self.name


def _arguments(pattern) -> tuple[list[tuple[str, str]], int]:
    if isinstance(pattern, RoutePattern):
        return [(n, type(c).__name__) for n, c in pattern.converters.items()], 0
    if isinstance(pattern, RegexPattern):
        named = sorted(pattern.regex.groupindex.items(), key=lambda item: item[1])
        return [(n, "regex") for n, _ in named], pattern.regex.groups - len(named)
    return [], 0


def walk(patterns, prefix="", namespace=None, arguments=(), positional=0):
    for entry in patterns:
        found, unnamed = _arguments(entry.pattern)
        args = [*arguments, *found]
        count = positional + unnamed
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner, args, count)
        elif isinstance(entry, URLPattern):
            full = prefix + str(entry.pattern)
            if entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                name = f"<unnamed> {full}"
            callback = entry.callback
            view = f"{callback.__module__}.{getattr(callback, '__qualname__', repr(callback))}"
            yield Route(name, full, tuple(args), count, view)


def all_routes(resolver=None) -> list[Route]:
    return list(walk((resolver or get_resolver()).url_patterns))
