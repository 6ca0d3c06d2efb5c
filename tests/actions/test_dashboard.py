"""The dashboard figures, checked against a known set of actions (on a frozen day)."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from actions import selectors, services
from tests import factories
from tests.actions.conftest import make_action, proposal, status

TODAY = datetime.date(2026, 10, 1)
NOW = datetime.datetime(2026, 10, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
def known(world):
    """Four actions: one overdue, one done, one without an owner, one won't do."""
    with time_machine.travel(NOW, tick=False):
        second = factories.user_with_role("manager", world.project, username="meg")
        a1 = services.action_create_from_proposal(proposal_id=world.proposal.pk)
        a1 = services.action_edit(
            action=a1,
            user=world.manager,
            expected_version=a1.version,
            owner=world.manager,
            status=status("in_progress"),
            due_date=datetime.date(2026, 9, 20),
        )
        services.action_post_update(
            action=a1, user=world.manager, text="Met the council.", on=datetime.date(2026, 9, 5)
        )
        p2 = proposal(
            world.workshop, title="Pub-free meeting places", themes=[world.themes["drink"]]
        )
        a2 = make_action(
            world,
            title="Pub-free meeting places",
            proposal=p2,
            themes=[world.themes["drink"]],
            status=status("done"),
            due_date=datetime.date(2026, 9, 10),
        )
        services.action_post_update(
            action=a2, user=world.manager, text="Two cafés agreed.", on=datetime.date(2026, 9, 11)
        )
        p3 = proposal(world.workshop, title="Deposit fund", themes=[world.themes["housing"]])
        a3 = make_action(
            world,
            title="Deposit fund",
            proposal=p3,
            owner=None,
            themes=[world.themes["housing"]],
            status=status("agreed"),
            due_date=datetime.date(2026, 12, 1),
        )
        a4 = make_action(
            world,
            title="Free bus passes",
            owner=second,
            status=status("wont_do"),
            status_reason="The council will not fund it.",
        )
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "second": second}


def test_the_dashboard_figures(world, known):
    figures = selectors.dashboard(user=world.manager, project=world.project, today=TODAY)
    assert figures["total"] == 4 and figures["open"] == 2
    assert {s.key: n for s, n in figures["by_status"]} == {
        "proposed": 0,
        "agreed": 1,
        "in_progress": 1,
        "done": 1,
        "wont_do": 1,
    }
    assert figures["overdue"] == [known["a1"]]  # a2 is past due too, but done
    assert figures["needs_owner"] == [known["a3"]]
    assert figures["by_owner"] == [
        {"label": "Needs a new owner", "total": 1, "open": 1, "overdue": 0},
        {"label": "max", "total": 2, "open": 1, "overdue": 1},
        {"label": "meg", "total": 1, "open": 0, "overdue": 0},
    ]
    by_theme = {
        t.auto_label.split(",")[0]: (total, open_) for t, total, open_ in figures["by_theme"]
    }
    assert by_theme == {"housing": (2, 2), "drink": (1, 0), "work": (0, 0), "family": (0, 0)}
    assert {t.auto_label.split(",")[0] for t in figures["themes_without_action"]} == {
        "work",
        "family",
    }
    waits = figures["first_update"]
    assert sorted(days for _, days in waits["actions"]) == [4, 10]
    assert waits["median_days"] == 7 and waits["longest_days"] == 10
    assert waits["not_updated"] == [known["a3"]]


def test_the_report_page_and_its_spreadsheet_export(world, known, client):
    client.force_login(world.manager)
    url = reverse("actions_admin:report")
    with time_machine.travel(NOW, tick=False):
        page = client.get(url, {"project": world.project.pk})
        export = client.get(url, {"project": world.project.pk, "export": "csv"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Themes with no action (2)" in html
    assert "Overdue (1)" in html
    assert "within <strong>7 days</strong>" in html
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    by_title = {row["Title"]: row for row in rows}
    assert set(by_title) == {
        "Help with housing on release",
        "Pub-free meeting places",
        "Deposit fund",
        "Free bus passes",
    }
    housing = by_title["Help with housing on release"]
    assert housing["Status"] == "In progress"
    assert housing["Overdue"] == "True"
    assert housing["Days from workshop to first update"] == "4"
    assert by_title["Deposit fund"]["Owner"] == "Needs a new owner"


def test_the_admin_home_shows_the_actions_panel(world, known, client):
    client.force_login(world.manager)
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "actions-dashboard" in html
    assert "<strong>1</strong> overdue" in html
    assert "Help with housing on release" in html  # the overdue one is listed
