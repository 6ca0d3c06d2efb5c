"""Retention that anonymises (issue 8): a project can choose to keep a story past its
retention period as an anonymous one. Its redacted words stay for themes and actions; the
storyteller, every recording and copy, the consent form, the hidden words and the details
that identify them go, from the database and from storage. Frozen clock."""

import io
from datetime import date

import pytest
import time_machine
from django.core.files import File
from django.core.files.base import ContentFile

from cms import daily
from cms.models import RetentionAction
from stories import erasure, services
from stories.models import (
    CONSENT_SCOPES,
    Consent,
    ErasureKind,
    ErasureRequest,
    ErasureStatus,
    StoryMedia,
    StoryPage,
    Storyteller,
    private_storage,
)
from tests import factories
from tests.conftest import AUDIO
from tests.privacy.canary import EVIDENCE, scan_database
from tests.transcription import clipkit
from transcription import clip_services, redaction_services
from transcription.models import (
    Clip,
    ClipStatus,
    NameListEntry,
    Redaction,
    RedactionStatus,
    Segment,
    SegmentRevision,
    TranscriptionJob,
)

TODAY = "2026-11-26 09:00:00+00:00"
LINES = [
    (0.3, 3.0, "My name is Bartholomew Quenby and I slept in the hostel."),
    (3.3, 7.4, "The council housing list in Gorsebrook was years long."),
    (7.6, 10.8, "Nobody told me why."),
]
# Words that identify the storyteller: none may be left anywhere in the database.
IDENTIFYING = {
    "pseudonym": "wrenfield",
    "real name": "bartholomew",
    "surname": "quenby",
    "place only a suggestion hid": "gorsebrook",
    "title": "kestrelwick",
    "location": "ploverstone",
    "summary": "lanternfish",
}


def _old_story(project, reporter, *, pseudonym="Wrenfield", title="Kestrelwick waiting room"):
    teller = factories.storyteller(project, reporter, pseudonym)
    with (AUDIO / "jfk.flac").open("rb") as handle:
        story = services.story_create(
            project=project,
            reporter=reporter,
            story=services.StoryInput(
                title=title,
                storyteller=teller,
                summary="Lanternfish on housing after prison.",
                location="Ploverstone",
                recorded_on=date(2025, 6, 3),
                tags=["housing", "kestrelwick"],
            ),
            consent=services.ConsentInput(
                scopes=set(CONSENT_SCOPES),
                evidence=File(io.BytesIO(EVIDENCE), name="Ploverstone-consent.pdf"),
                note="Signed by Wrenfield at Ploverstone.",
            ),
            recording=File(handle, name="Ploverstone-interview.flac"),
        )
    clipkit.add_transcript(story, LINES)
    # As a real transcription leaves it: the job points at the recording it transcribed.
    recording = StoryMedia.objects.get(story=story, role=StoryMedia.Role.RECORDING)
    TranscriptionJob.objects.filter(story=story).update(media=recording)
    StoryPage.objects.filter(pk=story.pk).update(live=True)
    return StoryPage.objects.get(pk=story.pk)


@pytest.fixture
def anonymising(project):
    project.retention_months = 12
    project.retention_action = RetentionAction.ANONYMISE
    project.save()
    return project


@pytest.fixture
def old_story(anonymising, reporter, facilitator):
    story = _old_story(anonymising, reporter)
    # The reporter hides the real name; the finder's suggestion for the place is never
    # decided on.
    redaction_services.name_list_add(user=reporter, term="Bartholomew Quenby", story=story)
    for redaction in Redaction.objects.filter(story=story, original__contains="Bartholomew"):
        redaction_services.redaction_decide(redaction=redaction, user=reporter, accept=True)
    assert Redaction.objects.get(
        story=story, original="Gorsebrook", status=RedactionStatus.SUGGESTED
    )
    segments = list(Segment.objects.filter(story=story).order_by("index"))
    clip = clip_services.clip_create(
        user=facilitator, story=story, first_segment=segments[0], last_segment=segments[1]
    )
    name = f"{clip_services.clip_storage_folder(clip)}/clip.m4a"
    private_storage().save(name, ContentFile(b"Bartholomew's voice"))
    Clip.objects.filter(pk=clip.pk).update(file=name, status=ClipStatus.DONE)
    return story


