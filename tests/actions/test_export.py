"""manage.py export actions --project SLUG --format {csv,json}"""

import csv
import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from actions import services
from tests.actions.conftest import make_action, status


@pytest.fixture
def exported(world):
    action = services.action_create_from_proposal(proposal_id=world.proposal.pk)
    services.action_edit(
        action=action,
        user=world.manager,
        expected_version=action.version,
        owner=world.manager,
        due_date=world.workshop.date + datetime.timedelta(days=1),
    )
    services.action_post_update(
        action=action, user=world.manager, text="Began", status=status("in_progress")
    )
    make_action(world, title='=HYPERLINK("http://evil")', team="Reception")
    return action


def run(*args) -> str:
    out = io.StringIO()
    call_command("export", "actions", *args, stdout=out)
    return out.getvalue()


def test_csv_export(world, exported):
    rows = list(
        csv.DictReader(io.StringIO(run("--project", world.project.slug, "--format", "csv")))
    )
    assert len(rows) == 2
    first = rows[0]
    assert first["action_id"] == str(exported.pk)
    assert first["title"] == "Help with housing on release"
    assert first["status"] == "in_progress" and first["progress"] == "50"
    assert first["owner"] == "max"
    assert first["overdue"] == "True"
    assert first["proposal_id"] == str(world.proposal.pk)
    assert first["workshop_date"] == world.workshop.date.isoformat()
    assert first["themes"] == world.themes["housing"].display_label
    assert first["updates"] == "1"
    # A cell a spreadsheet would run as a formula is written as text.
    assert rows[1]["title"].startswith("'=HYPERLINK")


def test_json_export(world, exported, tmp_path):
    target = tmp_path / "actions.json"
    call_command(
        "export", "actions", "--project", world.project.slug, "--format", "json", "-o", str(target)
    )
    data = json.loads(target.read_text())
    first = data[0]
    assert first["themes"][0]["now"] == [world.themes["housing"].display_label]
    assert first["updates"][0]["status_to"] == "in_progress"
    assert first["updates"][0]["evidence"] is False
    assert first["needs_new_owner"] is False


def test_export_of_an_unknown_project_fails_plainly(db):
    with pytest.raises(CommandError, match='There is no project "nowhere"'):
        run("--project", "nowhere", "--format", "csv")
