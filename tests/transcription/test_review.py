"""Correcting a transcript: word timings survive an edit, every change can be seen and undone,
a stale or badly timed save is refused without losing anything, and only the story's reporter
and data stewards can change it."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from wagtail.models import ModelLogEntry, PageLogEntry

from tests import factories
from tests.transcription.editor_helpers import JFK_SEGMENTS, make_transcript
from transcription import redaction, redaction_services, review_services, selectors
from transcription.models import JobStatus, Redaction, Segment, SegmentRevision, TranscriptionJob
from transcription.review_services import EditConflict, words_for_text

ORIGINAL = JFK_SEGMENTS[0]["text"]


def timing(words, text):
    (word,) = [w for w in words if w["text"].strip() == text]
    return word["start"], word["end"]


def log_entries(story, action):
    return [
        *PageLogEntry.objects.filter(page=story, action=action),
        *ModelLogEntry.objects.filter(action=action),
    ]


@pytest.fixture
def story(project, reporter):
    # The services do not play the recording, so a written story (no media to check) is
    # quicker; its segments still carry the real recording's timings.
    return factories.story(project, reporter, text="Ask not what your country can do for you.")


@pytest.fixture
def lines(story):
    _, rows = make_transcript(story)
    return rows


# --- Word timings (no database) ---------------------------------------------------------------


def test_a_changed_word_takes_the_time_of_the_word_it_replaces_and_the_others_keep_theirs():
    old = JFK_SEGMENTS[0]["words"]
    new = words_for_text(
        old,
        "And so my fellow citizens, ask not what your country can do for you",
        start=0.0,
        end=8.06,
    )
    assert [w["text"] for w in new][:6] == ["And", "so", "my", "fellow", "citizens,", "ask"]
    for kept in ["And", "my", "fellow", "ask", "not", "what", "your", "country", "you"]:
        assert timing(new, kept) == timing(old, kept), kept
    assert timing(new, "so") == timing(old, "so,")  # only the comma went: same word
    assert timing(new, "citizens,") == timing(old, "Americans")
    assert [w.get("edited", False) for w in new].count(True) == 1


def test_inserted_words_are_placed_between_their_neighbours():
    old = JFK_SEGMENTS[0]["words"]
    new = words_for_text(
        old,
        "And so, my fellow Americans ask not what your country can really truly do for you",
        start=0.0,
        end=8.06,
    )
    assert len(new) == len(old) + 2
    can, do = timing(old, "can"), timing(old, "do")
    assert timing(new, "can") == can and timing(new, "do") == do
    really, truly = timing(new, "really"), timing(new, "truly")
    assert can[0] < really[0] < really[1] <= truly[0] < truly[1] < do[1]
    starts = [w["start"] for w in new]
    assert starts == sorted(starts)


def test_removed_words_go_and_a_written_story_has_no_timed_words():
    old = JFK_SEGMENTS[1]["words"]
    new = words_for_text(old, "ask what you can do for your country.", start=8.06, end=10.5)
    assert new == old
    shorter = words_for_text(old, "ask what you can do", start=8.06, end=10.5)
    assert [w["text"] for w in shorter] == ["ask", "what", "you", "can", "do"]
    assert shorter == old[:5]
    assert words_for_text([], "Some written words", start=None, end=None) == []


# --- Editing ------------------------------------------------------------------------------------


def test_an_edit_is_saved_with_a_revision_and_an_audit_entry_without_the_words(
    story, lines, reporter
):
    line = lines[0]
    edited = review_services.segment_edit(
        segment=line,
        text="And so my fellow  citizens,\nask not what your country can do for you",
        user=reporter,
        version=1,
    )
    stored = Segment.objects.get(pk=line.pk)
    assert stored.text == "And so my fellow citizens, ask not what your country can do for you"
    assert stored.version == edited.version == 2
    assert timing(stored.words, "fellow") == (1.42, 1.76)
    assert timing(stored.words, "country") == (6.02, 6.36)

    (revision,) = SegmentRevision.objects.filter(segment=line)
    assert revision.text == ORIGINAL and revision.words == JFK_SEGMENTS[0]["words"]
    assert revision.user == reporter and revision.number == 1 and revision.reason == "edit"

    (entry,) = log_entries(story, "storyloom.transcript.edit")
    assert entry.user == reporter
    logged = json.dumps(entry.data)
    assert entry.data["segment"] == line.pk
    for word in ("citizens", "Americans", "country", "fellow"):
        assert word not in logged


def test_an_edit_that_changes_nothing_makes_no_revision(lines, reporter):
    same = review_services.segment_edit(
        segment=lines[0], text=f"  {ORIGINAL} ", user=reporter, version=1
    )
    assert same.version == 1
    assert not SegmentRevision.objects.exists()


def test_a_save_from_an_out_of_date_page_is_refused_and_changes_nothing(lines, reporter, steward):
    line = lines[0]
    review_services.segment_edit(
        segment=line, text=ORIGINAL.replace("Americans", "citizens"), user=steward, version=1
    )
    with pytest.raises(EditConflict) as refused:
        review_services.segment_edit(
            segment=line, text=ORIGINAL.replace("so,", "so"), user=reporter, version=1
        )
    assert "Someone else changed this line" in refused.value.message
    assert refused.value.segment.text == ORIGINAL.replace("Americans", "citizens")
    assert refused.value.segment.version == 2
    stored = Segment.objects.get(pk=line.pk)
    assert "citizens" in stored.text and "so," in stored.text
    assert SegmentRevision.objects.filter(segment=line).count() == 1


def test_a_transcript_that_is_no_longer_current_cannot_be_changed(story, lines, reporter):
    make_transcript(story, model="base", current=False)
    lines[0].transcript.__class__.objects.filter(pk=lines[0].transcript_id).update(is_current=False)
    with pytest.raises(EditConflict) as refused:
        review_services.segment_edit(
            segment=lines[0], text="Something else", user=reporter, version=1
        )
    assert "replaced by a newer one" in refused.value.message
    assert Segment.objects.get(pk=lines[0].pk).text == ORIGINAL
    with pytest.raises(EditConflict):
        review_services.segment_set_speaker(segment=lines[0], speaker="reporter", user=reporter)


def test_nothing_can_be_changed_while_the_story_is_transcribed_again(story, lines, reporter):
    TranscriptionJob.objects.create(story=story, model="base", status=JobStatus.RUNNING)
    with pytest.raises(EditConflict) as refused:
        review_services.segment_edit(
            segment=lines[0], text="Something else", user=reporter, version=1
        )
    assert "being turned into text again" in refused.value.message
    with pytest.raises(EditConflict):
        review_services.transcript_verify(transcript=lines[0].transcript, user=reporter)
    assert Segment.objects.get(pk=lines[0].pk).text == ORIGINAL
    assert not SegmentRevision.objects.exists()


def test_a_line_that_is_far_too_long_is_refused_plainly(lines, reporter):
    with pytest.raises(ValidationError, match="too long"):
        review_services.segment_edit(
            segment=lines[0], text="word " * 2000, user=reporter, version=1
        )


# --- Who may change it -----------------------------------------------------------------------


def test_only_the_storys_reporter_and_stewards_may_change_it(
    story, lines, other_reporter, facilitator, manager, steward, other_project
):
    outsider = factories.user_with_role("reporter", other_project, username="otto")
    for person in (other_reporter, facilitator, manager, outsider):
        with pytest.raises(PermissionDenied):
            review_services.segment_edit(segment=lines[0], text="Hacked", user=person, version=1)
        with pytest.raises(PermissionDenied):
            review_services.segment_verify(segment=lines[0], user=person)
        with pytest.raises(PermissionDenied):
            review_services.transcript_verify(transcript=lines[0].transcript, user=person)
    assert Segment.objects.get(pk=lines[0].pk).text == ORIGINAL
    review_services.segment_edit(
        segment=lines[0], text="Fixed by the steward", user=steward, version=1
    )


# --- Revisions and revert ----------------------------------------------------------------------


def test_every_change_can_be_seen_as_a_diff_and_undone(story, lines, reporter):
    line = lines[0]
    first = ORIGINAL.replace("Americans", "citizens")
    review_services.segment_edit(segment=line, text=first, user=reporter, version=1)
    review_services.segment_edit(segment=line, text=first + " all", user=reporter, version=2)

    history = selectors.segment_history_for_user(
        user=reporter, segment=Segment.objects.get(pk=line.pk)
    )
    assert [h["revision"].number for h in history] == [2, 1]
    assert ("removed", "Americans") in history[1]["diff"]
    assert ("added", "citizens") in history[1]["diff"]
    assert ("added", "all") in history[0]["diff"]

    original = SegmentRevision.objects.get(segment=line, number=1)
    back = review_services.segment_revert(segment=line, revision=original, user=reporter, version=3)
    stored = Segment.objects.get(pk=line.pk)
    assert stored.text == ORIGINAL and stored.words == JFK_SEGMENTS[0]["words"]
    assert back.version == stored.version == 4
    undone = SegmentRevision.objects.get(segment=line, number=3)
    assert undone.reason == "revert" and undone.text == first + " all"  # the revert can be undone
    (entry,) = log_entries(story, "storyloom.transcript.revert")
    assert entry.data["to_revision"] == 1 and "citizens" not in json.dumps(entry.data)

    with pytest.raises(EditConflict):  # a revert from an out-of-date page
        review_services.segment_revert(segment=line, revision=undone, user=reporter, version=3)


def test_a_revision_of_another_line_cannot_be_put_back(lines, reporter):
    review_services.segment_edit(segment=lines[1], text="ask what", user=reporter, version=1)
    other = SegmentRevision.objects.get(segment=lines[1])
    with pytest.raises(ValidationError):
        review_services.segment_revert(segment=lines[0], revision=other, user=reporter)


def test_nobody_else_sees_the_history_of_a_line(lines, reporter, facilitator):
    review_services.segment_edit(segment=lines[0], text="Changed", user=reporter, version=1)
    assert selectors.segment_history_for_user(user=facilitator, segment=lines[0]) == []


# --- Speaker and checking ----------------------------------------------------------------------


def test_the_speaker_is_one_of_three_and_is_a_revision(story, lines, reporter):
    line = review_services.segment_set_speaker(
        segment=lines[0], speaker="storyteller", user=reporter
    )
    assert Segment.objects.get(pk=lines[0].pk).speaker == "storyteller"
    assert line.version == 2
    assert SegmentRevision.objects.get(segment=lines[0]).reason == "speaker"
    with pytest.raises(ValidationError):
        review_services.segment_set_speaker(segment=lines[0], speaker="the judge", user=reporter)
    with pytest.raises(EditConflict):
        review_services.segment_set_speaker(
            segment=lines[0], speaker="other", user=reporter, version=1
        )
    (entry,) = log_entries(story, "storyloom.transcript.speaker")
    assert entry.data["speaker"] == "storyteller"


def test_lines_and_the_whole_transcript_are_marked_checked_with_who_and_when(
    story, lines, reporter, steward
):
    review_services.segment_verify(segment=lines[1], user=reporter)
    stored = Segment.objects.get(pk=lines[1].pk)
    assert stored.verified_by == reporter and stored.verified_at is not None
    assert stored.version == 1  # checking is not a change of the words

    flagged = selectors.editor_segments(user=reporter, story=story, flagged_only=True)
    assert flagged == []  # checked: no longer "review these first"
    review_services.segment_verify(segment=lines[1], user=reporter, verified=False)
    flagged = selectors.editor_segments(user=reporter, story=story, flagged_only=True)
    assert [s.pk for s in flagged] == [lines[1].pk]

    transcript = review_services.transcript_verify(transcript=lines[0].transcript, user=steward)
    transcript.refresh_from_db()
    assert transcript.verified_by == steward and transcript.verified_at is not None
    assert log_entries(story, "storyloom.transcript.verify_all")


# --- Redactions follow the words ------------------------------------------------------------------


def test_hidden_words_stay_hidden_when_the_words_around_them_change(story, lines, reporter):
    line = lines[0]
    start = ORIGINAL.index("Americans")
    redaction_services.redaction_add(
        segment=line,
        start_char=start,
        end_char=start + len("Americans"),
        kind="name",
        user=reporter,
    )
    review_services.segment_edit(segment=line, text="Well, " + ORIGINAL, user=reporter, version=1)
    stored = Segment.objects.get(pk=line.pk)
    (hidden,) = Redaction.objects.filter(segment=line, status="accepted")
    assert (hidden.start_char, hidden.end_char) == (start + 6, start + 6 + len("Americans"))
    assert (
        redaction.redacted_text(stored)
        == "Well, And so, my fellow [name] ask not what your country can do for you"
    )
    # The word kept its timing, so the silenced moment is still the right one.
    assert redaction.span_time_range(stored, hidden.start_char, hidden.end_char) == (1.76, 2.26)