def _stored_files(private_media) -> list[str]:
    return sorted(
        str(p.relative_to(private_media)) for p in private_media.rglob("*") if p.is_file()
    )


def _anonymise_past_retention():
    daily.daily_run(today=date(2026, 11, 26))
    request = ErasureRequest.objects.get(kind=ErasureKind.ANONYMISE)
    return erasure.erasure_run(request_id=request.pk)


@time_machine.travel(TODAY, tick=False)
def test_an_anonymised_story_keeps_its_redacted_words_and_nothing_that_identifies(
    old_story, private_media
):
    assert scan_database(IDENTIFYING)["pseudonym"]  # the scan finds what is there
    assert _stored_files(private_media)

    done = _anonymise_past_retention()

    assert done.status == ErasureStatus.DONE and done.reason == "retention"
    assert done.ledger["stories"]["removed"]["storytellers with no other story"] == 1
    story = StoryPage.objects.get(pk=old_story.pk)
    assert story.title == f"Anonymised story {story.pk}"
    assert story.anonymised_at.date() == date(2026, 11, 26)
    assert (story.summary, story.location, story.recorded_on) == ("", "", None)
    assert list(story.tags.names()) == []
    assert story.storyteller.pseudonym.startswith("Anonymous")
    assert not Storyteller.objects.filter(pseudonym="Wrenfield").exists()
    # Its words still inform themes and actions, as everyone but stewards saw them...
    assert [s.text for s in Segment.objects.filter(story=story).order_by("index")] == [
        "My name is [name] and I slept in the hostel.",
        "The council housing list in [name] was years long.",
        "Nobody told me why.",
    ]
    # ...with nothing left that could show the hidden words again.
    assert not Segment.objects.filter(story=story).exclude(words=[]).exists()
    assert not Redaction.objects.filter(story=story).exists()
    assert not SegmentRevision.objects.filter(story=story).exists()
    assert not NameListEntry.objects.filter(story=story).exists()
    # Voice and face identify: every recording, copy and clip sound has gone.
    assert not StoryMedia.objects.filter(story=story).exists()
    clip = Clip.objects.get(story=story)
    assert clip.status == ClipStatus.TEXT_ONLY and not clip.file
    assert clip.text.count("[name]") == 2
    assert _stored_files(private_media) == []
    # What was agreed stays on record, without the signed form or the note.
    consent = Consent.objects.get(story=story)
    assert consent.scopes == set(CONSENT_SCOPES)
    assert not consent.evidence and consent.note == "" and consent.evidence_original_name == ""

    assert {name: where for name, where in scan_database(IDENTIFYING).items() if where} == {}


@time_machine.travel(TODAY, tick=False)
def test_a_story_is_anonymised_once_and_then_left_alone(old_story):
    first = _anonymise_past_retention()
    out = daily.daily_run(today=date(2026, 11, 27))

    assert "0 stories past their retention period" in out["retention"]
    assert ErasureRequest.objects.count() == 1
    again = erasure.erasure_run(request_id=first.pk)  # a stray second run changes nothing
    assert again.ledger == first.ledger and again.status == ErasureStatus.DONE
    assert StoryPage.objects.filter(pk=old_story.pk, anonymised_at__isnull=False).exists()


@time_machine.travel(TODAY, tick=False)
def test_a_crash_half_way_through_anonymising_carries_on(old_story, monkeypatch):
    steps = list(erasure._steps)
    monkeypatch.setattr(erasure, "_steps", steps)
    calls = []

    def crash_once(scope):
        calls.append(scope.anonymise)
        if len(calls) == 1:
            raise RuntimeError("worker fell over")
        return {}

    erasure.register_erasure_step("crash", crash_once, order=46)  # after transcription

    stopped = _anonymise_past_retention()
    assert stopped.status == ErasureStatus.QUEUED and "transcription" in stopped.ledger
    assert StoryPage.objects.get(pk=old_story.pk).title == "Kestrelwick waiting room"

    done = erasure.erasure_run(request_id=stopped.pk)
    assert done.status == ErasureStatus.DONE and calls == [True, True]
    assert done.ledger["transcription"] == stopped.ledger["transcription"]  # not run again
    assert StoryPage.objects.get(pk=old_story.pk).title.startswith("Anonymised story")
    assert Segment.objects.filter(story=old_story).count() == len(LINES)


