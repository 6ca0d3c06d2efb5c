"""Links on a project's page to what later apps offer for it (workshops, "You said, we
did"). Each app registers a function in its AppConfig.ready(): given the project and the
viewer, it returns (label, url) or None; cms knows none of them."""

from collections.abc import Callable

ProjectLink = Callable[..., tuple[str, str] | None]

_links: list[ProjectLink] = []


def register_project_link(link: ProjectLink) -> None:
    if link not in _links:
        _links.append(link)


def project_links(*, project, user) -> list[tuple[str, str]]:
    found = (link(project=project, user=user) for link in _links)
    return [item for item in found if item]
