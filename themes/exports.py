"""The `export themes` kind (registered with cms.exports in apps.py)."""

from themes import selectors
from themes.models import Theme, ThemeAssignment
from transcription.exports import segment_object
from transcription.redaction import hidden_words, scrub

COLUMNS = [
    "theme_id",
    "theme_label",
    "keywords",
    "story_id",
    "story_title",
    "segment_id",
    "start",
    "end",
    "text",
    "probability",
]


class ThemesExporter:
    """The current run's themes that people have not hidden, each with its segments, and
    the analysed segments that are in no theme. Only stories that may still be analysed."""

    def as_json(self, *, project) -> dict:
        run = selectors.current_run(project=project)
        # analysis_text redacts each segment: fetch their redactions in one query.
        segments = list(selectors.analysis_segments(project=project).prefetch_related("redactions"))
        if run is None:
            return {"themes": [], "unassigned": []}
        by_id = {s.pk: s for s in segments}
        # Keywords and automatic labels were made from the words before some were hidden.
        hidden = hidden_words(selectors.eligible_stories(project=project))
        themes = Theme.objects.filter(
            run=run, merged_into__isnull=True, split_into=[], hidden=False
        ).order_by("-size", "key", "pk")
        assignments = ThemeAssignment.objects.filter(theme__run=run, segment_id__in=by_id)
        placed, out = set(), []
        for theme in themes:
            rows = []
            for a in assignments.filter(theme=theme).order_by(
                "segment__story_id", "segment__index"
            ):
                segment = by_id[a.segment_id]
                text = selectors.analysis_text(segment)
                rows.append(segment_object(segment, text=text, probability=a.probability))
            out.append(
                {
                    "id": str(theme.stable_key),
                    "label": scrub(theme.display_label, hidden),
                    "keywords": [k for k in theme.keywords if scrub(k, hidden) == k],
                    "segments": rows,
                }
            )
        placed = set(assignments.values_list("segment_id", flat=True))
        unassigned = [
            segment_object(s, text=selectors.analysis_text(s))
            for s in segments
            if s.pk not in placed
        ]
        return {"themes": out, "unassigned": unassigned}

    def as_rows(self, *, project) -> tuple[list[str], list[dict]]:
        data = self.as_json(project=project)
        rows = []
        for theme in data["themes"]:
            for segment in theme["segments"]:
                rows.append(
                    {
                        "theme_id": theme["id"],
                        "theme_label": theme["label"],
                        "keywords": "; ".join(theme["keywords"]),
                        **segment,
                    }
                )
        for segment in data["unassigned"]:
            rows.append({"theme_id": "", "theme_label": "", "keywords": "", **segment})
        return COLUMNS, rows
