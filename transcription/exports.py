"""The `export segments` kind (registered with cms.exports in apps.py). What is exported is
redacted: the text and the words, with every accepted redaction as its placeholder."""

import json

from django.db.models import OuterRef, Subquery

from stories.models import Consent, StoryPage
from transcription.models import Segment
from transcription.redaction import redacted_text, redacted_words

COLUMNS = [
    "story_id",
    "story_title",
    "segment_id",
    "start",
    "end",
    "text",
    "probability",
    "words",
    "flags",
]


def segment_object(segment: Segment, *, text: str, probability=None) -> dict:
    """One segment as the export contract (DESIGN.md) spells it."""
    return {
        "story_id": segment.story_id,
        "story_title": segment.story.title,
        "segment_id": segment.pk,
        "start": segment.start,
        "end": segment.end,
        "text": text,
        "probability": probability,
    }


class SegmentsExporter:
    """The current transcript's segments of every story whose current consent still allows
    it to be turned into text."""

    def _segments(self, project):
        latest = Consent.objects.filter(story=OuterRef("pk")).order_by("-version")
        stories = (
            StoryPage.objects.descendant_of(project)
            .annotate(may=Subquery(latest.values("transcribe")[:1]))
            .filter(may=True)
        )
        return (
            Segment.objects.filter(story__in=stories, transcript__is_current=True)
            .select_related("story")
            .prefetch_related("redactions")
            .order_by("story_id", "index")
        )

    def as_json(self, *, project) -> list[dict]:
        return [
            {
                **segment_object(segment, text=redacted_text(segment)),
                "words": redacted_words(segment),
                "flags": segment.flags,
            }
            for segment in self._segments(project)
        ]

    def as_rows(self, *, project) -> tuple[list[str], list[dict]]:
        rows = self.as_json(project=project)
        for row in rows:
            row["words"] = json.dumps(row["words"])
            row["flags"] = " ".join(row["flags"])
        return COLUMNS, rows
