import csv
import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from cms.models import ProjectGroup, ProjectPage
from stories.models import (
    ConsentMethod,
    StoryIndexPage,
    StoryKind,
    StoryMedia,
    StoryPage,
    Storyteller,
    StorytellerRole,
)
from stories.signals import story_media_added
from tests import factories

HEADER = ["file", "title", "storyteller", "role", "language", "consent"]
LETTER = "I was told to wait outside. Nobody said why. I waited two hours and then went home."


def write_csv(path, rows, header=HEADER):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def batch(tmp_path, fixtures_dir):
    """A folder as a reporter would hand it over: two recordings and a written story."""
    folder = tmp_path / "batch"
    (folder / "phone").mkdir(parents=True)
    shutil.copy(fixtures_dir / "audio" / "jfk.flac", folder / "jfk.flac")
    shutil.copy(fixtures_dir / "audio" / "formats" / "jfk.m4a", folder / "phone" / "jfk.m4a")
    (folder / "letter.txt").write_text(LETTER, encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden: left alone
    return folder


@pytest.fixture
def run():
    def run(*args):
        out, err = StringIO(), StringIO()
        try:
            call_command("import_stories", *map(str, args), stdout=out, stderr=err)
        except CommandError as error:
            return out.getvalue(), err.getvalue(), error
        return out.getvalue(), err.getvalue(), None

    return run


def private_files() -> set[Path]:
    """Files in the storage recordings are really written to (the field's own storage)."""
    root = Path(StoryMedia._meta.get_field("file").storage.location)
    return {p for p in root.rglob("*") if p.is_file()}


def imported(project):
    return StoryPage.objects.descendant_of(project).order_by("title")


def test_a_folder_with_a_csv_becomes_approved_stories_in_the_project(project, steward, batch, run):
    write_csv(
        batch / "metadata.csv",
        [
            ["jfk.flac", "Waiting room", "Sam", "service_user", "en", "all",
             "waiting room; appointments", "2026-03-31", "verbal", "Riverside"],
            ["phone/jfk.m4a", "New officer", "Lee", "Volunteer or PEER mentor", "en",
             "record transcribe", "", "", "", ""],
            ["letter.txt", "Told to wait", "Sam", "staff", "cy",
             "record transcribe analyse", "", "", "", ""],
        ],
        header=HEADER + ["tags", "recorded_on", "consent_method", "location"],
    )  # fmt: skip

    before = private_files()
    out, err, error = run(batch, "--project", project.slug)

    assert error is None, err
    assert "Imported 3 stories." in out
    stories = {s.title: s for s in imported(project)}
    assert set(stories) == {"Waiting room", "New officer", "Told to wait"}
    assert all(s.live for s in stories.values())
    assert all(s.reporter == steward for s in stories.values())

    waiting = stories["Waiting room"]
    assert waiting.storyteller.pseudonym == "Sam"
    assert waiting.storyteller_role == StorytellerRole.SERVICE_USER
    assert waiting.current_consent.scopes == {
        "record", "transcribe", "analyse", "quote", "voice", "publish"
    }  # fmt: skip
    assert waiting.current_consent.method == ConsentMethod.VERBAL
    assert sorted(t.name for t in waiting.tags.all()) == ["appointments", "waiting room"]
    assert str(waiting.recorded_on) == "2026-03-31" and waiting.location == "Riverside"
    assert waiting.media.get().content_type == "audio/flac"

    officer = stories["New officer"]
    assert officer.storyteller_role == StorytellerRole.VOLUNTEER
    assert officer.current_consent.scopes == {"record", "transcribe"}
    assert officer.current_consent.method == ConsentMethod.WRITTEN  # the default
    media = officer.media.get()
    assert media.content_type == "audio/mp4" and media.original_name == "phone/jfk.m4a"
    assert 10.5 < media.duration_seconds < 11.5

    letter = stories["Told to wait"]
    assert letter.kind == StoryKind.TEXT and letter.text_body == LETTER
    assert letter.language == "cy" and letter.storyteller_role == StorytellerRole.STAFF
    assert letter.storyteller == waiting.storyteller  # same pseudonym, same storyteller
    assert Storyteller.objects.filter(project=project).count() == 2
    # Two recordings stored; the written story lives in the page.
    assert {p.name for p in private_files() - before} == {
        Path(m.file.name).name for m in StoryMedia.objects.all()
    } and StoryMedia.objects.count() == 2


def test_a_json_sidecar_given_with_metadata(project, steward, batch, tmp_path, run):
    sidecar = batch / "stories.json"
    sidecar.write_text(
        json.dumps(
            [
                {
                    "file": "jfk.flac",
                    "title": "The speech",
                    "storyteller": "Kim",
                    "role": "family",
                    "language": "en",
                    "consent": ["record", "transcribe", "quote"],
                    "tags": ["family", "speeches"],
                },
                {
                    "file": "letter.txt",
                    "title": "Told to wait",
                    "storyteller": "Kim",
                    "role": "family",
                    "language": "en",
                    "consent": "all",
                    "summary": "Waiting outside.",
                },
            ]
        )
    )

    out, err, error = run(
        batch / "jfk.flac", batch / "letter.txt", "--project", project.slug, "--metadata", sidecar
    )

    assert error is None, err
    speech, letter = imported(project)
    assert speech.title == "The speech" and speech.live
    assert speech.storyteller_role == StorytellerRole.FAMILY
    assert speech.current_consent.scopes == {"record", "transcribe", "quote"}
    assert sorted(t.name for t in speech.tags.all()) == ["family", "speeches"]
    assert letter.summary == "Waiting outside." and letter.kind == StoryKind.TEXT


def test_bad_files_are_reported_and_leave_nothing_behind_while_good_ones_go_in(
    project, steward, batch, run
):
    (batch / "form.mp3").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 50)
    (batch / "empty.mp3").write_bytes(b"")
    write_csv(
        batch / "metadata.csv",
        [
            ["jfk.flac", "Good one", "Sam", "service_user", "en", "all"],
            ["form.mp3", "Not a recording", "Pat", "service_user", "en", "all"],
            ["empty.mp3", "Nothing in it", "Jo", "service_user", "en", "all"],
            ["phone/jfk.m4a", "Also good", "Sam", "service_user", "en", "all"],
            ["letter.txt", "Written", "Sam", "service_user", "en", "all"],
        ],
    )

    before = private_files()
    out, err, error = run(batch, "--project", project.slug)

    assert error is not None and "2 files could not be imported" in str(error)
    assert "row 3, form.mp3: This file is not a sound or video recording" in err
    assert "row 4, empty.mp3: The file is empty" in err
    assert "Imported 3 stories, 2 failed." in out
    assert [s.title for s in imported(project)] == ["Also good", "Good one", "Written"]
    assert not Storyteller.objects.filter(pseudonym__in=["Pat", "Jo"]).exists()
    assert StoryMedia.objects.count() == 2
    assert {p.name for p in private_files() - before} == {
        Path(m.file.name).name for m in StoryMedia.objects.all()
    }


