"""Every write to redactions and name lists.

A redaction is a span of one segment's text. Detectors (transcription.redaction) suggest
spans; the story's reporter or a data steward accepts or rejects each, or selects any span
to hide it. Whenever the set of ACCEPTED redactions of a story changes,
`signals.redactions_changed` is sent once the change is committed, so that playable copies
and clips are made again with those moments silenced.

The audit log records every decision, never the words themselves: they are the personal
data being hidden."""

import difflib
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from wagtail.log_actions import log

from cms.models import ProjectPage
from cms.roles import user_is_steward
from stories.models import StoryPage
from transcription import redaction
from transcription.models import (
    NameListEntry,
    Redaction,
    RedactionKind,
    RedactionSource,
    RedactionStatus,
    Segment,
    Transcript,
)
from transcription.selectors import redactions_editable_by

NOT_ALLOWED = "Only the story's reporter or a data steward can change what is hidden."


def _require_editor(*, user, story: StoryPage) -> None:
    if not redactions_editable_by(user=user, story=story):
        raise PermissionDenied(NOT_ALLOWED)


def _announce(story_id: int) -> None:
    from transcription.signals import redactions_changed

    transaction.on_commit(
        # A receiver's failure must not undo (or hide) the redaction itself.
        lambda: redactions_changed.send_robust(sender=Redaction, story_id=story_id)
    )


def _is_current(segment: Segment) -> bool:
    return Transcript.objects.filter(pk=segment.transcript_id, is_current=True).exists()


def _times(segment: Segment, start_char: int, end_char: int) -> tuple[float | None, ...]:
    found = redaction.span_time_range(segment, start_char, end_char)
    return found if found else (None, None)


def _names_for(story: StoryPage) -> list[tuple[str, str]]:
    project = ProjectPage.objects.ancestor_of(story).first()
    owners = Q(story=story) | (Q(project=project) if project else Q(pk__in=[]))
    return list(NameListEntry.objects.filter(owners).values_list("term", "kind"))


# --- Suggestions -------------------------------------------------------------------------


def _suggest_in_segments(segments, *, story: StoryPage, names) -> tuple[list[Redaction], bool]:
    """New suggestions for the given segments (all of one transcript). A span already
    suggested or decided is not suggested again, nor one inside a span already hidden or
    suggested. Words hidden in an earlier transcript of the story (before a re-run with
    another model) come back hidden, and words kept come back kept: a decision once made is
    not asked again. Returns the new rows and whether any came back hidden."""
    if not segments:
        return [], False
    decided = Redaction.objects.filter(story=story, group__isnull=True).exclude(
        segment__transcript_id=segments[0].transcript_id
    )
    earlier: dict[str, str] = {}  # the words, casefolded → "accepted" (wins) or "rejected"
    hidden_before: dict[str, str] = {}  # the words → their kind
    for text, status, kind in decided.exclude(status=RedactionStatus.SUGGESTED).values_list(
        "original", "status", "kind"
    ):
        if earlier.get(text.casefold()) != RedactionStatus.ACCEPTED:
            earlier[text.casefold()] = status
        if status == RedactionStatus.ACCEPTED and len(text.strip()) >= 2:
            hidden_before[text] = kind
    existing: dict[int, list[Redaction]] = {}
    for row in Redaction.objects.filter(segment__in=segments):
        existing.setdefault(row.segment_id, []).append(row)

    created, any_accepted, now = [], False, timezone.now()
    for segment in segments:
        rows = existing.setdefault(segment.pk, [])
        finds = []
        for term, kind in hidden_before.items():
            pattern = redaction.name_pattern(term)
            for match in pattern.finditer(segment.text) if pattern else ():
                finds.append((match.start(), match.end(), kind, RedactionSource.NAME_LIST))
        finds += redaction.find_suggestions(segment.text, names=names)
        for start, end, kind, source in finds:
            original = segment.text[start:end]
            status = earlier.get(original.casefold(), RedactionStatus.SUGGESTED)
            if any((r.start_char, r.end_char) == (start, end) for r in rows) or any(
                r.status != RedactionStatus.REJECTED and r.start_char <= start and end <= r.end_char
                for r in rows
            ):
                continue
            begin, finish = _times(segment, start, end)
            row = Redaction.objects.create(
                story=story,
                segment=segment,
                start_char=start,
                end_char=end,
                original=original,
                kind=kind,
                source=source,
                status=status,
                start=begin,
                end=finish,
                decided_at=now if status != RedactionStatus.SUGGESTED else None,
            )
            rows.append(row)
            created.append(row)
            any_accepted = any_accepted or status == RedactionStatus.ACCEPTED
    return created, any_accepted


