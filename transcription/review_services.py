"""Every write of the transcript editor: correcting a segment's words, its speaker, marking
segments and transcripts as checked, and going back to an earlier version.

Each change of a segment first stores what it was (a SegmentRevision), bumps the segment's
`version` with a conditional UPDATE (so a save made from an out-of-date page is refused, never
silently overwrites someone else's correction), and is written to the audit log without the
words themselves (the log is read by more people than the transcript is).

Word timings: an edit is aligned word by word with the words Whisper heard (difflib). Words
that are still there keep their exact timings; new or changed words get timings spread over
the time of the words they replace, or the gap between their neighbours. Redactions and clips
depend on those timings, so a corrected spelling must not move them.
"""

import difflib
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from wagtail.log_actions import log

from transcription.models import (
    JobStatus,
    Segment,
    SegmentRevision,
    Speaker,
    Transcript,
    TranscriptionJob,
)
from transcription.selectors import transcript_editable_by

MAX_SEGMENT_CHARS = 5000

STALE_MESSAGE = (
    "Someone else changed this line while you were working on it, so your change was not "
    "saved. Your words are still here: look at the line as it is now, then save again."
)
NOT_CURRENT_MESSAGE = (
    "This transcript has been replaced by a newer one, so it cannot be changed any more. "
    "Your change was not saved. Your words are still here, so you can copy them."
)
RERUN_MESSAGE = (
    "The recording is being turned into text again just now, so the transcript cannot be "
    "changed. Your change was not saved. Your words are still here, so you can copy them "
    "and try again when it has finished."
)
NO_PERMISSION_MESSAGE = "Only the story's reporter or a data steward can change its transcript."


class EditConflict(Exception):
    """A change that cannot be saved now: the page was out of date, or the transcript is no
    longer the one people work on. `message` is for people; `segment` is the segment as it is
    stored now (None when there is no segment involved)."""

    def __init__(self, message: str, *, segment: Segment | None = None):
        super().__init__(message)
        self.message = message
        self.segment = segment


# --- Word timings -------------------------------------------------------------------------

_KEY = re.compile(r"[\W_]+", re.UNICODE)


def _key(token: str) -> str:
    """What makes two words "the same word": case and punctuation do not count, so adding a
    comma or a capital keeps the word's timing."""
    return _KEY.sub("", token.lower()) or token


def _spread(tokens: list[str], low: float, high: float, lead: str) -> list[dict]:
    """Words placed one after another over [low, high], each taking time in proportion to
    its length."""
    high = max(high, low)
    weights = [len(token) + 1 for token in tokens]
    total = sum(weights)
    words, at = [], low
    for token, weight in zip(tokens, weights, strict=True):
        end = at + (high - low) * weight / total
        words.append(
            {
                "text": lead + token,
                "start": round(at, 3),
                "end": round(end, 3),
                "probability": 1.0,  # a person wrote it
                "edited": True,
            }
        )
        at = end
    return words


def words_for_text(
    old_words: list[dict], text: str, *, start: float | None, end: float | None
) -> list[dict]:
    """The timed words of `text`, an edit of the words `old_words`: unchanged words (same
    letters, ignoring case and punctuation) keep their timing, probability and any other data;
    changed and new words get timings interpolated within their neighbours. A written story
    (no times) has no timed words."""
    tokens = text.split()
    if start is None or end is None:
        return []
    if not old_words:
        return _spread(tokens, float(start), float(end), " ") if tokens else []
    lead = " " if any(str(w.get("text", "")).startswith(" ") for w in old_words) else ""
    old_keys = [_key(str(w.get("text", "")).strip()) for w in old_words]
    new_keys = [_key(token) for token in tokens]
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    words: list[dict] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                kept = dict(old_words[i])
                if str(kept.get("text", "")).strip() != tokens[j]:
                    kept["text"] = lead + tokens[j]  # a comma or a capital: same word, time
                words.append(kept)
            continue
        if tag == "delete":
            continue
        new = tokens[j1:j2]
        if tag == "replace":
            low, high = old_words[i1]["start"], old_words[i2 - 1]["end"]
        else:  # insert: the gap between the neighbours
            before = old_words[i1 - 1] if i1 > 0 else None
            after = old_words[i1] if i1 < len(old_words) else None
            low = before["end"] if before else start
            high = after["start"] if after else end
            if high - low < 0.05 * len(new):
                # No pause to put them in: let them overlap half of each neighbour, so a
                # redaction of an inserted word still silences something around it.
                if before:
                    low = (before["start"] + before["end"]) / 2
                if after:
                    high = (after["start"] + after["end"]) / 2
        words.extend(_spread(new, float(low), float(high), lead))
    return words