@pytest.mark.parametrize(
    "header, named",
    [
        (["file", "title", "storyteller", "role", "language"], "missing these columns: consent"),
        (HEADER + ["postcode"], "columns we do not know: postcode"),
    ],
)
def test_a_sidecar_with_wrong_columns_imports_nothing(project, steward, batch, run, header, named):
    row = ["jfk.flac", "Waiting room", "Sam", "service_user", "en", "all", "AB1 2CD"]
    write_csv(batch / "metadata.csv", [row[: len(header)]], header=header)

    before = private_files()
    out, err, error = run(batch, "--project", project.slug)

    assert error is not None and named in str(error)
    assert "Nothing was imported" in str(error)
    assert not StoryPage.objects.exists() and private_files() == before


def test_an_unknown_project_is_an_error_unless_asked_to_create_it(steward, batch, run):
    write_csv(batch / "metadata.csv", [["letter.txt", "Told to wait", "Sam", "staff", "en", "all"]])
    (batch / "jfk.flac").unlink()
    shutil.rmtree(batch / "phone")

    out, err, error = run(batch, "--project", "new-pilot")
    assert error is not None and "There is no project called 'new-pilot'" in str(error)
    assert not ProjectPage.objects.filter(slug="new-pilot").exists()

    out, err, error = run(batch, "--project", "new-pilot", "--create-project")
    assert error is None, err
    project = ProjectPage.objects.get(slug="new-pilot")
    assert project.title == "New pilot" and project.organisation == "Imported" and project.live
    assert StoryIndexPage.objects.child_of(project).count() == 1
    assert ProjectGroup.objects.filter(project=project).count() == 3
    assert [s.title for s in imported(project)] == ["Told to wait"]