@transaction.atomic
def redaction_suggest(*, transcript: Transcript) -> list[Redaction]:
    """Look for personal data (patterns, the story's and project's name lists, capitalised
    names) in every segment of the transcript and store each find as a suggestion. Safe to
    run again: a span already suggested, accepted or rejected is not suggested twice.
    Returns the new rows."""
    transcript = Transcript.objects.select_for_update().get(pk=transcript.pk)
    story = transcript.story
    segments = list(Segment.objects.filter(transcript=transcript).order_by("index"))
    created, any_accepted = _suggest_in_segments(segments, story=story, names=_names_for(story))
    if created:
        log(
            instance=story,
            action="storyloom.redaction.suggest",
            data={"transcript": transcript.pk, "suggestions": len(created)},
        )
    if any_accepted and transcript.is_current:
        _announce(story.pk)
    return created


# --- Decisions ---------------------------------------------------------------------------


@transaction.atomic
def redaction_decide(*, redaction: Redaction, user, accept: bool) -> list[Redaction]:
    """Hide (accept) or keep (reject) a suggested or earlier-decided span. A selection made
    across segments is decided as one. Returns the rows decided."""
    _require_editor(user=user, story=redaction.story)
    rows = Redaction.objects.select_for_update().filter(pk=redaction.pk)
    if redaction.group:
        rows = Redaction.objects.select_for_update().filter(
            story_id=redaction.story_id, group=redaction.group
        )
    rows = list(rows.select_related("segment"))
    status = RedactionStatus.ACCEPTED if accept else RedactionStatus.REJECTED
    changed_accepted = False
    now = timezone.now()
    for row in rows:
        was_accepted = row.status == RedactionStatus.ACCEPTED
        row.status, row.decided_by, row.decided_at = status, user, now
        row.start, row.end = _times(row.segment, row.start_char, row.end_char)
        row.save(update_fields=["status", "decided_by", "decided_at", "start", "end"])
        changed_accepted = changed_accepted or (was_accepted != accept and _is_current(row.segment))
        log(
            instance=row.story,
            action="storyloom.redaction.accept" if accept else "storyloom.redaction.reject",
            user=user,
            data={
                "redaction": row.pk,
                "segment": row.segment_id,
                "kind": row.kind,
                "source": row.source,
            },
        )
    if changed_accepted:
        _announce(redaction.story_id)
    redaction.refresh_from_db()
    return rows


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@transaction.atomic
def redaction_add(
    *,
    segment: Segment,
    start_char: int,
    end_char: int,
    kind: str,
    user,
    end_segment: Segment | None = None,
    end_char_in_end_segment: int | None = None,
) -> list[Redaction]:
    """Hide a span a person selected, from `start_char` to `end_char` of `segment`; or,
    with `end_segment`, from `start_char` of `segment` to `end_char_in_end_segment` of a
    later segment of the same transcript (one accepted row per segment, sharing a group).
    A span already suggested there is accepted rather than stored twice."""
    if kind not in RedactionKind.values:
        raise ValidationError("Please choose what kind of thing this is (a name, a place…).")
    story = segment.story
    _require_editor(user=user, story=story)
    pieces: list[tuple[Segment, int, int]] = []
    if end_segment is None or end_segment.pk == segment.pk:
        last = end_char if end_segment is None else end_char_in_end_segment
        if last is None or not 0 <= start_char < last <= len(segment.text):
            raise ValidationError("Please select some words to hide.")
        pieces.append((segment, start_char, last))
    else:
        if end_segment.transcript_id != segment.transcript_id or end_segment.index < segment.index:
            raise ValidationError("Please select words from one part of one transcript.")
        if end_char_in_end_segment is None:
            raise ValidationError("Please select some words to hide.")
        if not 0 <= start_char <= len(segment.text):
            raise ValidationError("Please select some words to hide.")
        if not 0 <= end_char_in_end_segment <= len(end_segment.text):
            raise ValidationError("Please select some words to hide.")
        between = Segment.objects.filter(
            transcript_id=segment.transcript_id,
            index__gte=segment.index,
            index__lte=end_segment.index,
        ).order_by("index")
        for part in between:
            if part.pk == segment.pk:
                pieces.append((part, start_char, len(part.text)))
            elif part.pk == end_segment.pk:
                pieces.append((part, 0, end_char_in_end_segment))
            else:
                pieces.append((part, 0, len(part.text)))
    pieces = [(part, *_trimmed(part.text, start, end)) for part, start, end in pieces]
    pieces = [(part, start, end) for part, start, end in pieces if start < end]
    if not pieces:
        raise ValidationError("Please select some words to hide.")

    group = uuid.uuid4() if len(pieces) > 1 else None
    now, rows = timezone.now(), []
    for part, start, end in pieces:
        begin, finish = _times(part, start, end)
        row = (
            Redaction.objects.select_for_update()
            .filter(segment=part, start_char=start, end_char=end)
            .first()
        )
        if row is None:
            row = Redaction(
                story=story,
                segment=part,
                start_char=start,
                end_char=end,
                source=RedactionSource.MANUAL,
                created_by=user,
            )
        row.original = part.text[start:end]
        row.kind, row.status, row.group = kind, RedactionStatus.ACCEPTED, group
        row.start, row.end, row.decided_by, row.decided_at = begin, finish, user, now
        row.save()
        rows.append(row)
        log(
            instance=story,
            action="storyloom.redaction.add",
            user=user,
            data={"redaction": row.pk, "segment": part.pk, "kind": kind, "group": str(group or "")},
        )
    if _is_current(segment):
        _announce(story.pk)
    return rows