@time_machine.travel(TODAY, tick=False)
def test_a_storyteller_with_another_story_stays_but_loses_the_anonymised_one(anonymising, reporter):
    old = _old_story(anonymising, reporter)
    recent = factories.story(
        anonymising, reporter, title="Recent", storyteller_name="Wrenfield", text="Fine now."
    )

    _anonymise_past_retention()

    teller = Storyteller.objects.get(pseudonym="Wrenfield")
    assert list(teller.stories.all()) == [recent]
    assert StoryPage.objects.get(pk=old.pk).storyteller != teller


@time_machine.travel(TODAY, tick=False)
def test_projects_that_erase_still_erase(project, reporter):
    project.retention_months = 12
    project.save()
    story = _old_story(project, reporter)

    daily.daily_run(today=date(2026, 11, 26))
    request = ErasureRequest.objects.get()
    assert request.kind == ErasureKind.FULL
    erasure.erasure_run(request_id=request.pk)
    assert not StoryPage.objects.filter(pk=story.pk).exists()


def test_only_data_stewards_can_choose_what_retention_does(client, project, steward):
    from django.contrib.auth.models import Group
    from django.urls import reverse
    from wagtail.models import GroupPagePermission

    url = reverse("wagtailadmin_pages:edit", args=(project.pk,))
    client.force_login(steward)
    assert b'name="retention_action"' in client.get(url).content

    editors = Group.objects.create(name="Project editors")
    editors.permissions.add(*Group.objects.get(name="Reporters").permissions.all())
    GroupPagePermission.objects.create(group=editors, page=project, permission_type="change")
    editor = factories.user("editor")
    editor.groups.add(editors)
    client.force_login(editor)
    page = client.get(url)
    assert page.status_code == 200 and b'name="retention_action"' not in page.content


@time_machine.travel(TODAY, tick=False)
def test_a_written_story_keeps_only_its_redacted_text(anonymising, reporter):
    text = "I waited two hours at Quillmoor.\n\nNobody told me why."
    story = factories.story(
        anonymising, reporter, title="Written", text=text, recorded_on=date(2025, 1, 2)
    )
    clipkit.add_transcript(
        story,
        [(None, None, "I waited two hours at Quillmoor."), (None, None, "Nobody told me why.")],
    )
    first = clipkit.segment(story, 0)
    at = first.text.index("Quillmoor")
    redaction_services.redaction_add(
        segment=first, start_char=at, end_char=at + len("Quillmoor"), kind="place", user=reporter
    )

    _anonymise_past_retention()

    story = StoryPage.objects.get(pk=story.pk)
    assert story.text_body == "I waited two hours at [place].\n\nNobody told me why."
    assert not StoryMedia.objects.filter(story=story).exists()
    assert scan_database({"place": "quillmoor"}) == {"place": []}


@time_machine.travel(TODAY, tick=False)
def test_the_story_history_says_anonymising_started_and_names_nobody(old_story):
    from wagtail.models import PageLogEntry

    _anonymise_past_retention()

    entry = PageLogEntry.objects.get(page_id=old_story.pk, action="storyloom.erasure.request")
    assert entry.message == "Anonymising started"
    assert entry.label == f"Anonymised story {old_story.pk}"


@pytest.mark.slow
@time_machine.travel(TODAY, tick=False)
def test_a_playable_copy_being_made_while_the_story_is_anonymised_is_not_kept(
    old_story, private_media, monkeypatch
):
    """The copy with hidden words silenced takes a while to make (a real decode and encode);
    anonymising that finishes meanwhile deletes every recording, and the copy must not
    bring the voice back."""
    make_playable = clip_services.media_tools.make_playable

    def anonymised_meanwhile(*args, **kwargs):
        made = make_playable(*args, **kwargs)
        _anonymise_past_retention()
        return made

    monkeypatch.setattr(clip_services.media_tools, "make_playable", anonymised_meanwhile)

    assert clip_services.story_playable_rerender(story_id=old_story.pk) is None
    assert not StoryMedia.objects.filter(story_id=old_story.pk).exists()
    assert _stored_files(private_media) == []