def normalise_text(text: str) -> str:
    return " ".join(str(text).split())


# --- Checks ---------------------------------------------------------------------------------


def _check_can_edit(*, user, story) -> None:
    if not transcript_editable_by(user=user, story=story):
        raise PermissionDenied(NO_PERMISSION_MESSAGE)


def rerun_in_progress(story_id: int) -> bool:
    """A new transcription of the story is waiting or running: its result may replace the
    transcript, so nobody should be correcting it meanwhile."""
    return TranscriptionJob.objects.filter(
        story_id=story_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).exists()


def editing_refused_because(transcript: Transcript) -> str:
    """Why this transcript cannot be changed now ("" when it can)."""
    if not Transcript.objects.filter(pk=transcript.pk, is_current=True).exists():
        return NOT_CURRENT_MESSAGE
    if rerun_in_progress(transcript.story_id):
        return RERUN_MESSAGE
    return ""


def _lock(segment: Segment, *, user, version: int | None) -> Segment:
    """The segment as stored, locked for this transaction (PostgreSQL), after the checks
    every change makes: who, which transcript, and (when given) which version."""
    _check_can_edit(user=user, story=segment.story)
    stored = Segment.objects.select_for_update().filter(pk=segment.pk).first()
    if stored is None:
        raise EditConflict(NOT_CURRENT_MESSAGE)
    refused = editing_refused_because(stored.transcript)
    if refused:
        raise EditConflict(refused, segment=stored)
    if version is not None and int(version) != stored.version:
        raise EditConflict(STALE_MESSAGE, segment=stored)
    return stored


def _store_revision(segment: Segment, *, user, reason: str) -> SegmentRevision:
    last = segment.revisions.aggregate(n=Max("number"))["n"] or 0
    return SegmentRevision.objects.create(
        segment=segment,
        story_id=segment.story_id,
        number=last + 1,
        text=segment.text,
        words=segment.words,
        speaker=segment.speaker,
        reason=reason,
        user=user,
    )


def _save(segment: Segment, *, seen_version: int, **changes) -> Segment:
    """Write the changes only if nobody saved the segment since we read it (the compare and
    set that makes stale saves fail on every database, SQLite included)."""
    updated = Segment.objects.filter(pk=segment.pk, version=seen_version).update(
        version=F("version") + 1, **changes
    )
    if not updated:
        raise EditConflict(STALE_MESSAGE, segment=Segment.objects.get(pk=segment.pk))
    for name, value in changes.items():
        setattr(segment, name, value)
    segment.version = seen_version + 1
    return segment


def _log(segment: Segment, action: str, user, **data) -> None:
    # Never the words: the audit log is not the place for what the storyteller said.
    log(
        instance=segment.story,
        action=action,
        user=user,
        data={"segment": segment.pk, "index": segment.index, **data},
    )


def _reanchor(segment: Segment, old_text: str) -> None:
    from transcription import redaction_services

    redaction_services.redactions_reanchor(segment=segment, old_text=old_text)


# --- Changes --------------------------------------------------------------------------------