# --- After an edit -----------------------------------------------------------------------


def _old_to_new(old_text: str, new_text: str):
    """Where a character position of the old text is in the new one (roughly)."""
    blocks = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False).get_matching_blocks()

    def position(old: int) -> int:
        best = 0
        for a, b, size in blocks:
            if a <= old:
                best = b + min(old - a, size)
        return best

    return position


@transaction.atomic
def redactions_reanchor(*, segment: Segment, old_text: str) -> None:
    """After the segment's text was edited (it holds the new text): move each redaction to
    where its words now are (the nearest place they appear), drop those whose words are gone,
    refresh their time ranges, and look for new personal data in the new text. Called by the
    editor's `segment_edit`, which has checked who is editing."""
    new_text = segment.text
    story = segment.story
    position = _old_to_new(old_text, new_text)
    changed_accepted = False
    moved, dropped = 0, []
    for row in Redaction.objects.select_for_update().filter(segment=segment):
        accepted = row.status == RedactionStatus.ACCEPTED
        places = []
        at = new_text.find(row.original) if row.original else -1
        while at != -1:
            places.append(at)
            at = new_text.find(row.original, at + 1)
        if not places:
            dropped.append(row.pk)
            row.delete()
            changed_accepted = changed_accepted or accepted
            continue
        expected = position(row.start_char)
        start = min(places, key=lambda p: (abs(p - expected), p))
        end = start + len(row.original)
        if (start, end) != (row.start_char, row.end_char):
            moved += 1
        row.start_char, row.end_char = start, end
        row.start, row.end = _times(segment, start, end)
        row.save(update_fields=["start_char", "end_char", "start", "end"])
        # The words' timings may have changed with the edit, so the silenced range may too.
        changed_accepted = changed_accepted or accepted
    if moved or dropped:
        log(
            instance=story,
            action="storyloom.redaction.reanchor",
            data={"segment": segment.pk, "moved": moved, "dropped": dropped},
        )
    _, carried = _suggest_in_segments([segment], story=story, names=_names_for(story))
    if (changed_accepted or carried) and _is_current(segment):
        _announce(story.pk)


# --- Name lists --------------------------------------------------------------------------


def _clean_term(term: str) -> str:
    term = " ".join((term or "").split())
    if len(term) < 2:
        raise ValidationError("Please write the name, place or organisation to hide.")
    if len(term) > 200:
        raise ValidationError("That is too long. Please write just the name.")
    return term


def _resuggest(stories) -> None:
    for transcript in Transcript.objects.filter(story__in=stories, is_current=True):
        redaction_suggest(transcript=transcript)


@transaction.atomic
def name_list_add(
    *, user, term: str, kind: str = RedactionKind.NAME, project=None, story=None
) -> NameListEntry:
    """Add a name, place or organisation that must not appear, to a project's list (data
    stewards) or to a story's list (the story's reporter or a data steward), and suggest
    hiding it wherever it already appears."""
    if (project is None) == (story is None):
        raise ValidationError("Please choose a project or a story for this name.")
    if kind not in RedactionKind.values:
        raise ValidationError("Please choose what kind of thing this is (a name, a place…).")
    term = _clean_term(term)
    if project is not None:
        if not user_is_steward(user):
            raise PermissionDenied("Only a data steward can change a project's name list.")
        owner, existing = project, NameListEntry.objects.filter(project=project)
    else:
        _require_editor(user=user, story=story)
        owner, existing = story, NameListEntry.objects.filter(story=story)
    entry = existing.filter(term__iexact=term).first()
    if entry is not None:
        return entry
    entry = NameListEntry.objects.create(
        project=project, story=story, term=term, kind=kind, created_by=user
    )
    log(
        instance=owner,
        action="storyloom.namelist.add",
        user=user,
        data={"entry": entry.pk, "kind": kind, "scope": "project" if project else "story"},
    )
    if project is not None:
        _resuggest(StoryPage.objects.descendant_of(project))
    else:
        _resuggest([story])
    return entry


@transaction.atomic
def name_list_remove(*, user, entry: NameListEntry) -> None:
    """Take an entry off its list. What was already hidden stays hidden, and suggestions
    already made stay for a person to decide."""
    if entry.project_id:
        if not user_is_steward(user):
            raise PermissionDenied("Only a data steward can change a project's name list.")
        owner = entry.project
    else:
        _require_editor(user=user, story=entry.story)
        owner = entry.story
    data = {
        "entry": entry.pk,
        "kind": entry.kind,
        "scope": "project" if entry.project_id else "story",
    }
    entry.delete()
    log(instance=owner, action="storyloom.namelist.remove", user=user, data=data)
