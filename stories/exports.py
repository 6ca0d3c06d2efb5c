"""The `export stories` kind (registered with cms.exports in apps.py)."""

from stories.models import StoryPage

COLUMNS = [
    "story_id",
    "title",
    "storyteller",
    "storyteller_role",
    "recorded_on",
    "language",
    "kind",
    "approved",
    "consent",
    "media_state",
]


class StoriesExporter:
    """Every story of the project with its storyteller's pseudonym (never contact details)
    and its current consent."""

    def _stories(self, project):
        return (
            StoryPage.objects.descendant_of(project)
            .select_related("storyteller")
            .prefetch_related("consents")
            .order_by("pk")
        )

    def as_json(self, *, project) -> list[dict]:
        rows = []
        for story in self._stories(project):
            consent = max(story.consents.all(), key=lambda c: c.version, default=None)
            rows.append(
                {
                    "story_id": story.pk,
                    "title": story.title,
                    "storyteller": story.storyteller.pseudonym if story.storyteller else "",
                    "storyteller_role": story.storyteller_role,
                    "recorded_on": story.recorded_on.isoformat() if story.recorded_on else None,
                    "language": story.language,
                    "kind": story.kind,
                    "approved": story.live,
                    "consent": sorted(consent.scopes) if consent else [],
                    "media_state": story.media_state,
                }
            )
        return rows

    def as_rows(self, *, project) -> tuple[list[str], list[dict]]:
        rows = self.as_json(project=project)
        for row in rows:
            row["consent"] = " ".join(row["consent"])
        return COLUMNS, rows
