"""build_themes and export, as an operator on the server uses them."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import services
from themes.models import RunStatus, ThemeRun


@pytest.fixture
def stories(project, reporter, steward):
    return [
        analysed_story(project, reporter, steward, HOUSING, title="Housing", teller="Ann"),
        analysed_story(project, reporter, steward, WORK, title="Work", teller="Bob"),
        analysed_story(project, reporter, steward, DRINK[:2], title="Drink", teller="Cat"),
        analysed_story(
            project,
            reporter,
            steward,
            ["Nothing to do with anything at all.", *DRINK[2:]],
            title="Other",
            teller="Dee",
            scopes={"record", "transcribe", "analyse"},
        ),
    ]


def _call(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_build_themes_queues_a_run(project, stories, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        out, _ = _call("build_themes", "--project", project.slug)
    assert "queued" in out and len(callbacks) == 1
    assert ThemeRun.objects.get(project=project).status == RunStatus.QUEUED


def test_build_themes_wait_prints_a_summary(project, stories, monkeypatch):
    monkeypatch.setitem(services._engines, "engine", FakeEngine())
    out, _ = _call("build_themes", "--project", project.slug, "--wait")
    assert "Found 3 themes in 10 segments from 4 stories (1 segment in no theme)." in out
    assert "- housing, auto: 3 segments, 1 storyteller (" in out


def test_build_themes_says_plainly_what_is_wrong(project, monkeypatch):
    with pytest.raises(CommandError, match='no project "nope"'):
        _call("build_themes", "--project", "nope")
    monkeypatch.setitem(services._engines, "engine", FakeEngine())
    out, _ = _call("build_themes", "--project", project.slug, "--wait")
    assert services.TOO_LITTLE_MESSAGE in out


def test_export_themes_json_follows_the_contract(project, stories, monkeypatch, tmp_path):
    monkeypatch.setitem(services._engines, "engine", FakeEngine())
    _call("build_themes", "--project", project.slug, "--wait")
    target = tmp_path / "themes.json"
    _call("export", "themes", "--project", project.slug, "--format", "json", "-o", str(target))
    data = json.loads(target.read_text())
    assert set(data) == {"themes", "unassigned"} and len(data["themes"]) == 3
    theme = data["themes"][0]
    assert set(theme) == {"id", "label", "keywords", "segments"}
    segment_keys = {"story_id", "story_title", "segment_id", "start", "end", "text", "probability"}
    assert all(set(s) == segment_keys for t in data["themes"] for s in t["segments"])
    assert [s["text"] for s in data["unassigned"]] == ["Nothing to do with anything at all."]
    assert data["unassigned"][0]["story_title"] == "Other"
    housing = next(t for t in data["themes"] if t["label"] == "housing, auto")
    assert [s["text"] for s in housing["segments"]] == HOUSING
    assert housing["segments"][0]["probability"] == 0.9

    out, _ = _call("export", "themes", "--project", project.slug, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 10 and rows[-1]["theme_id"] == ""


def test_export_segments_and_stories(project, stories):
    out, _ = _call("export", "segments", "--project", project.slug, "--format", "json")
    segments = json.loads(out)
    assert len(segments) == 10
    assert set(segments[0]) == {
        "story_id",
        "story_title",
        "segment_id",
        "start",
        "end",
        "text",
        "probability",
        "words",
        "flags",
    }
    out, _ = _call("export", "stories", "--project", project.slug, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["title"] for r in rows] == ["Housing", "Work", "Drink", "Other"]
    assert rows[-1]["consent"] == "analyse record transcribe" and rows[0]["approved"] == "True"
    with pytest.raises(CommandError, match='no export called "pictures"'):
        _call("export", "pictures", "--project", project.slug)


def test_a_csv_export_never_hands_a_spreadsheet_a_formula(project, reporter, steward):
    analysed_story(
        project,
        reporter,
        steward,
        ['=HYPERLINK("http://evil.example", "click")', "+44 is my code", "@home", "-1 days"],
        title="=cmd|' /C calc'!A0",
        teller="Eve",
    )
    out, _ = _call("export", "stories", "--project", project.slug, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["title"] == "'=cmd|' /C calc'!A0"
    out, _ = _call("export", "segments", "--project", project.slug, "--format", "csv")
    texts = [row["text"] for row in csv.DictReader(io.StringIO(out))]
    assert texts and all(not text.startswith(("=", "+", "-", "@")) for text in texts)
    assert '\'=HYPERLINK("http://evil.example", "click")' in texts
