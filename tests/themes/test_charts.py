"""The pictures are real PNG and SVG files, served only to the project's people."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import charts, selectors, services

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(project, reporter, steward, facilitator):
    from datetime import date

    analysed_story(project, reporter, steward, HOUSING, teller="Ann", recorded_on=date(2026, 1, 5))
    analysed_story(
        project, reporter, steward, WORK, teller="Bob", role="staff", recorded_on=date(2026, 2, 5)
    )
    analysed_story(project, reporter, steward, DRINK, teller="Cat", recorded_on=date(2026, 2, 9))
    started = services.theme_run_start(project=project, user=facilitator, enqueue=False)
    return services.theme_run_execute(run_id=started.pk, engine=FakeEngine())


def _svg_text(data: bytes) -> str:
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    return " ".join(t for t in root.itertext())


def test_the_three_pictures_are_png_and_svg(project, facilitator, run):
    themes = list(selectors.themes_visible_to(user=facilitator, project=project))
    heard = selectors.who_is_heard(user=facilitator, project=project)
    over_time = selectors.themes_over_time(user=facilitator, project=project)
    assert over_time["months"] == ["2026-01", "2026-02"]

    for picture in (
        lambda fmt: charts.theme_map(themes, fmt=fmt),
        lambda fmt: charts.role_bars(heard, fmt=fmt),
        lambda fmt: charts.themes_over_time(over_time, fmt=fmt),
    ):
        png = picture("png")
        assert png.startswith(PNG_MAGIC) and len(png) > 5000
        text = _svg_text(picture("svg"))
        assert "housing, auto" in text
    assert "Staff" in _svg_text(charts.role_bars(heard, fmt="svg"))
    assert "No themes to show yet." in _svg_text(charts.theme_map([], fmt="svg"))


def test_the_chart_view_checks_who_asks(client, project, facilitator, manager, run):
    assert client.login(username=manager.username, password=PASSWORD)
    response = client.get(reverse("themes_admin:chart", args=[project.pk, "roles", "png"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)
    response = client.get(reverse("themes_admin:chart", args=[project.pk, "time", "svg"]))
    assert response["Content-Type"] == "image/svg+xml" and b"<svg" in response.content
    bad = client.get(reverse("themes_admin:chart", args=[project.pk, "pie", "png"]))
    assert bad.status_code == 404
    client.logout()
    anonymous = client.get(reverse("themes_admin:chart", args=[project.pk, "map", "png"]))
    assert anonymous.status_code == 302  # to the admin login