def test_a_row_without_its_file_and_a_file_without_a_row_both_fail(project, steward, batch, run):
    write_csv(
        batch / "metadata.csv",
        [
            ["jfk.flac", "Waiting room", "Sam", "service_user", "en", "all"],
            ["lost.flac", "Lost one", "Sam", "service_user", "en", "all"],
            ["letter.txt", "Written", "Sam", "service_user", "en", "all"],
        ],
    )

    out, err, error = run(batch, "--project", project.slug)

    assert error is not None
    assert "row 3, lost.flac: The file is not there" in err
    assert "phone/jfk.m4a: There is no row for this file" in err
    assert [s.title for s in imported(project)] == ["Waiting room", "Written"]


@pytest.mark.parametrize(
    "values, message",
    [
        (["letter.txt", "T", "Sam", "judge", "en", "all"], "The role 'judge' is not one we know"),
        (["letter.txt", "T", "Sam", "staff", "xx", "all"], "The language 'xx' is not one"),
        (["letter.txt", "T", "Sam", "staff", "en", "transcribe"], "The storyteller must agree"),
        (["letter.txt", "T", "Sam", "staff", "en", "record shout"], "Unknown consent scope: shout"),
        (["letter.txt", "", "Sam", "staff", "en", "all"], "The title is missing"),
    ],
)
def test_a_row_with_wrong_values_is_reported_with_its_row_number(
    project, steward, tmp_path, run, values, message
):
    (tmp_path / "letter.txt").write_text(LETTER)
    write_csv(tmp_path / "metadata.csv", [values])

    out, err, error = run(tmp_path / "letter.txt", "--project", project.slug,
                          "--metadata", tmp_path / "metadata.csv")  # fmt: skip

    assert error is not None
    assert f"row 2, letter.txt: {message}" in err
    assert not StoryPage.objects.exists()


def test_public_visibility_needs_consent_to_publish(project, steward, tmp_path, run):
    (tmp_path / "letter.txt").write_text(LETTER)
    write_csv(
        tmp_path / "metadata.csv",
        [["letter.txt", "T", "Sam", "staff", "en", "record transcribe", "public"]],
        header=HEADER + ["visibility"],
    )
    out, err, error = run(tmp_path, "--project", project.slug)
    assert error is not None and "did not agree to share their words publicly" in err


def test_without_a_sidecar_nothing_is_imported(project, steward, batch, run):
    out, err, error = run(batch, "--project", project.slug)

    assert error is not None
    assert "Each story needs its storyteller's consent: give --metadata" in str(error)
    assert not StoryPage.objects.exists()


def test_the_steward_running_the_import_must_be_clear(project, steward, batch, run):
    write_csv(batch / "metadata.csv", [["letter.txt", "T", "Sam", "staff", "en", "all"]])
    factories.user_with_role("reporter", project, username="rita")
    factories.steward(username="second")

    out, err, error = run(batch / "letter.txt", "--project", project.slug,
                          "--metadata", batch / "metadata.csv")  # fmt: skip
    assert error is not None and "more than one data steward" in str(error)

    out, err, error = run(batch / "letter.txt", "--project", project.slug, "--user", "rita",
                          "--metadata", batch / "metadata.csv")  # fmt: skip
    assert error is not None and "rita is not an active data steward" in str(error)
    assert not StoryPage.objects.exists()

    out, err, error = run(batch / "letter.txt", "--project", project.slug, "--user", "second",
                          "--metadata", batch / "metadata.csv")  # fmt: skip
    assert error is None, err
    assert imported(project).get().reporter.username == "second"


@pytest.mark.parametrize("flags, waited", [(["--wait"], True), ([], False)])
def test_wait_has_the_recording_announced_for_work_in_this_process(
    project, steward, batch, run, django_capture_on_commit_callbacks, flags, waited
):
    write_csv(batch / "metadata.csv", [["jfk.flac", "Speech", "Sam", "staff", "en", "all"]])
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    story_media_added.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            out, err, error = run(batch / "jfk.flac", "--project", project.slug,
                                  "--metadata", batch / "metadata.csv", *flags)  # fmt: skip
    finally:
        story_media_added.disconnect(receiver)

    assert error is None, err
    story = imported(project).get()
    assert [(r["story_id"], r["media_id"], r["wait"]) for r in received] == [
        (story.pk, story.media.get(role="recording").pk, waited)
    ]


def test_the_real_command_documents_its_options():
    completed = subprocess.run(
        [sys.executable, "manage.py", "import_stories", "--help"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cms.settings_test"},
    )

    assert completed.returncode == 0, completed.stderr
    for option in ("--project", "--metadata", "--wait", "--create-project", "--user"):
        assert option in completed.stdout
    assert "storyteller" in completed.stdout and "consent" in completed.stdout
