"""The `export actions` kind (registered with cms.exports in apps.py)."""

from django.utils import timezone

from actions import selectors
from actions.models import Action

COLUMNS = [
    "action_id",
    "title",
    "status",
    "status_label",
    "status_reason",
    "progress",
    "owner",
    "needs_new_owner",
    "team",
    "start_date",
    "due_date",
    "overdue",
    "closed_on",
    "visibility",
    "public_summary",
    "parent_id",
    "proposal_id",
    "proposal_title",
    "workshop_id",
    "workshop_date",
    "themes",
    "theme_notes",
    "updates",
    "last_update",
    "days_to_first_update",
    "description",
]

# A spreadsheet would run a cell starting with these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _date(value):
    return value.isoformat() if value else None


class ActionsExporter:
    """Every action of the project with its status, owner, dates, the themes behind it (as
    they are now, and what happened to them) and its updates. Evidence files are not
    exported, only whether there is one."""

    def _actions(self, project):
        return (
            Action.objects.filter(project=project)
            .select_related("status", "owner", "proposal__workshop")
            .prefetch_related("themes", "updates__author", "updates__status_to")
            .order_by("pk")
        )

    def as_json(self, *, project) -> list[dict]:
        today = timezone.localdate()
        actions = list(self._actions(project))
        waits = selectors.first_update_days(actions)
        rows = []
        for action in actions:
            workshop = action.proposal.workshop if action.proposal_id else None
            updates = sorted(action.updates.all(), key=lambda u: (u.date, u.created_at, u.pk))
            rows.append(
                {
                    "action_id": action.pk,
                    "title": action.title,
                    "description": action.description,
                    "status": action.status.key,
                    "status_label": action.status.label,
                    "status_reason": action.status_reason,
                    "progress": action.progress,
                    "owner": action.owner.get_username() if action.owner else "",
                    "needs_new_owner": action.needs_new_owner,
                    "team": action.team,
                    "start_date": _date(action.start_date),
                    "due_date": _date(action.due_date),
                    "overdue": action.is_overdue(today),
                    "closed_on": _date(action.closed_on),
                    "visibility": action.visibility,
                    "public_summary": action.public_summary,
                    "parent_id": action.parent_id,
                    "proposal_id": action.proposal_id,
                    "proposal_title": action.proposal.title if action.proposal_id else "",
                    "workshop_id": workshop.pk if workshop else None,
                    "workshop_date": _date(workshop.date) if workshop else None,
                    "themes": [
                        {
                            "key": linked.key,
                            "linked_as": linked.label,
                            "now": [t.display_label for t in linked.current],
                            "note": linked.note,
                        }
                        for linked in selectors.linked_themes(action)
                    ],
                    "updates": [
                        {
                            "date": _date(u.date),
                            "author": u.author.get_username() if u.author else "",
                            "text": u.text,
                            "status_to": u.status_to.key if u.status_to_id else None,
                            "progress": u.progress,
                            "evidence": bool(u.evidence),
                        }
                        for u in updates
                    ],
                    "days_to_first_update": waits.get(action.pk),
                }
            )
        return rows

    def as_rows(self, *, project) -> tuple[list[str], list[dict]]:
        rows = []
        for item in self.as_json(project=project):
            themes = item.pop("themes")
            updates = item.pop("updates")
            row = {
                **item,
                "themes": "; ".join(
                    ", ".join(theme["now"]) or f"{theme['linked_as']} (gone)" for theme in themes
                ),
                "theme_notes": " ".join(theme["note"] for theme in themes if theme["note"]),
                "updates": len(updates),
                "last_update": updates[-1]["date"] if updates else None,
            }
            rows.append({name: _safe(value) for name, value in row.items()})
        return COLUMNS, rows