@transaction.atomic
def segment_edit(*, segment: Segment, text: str, user, version: int) -> Segment:
    """Correct the words of a segment. `version` is the segment's version the person was
    looking at; if it has changed since, or the transcript is no longer current, or a new
    transcription is running, EditConflict is raised and nothing is changed.

    Word timings of unchanged words are kept (see words_for_text); the previous state is
    stored as a revision first; redactions are moved to where their words now are."""
    text = normalise_text(text)
    if len(text) > MAX_SEGMENT_CHARS:
        raise ValidationError(
            f"This line is too long: please keep it under {MAX_SEGMENT_CHARS} letters, "
            "or split what was said over the lines around it."
        )
    stored = _lock(segment, user=user, version=version)
    if text == stored.text:
        return stored
    old_text, old_count = stored.text, len(stored.words or [])
    words = words_for_text(stored.words or [], text, start=stored.start, end=stored.end)
    kept = sum(1 for w in words if not w.get("edited"))
    revision = _store_revision(stored, user=user, reason="edit")
    stored = _save(stored, seen_version=stored.version, text=text, words=words)
    _reanchor(stored, old_text)
    _log(
        stored,
        "storyloom.transcript.edit",
        user,
        version=stored.version,
        revision=revision.number,
        words_before=old_count,
        words_kept=kept,
        words_new=len(words) - kept,
    )
    return stored


@transaction.atomic
def segment_set_speaker(
    *, segment: Segment, speaker: str, user, version: int | None = None
) -> Segment:
    """Say who is speaking in a segment: Reporter, Storyteller, Other ("" for not known)."""
    if speaker not in {"", *Speaker.values}:
        raise ValidationError("Please choose who is speaking from the list.")
    stored = _lock(segment, user=user, version=version)
    if stored.speaker == speaker:
        return stored
    revision = _store_revision(stored, user=user, reason="speaker")
    stored = _save(stored, seen_version=stored.version, speaker=speaker)
    _log(
        stored,
        "storyloom.transcript.speaker",
        user,
        speaker=speaker,
        version=stored.version,
        revision=revision.number,
    )
    return stored


@transaction.atomic
def segment_verify(*, segment: Segment, user, verified: bool = True) -> Segment:
    """Mark a segment as checked against the recording (who and when), or take that back.
    Not a change of the words, so it neither needs nor bumps the version."""
    stored = _lock(segment, user=user, version=None)
    when = timezone.now() if verified else None
    Segment.objects.filter(pk=stored.pk).update(
        verified_by=user if verified else None, verified_at=when
    )
    stored.verified_by, stored.verified_at = (user if verified else None), when
    _log(stored, "storyloom.transcript.verify", user, verified=bool(verified))
    return stored


@transaction.atomic
def transcript_verify(*, transcript: Transcript, user, verified: bool = True) -> Transcript:
    """Mark the whole transcript as checked (who and when), or take that back."""
    _check_can_edit(user=user, story=transcript.story)
    refused = editing_refused_because(transcript)
    if refused:
        raise EditConflict(refused)
    when = timezone.now() if verified else None
    Transcript.objects.filter(pk=transcript.pk).update(
        verified_by=user if verified else None, verified_at=when
    )
    transcript.verified_by, transcript.verified_at = (user if verified else None), when
    log(
        instance=transcript.story,
        action="storyloom.transcript.verify_all",
        user=user,
        data={"transcript": transcript.pk, "verified": bool(verified)},
    )
    return transcript


@transaction.atomic
def segment_revert(
    *, segment: Segment, revision: SegmentRevision, user, version: int | None = None
) -> Segment:
    """Put a segment back as it was in `revision` (its words, timings and speaker). The state
    it leaves is stored as a revision too, so a revert can itself be undone."""
    if revision.segment_id != segment.pk:
        raise ValidationError("That version belongs to another line.")
    stored = _lock(segment, user=user, version=version)
    if (stored.text, stored.words, stored.speaker) == (
        revision.text,
        revision.words,
        revision.speaker,
    ):
        return stored
    old_text = stored.text
    saved = _store_revision(stored, user=user, reason="revert")
    stored = _save(
        stored,
        seen_version=stored.version,
        text=revision.text,
        words=revision.words,
        speaker=revision.speaker,
    )
    if old_text != stored.text:
        _reanchor(stored, old_text)
    _log(
        stored,
        "storyloom.transcript.revert",
        user,
        to_revision=revision.number,
        revision=saved.number,
        version=stored.version,
    )
    return stored
