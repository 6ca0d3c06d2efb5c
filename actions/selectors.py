"""Every read of actions, with the viewer: who may see and change them, the dashboard
figures, the trace from an action back to the stories (and from a story forward to what
happened because of it), and the public "You said, we did" page (which takes no viewer and
shows only what storytellers agreed may be shared publicly)."""

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import median

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from actions.models import Action, ActionStatus, ActionUpdate, ActionVisibility
from cms.models import ProjectGroup, ProjectPage
from cms.roles import ROLE_GROUPS, Role, user_is_steward
from stories.models import CONSENT_SCOPES, Consent, StoryPage, StorytellerRole
from stories.selectors import stories_visible_to, story_get_for_user
from themes.models import Theme, ThemeAssignment
from themes.selectors import analysis_text, theme_quotes
from workshops.models import Proposal, SignificantStory

# Managers own and update actions; facilitators create them (from workshops) and read them;
# data stewards do everything. Reporters see actions only through their stories.
READ_ROLES = {Role.MANAGER, Role.FACILITATOR, Role.STEWARD}
CREATE_ROLES = {Role.MANAGER, Role.FACILITATOR, Role.STEWARD}
EDIT_ROLES = {Role.MANAGER, Role.STEWARD}


# --- Who may do what ---------------------------------------------------------------------------


def _project_ids(user, roles: set) -> QuerySet | None:
    """The ids of projects where the user has one of `roles`; None meaning every project
    (a data steward)."""
    if user_is_steward(user) and Role.STEWARD in roles:
        return None
    return ProjectGroup.objects.filter(group__user=user, role__in=roles - {Role.STEWARD}).values(
        "project_id"
    )


def action_projects_for_user(*, user, roles: set = READ_ROLES) -> QuerySet[ProjectPage]:
    if not user.is_authenticated or not user.is_active:
        return ProjectPage.objects.none()
    ids = _project_ids(user, roles)
    projects = ProjectPage.objects.all() if ids is None else ProjectPage.objects.filter(pk__in=ids)
    return projects.order_by("title")


def _has_role(user, project, roles: set) -> bool:
    return action_projects_for_user(user=user, roles=roles).filter(pk=project.pk).exists()


def can_read_actions(*, user, project) -> bool:
    return _has_role(user, project, READ_ROLES)


def can_create_actions(*, user, project) -> bool:
    return _has_role(user, project, CREATE_ROLES)


def can_edit_actions(*, user, project) -> bool:
    return _has_role(user, project, EDIT_ROLES)


def actions_visible_to(*, user, project=None, roles: set = READ_ROLES) -> QuerySet[Action]:
    """The actions of the projects where the viewer is a manager or facilitator (every
    action, for a data steward)."""
    actions = Action.objects.filter(
        project__in=action_projects_for_user(user=user, roles=roles)
    ).select_related("status", "owner", "project", "proposal__workshop")
    if project is not None:
        actions = actions.filter(project=project)
    return actions


def action_get_for_user(*, user, action_id, roles: set = READ_ROLES) -> Action:
    """The action, or 404 for anyone who may not see it (never 403)."""
    try:
        return actions_visible_to(user=user, roles=roles).get(pk=action_id)
    except (Action.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def owner_candidates(*, projects) -> QuerySet:
    """Who may own an action: the active managers of the projects, and data stewards."""
    User = get_user_model()
    managers = ProjectGroup.objects.filter(project__in=projects, role=Role.MANAGER).values(
        "group_id"
    )
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__in=managers)
            | Q(groups__name=ROLE_GROUPS[Role.STEWARD])
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )


def may_own(*, user, project) -> bool:
    return (
        user.is_active
        and owner_candidates(projects=ProjectPage.objects.filter(pk=project.pk))
        .filter(pk=user.pk)
        .exists()
    )


def statuses() -> list[ActionStatus]:
    return list(ActionStatus.objects.order_by("sort_order", "pk"))


def evidence_get_for_user(*, user, update_id) -> ActionUpdate:
    """An update's evidence file: for the people who may read the action; 404 otherwise."""
    if not user.is_authenticated or not user.is_active:
        raise Http404
    try:
        return (
            ActionUpdate.objects.exclude(evidence="")
            .select_related("action")
            .get(pk=update_id, action__in=actions_visible_to(user=user))
        )
    except (ActionUpdate.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# --- Themes behind an action, followed through later theme runs ----------------------------------


@dataclass
class LinkedTheme:
    key: str
    label: str  # as it was called when it was linked
    theme: Theme | None  # the current theme it stands for now (None: gone or split)
    parts: list[Theme] = field(default_factory=list)  # when it was split
    note: str = ""  # what happened to it, in plain words ("" when nothing did)

    @property
    def current(self) -> list[Theme]:
        return [self.theme] if self.theme is not None else list(self.parts)


def theme_ref(theme: Theme) -> dict:
    return {"key": str(theme.stable_key), "label": theme.display_label}


def theme_resolve(*, project, key, label: str = "") -> LinkedTheme:
    """The current theme a linked theme now stands for: the same stable key in the current
    run, following merges; its parts if it was split; nothing if a later run lost it."""
    theme = (
        Theme.objects.filter(project=project, run__is_current=True, stable_key=key)
        .select_related("merged_into")
        .first()
    )
    return _linked_theme(
        key, label, theme, merged_into=lambda t: t.merged_into, parts_of=_split_parts
    )


def _split_parts(theme: Theme) -> list[Theme]:
    return list(
        Theme.objects.filter(run_id=theme.run_id, stable_key__in=theme.split_into).order_by(
            "-size", "pk"
        )
    )


def _linked_theme(key, label: str, theme: Theme | None, *, merged_into, parts_of) -> LinkedTheme:
    """What a linked theme (`key`, named `label` when linked) stands for, given its theme in
    the current run (None: gone); `merged_into(theme)` and `parts_of(theme)` look up the
    theme it was merged into and the parts it was split into (theme_resolve asks the
    database, linked_themes_for its themes read in one query)."""
    name = label or "A theme"
    if theme is None:
        return LinkedTheme(
            key=str(key),
            label=label,
            theme=None,
            note=f"“{name}” is no longer one of the themes: the latest analysis did not find "
            "it again. Please choose a current theme for this action.",
        )
    note, seen = "", set()
    while theme.merged_into_id and theme.pk not in seen:
        seen.add(theme.pk)
        theme = merged_into(theme)
        note = f"“{name}” was merged into “{theme.display_label}”, so the action now counts there."
    if theme.split_into:
        parts = parts_of(theme)
        names = " and ".join(f"“{p.display_label}”" for p in parts)
        return LinkedTheme(
            key=str(key),
            label=label,
            theme=None,
            parts=parts,
            note=f"“{name}” was split into {names}.",
        )
    if theme.hidden:
        note = (note + " " if note else "") + "The team has hidden this theme."
    return LinkedTheme(key=str(key), label=label, theme=theme, note=note)


def _refs(action: Action) -> list[dict]:
    refs = list(action.theme_refs or [])
    keys = {ref["key"] for ref in refs}
    # Links made without the service (or before theme_refs existed) count too.
    for theme in action.themes.all():
        if str(theme.stable_key) not in keys:
            refs.append(theme_ref(theme))
            keys.add(str(theme.stable_key))
    return refs


def linked_themes(action: Action) -> list[LinkedTheme]:
    return [
        theme_resolve(project=action.project, key=ref["key"], label=ref.get("label", ""))
        for ref in _refs(action)
    ]


def current_themes(*, project, include_hidden: bool = False) -> QuerySet[Theme]:
    themes = Theme.objects.filter(
        project=project, run__is_current=True, merged_into__isnull=True, split_into=[]
    )
    if not include_hidden:
        themes = themes.filter(hidden=False)
    return themes.order_by("-storyteller_count", "-size", "key", "pk")


# --- Consent ------------------------------------------------------------------------------------


def current_consents(story_ids) -> dict[int, Consent]:
    """Each story's current (latest) consent version."""
    latest: dict[int, Consent] = {}
    for consent in Consent.objects.filter(story_id__in=set(story_ids)).order_by(
        "story_id", "-version"
    ):
        latest.setdefault(consent.story_id, consent)
    return latest


def consent_summary(consent: Consent | None) -> dict:
    scopes = consent.scopes if consent else set()
    return {
        "scopes": sorted(scopes, key=list(CONSENT_SCOPES).index),
        "labels": [CONSENT_SCOPES[s] for s in CONSENT_SCOPES if s in scopes],
        "analyse": "analyse" in scopes,
        "quote": "quote" in scopes,
        "publish": "publish" in scopes,
        "withdrawn": bool(consent and consent.is_withdrawal),
        "changed_at": consent.recorded_at if consent else None,
    }


def _role_label(role: str) -> str:
    return dict(StorytellerRole.choices).get(role, "someone")


# --- The trace: action → proposal → workshop → themes → quotes → stories ------------------------


def _trail_story_ids(action: Action, linked: list[LinkedTheme]) -> set[int]:
    """The stories behind an action: those in its (current) themes and those its proposal
    quoted."""
    theme_ids = [t.pk for lt in linked for t in lt.current]
    ids = set(
        ThemeAssignment.objects.filter(theme_id__in=theme_ids).values_list("story_id", flat=True)
    )
    if action.proposal_id:
        ids |= set(action.proposal.quotes.values_list("story_id", flat=True))
        ids |= set(action.proposal.clips.values_list("story_id", flat=True))
    return ids


def action_trace(*, user, action: Action) -> dict:
    """Everything behind an action, with the consent status at each step. Quotes show only
    where the storyteller still agrees to being quoted; a story's title only to those who
    may open the story."""
    linked = linked_themes(action)
    proposal = action.proposal
    workshop = proposal.workshop if proposal else None
    story_ids = _trail_story_ids(action, linked)
    consents = current_consents(story_ids)
    openable = set(
        stories_visible_to(user=user).filter(pk__in=story_ids).values_list("pk", flat=True)
    )
    pages = {
        s.pk: s
        for s in StoryPage.objects.filter(pk__in=story_ids).select_related(
            "storyteller", "reporter"
        )
    }

    def story_entry(story_id: int) -> dict:
        story = pages[story_id]
        consent = consent_summary(consents.get(story_id))
        return {
            "id": story_id,
            "title": story.title if story_id in openable else "",
            "can_open": story_id in openable,
            "told_by": _role_label(story.storyteller_role),
            "approved": story.live,
            "consent": consent,
        }

    quotes = []
    if proposal is not None:
        for segment in proposal.quotes.select_related("story").order_by("story_id", "index"):
            consent = consent_summary(consents.get(segment.story_id))
            usable = consent["quote"] and segment.story.live
            shown = usable or segment.story_id in openable
            quotes.append(
                {
                    "segment_id": segment.pk,
                    "text": analysis_text(segment) if shown else "",
                    "usable": usable,
                    "story": story_entry(segment.story_id),
                }
            )

    themes = []
    for lt in linked:
        for theme in lt.current:
            assignments = ThemeAssignment.objects.filter(theme=theme)
            theme_story_ids = set(assignments.values_list("story_id", flat=True))
            still = sum(1 for s in theme_story_ids if consent_summary(consents.get(s))["analyse"])
            themes.append(
                {
                    "theme": theme,
                    "note": lt.note,
                    "stories": len(theme_story_ids),
                    "stories_still_analysed": still,
                    "quotes": [
                        {
                            "text": a.quote_text,
                            "story": story_entry(a.story_id) if a.story_id in pages else None,
                        }
                        for a in theme_quotes(user=user, theme=theme, limit=3)
                    ],
                }
            )
        if not lt.current:
            themes.append(
                {
                    "theme": None,
                    "note": lt.note,
                    "label": lt.label,
                    "stories": 0,
                    "quotes": [],
                }
            )

    stories = [story_entry(sid) for sid in sorted(story_ids)]
    return {
        "action": action,
        "proposal": proposal,
        "workshop": workshop,
        "themes": themes,
        "quotes": quotes,
        "stories": stories,
        "publishable_stories": sum(1 for s in stories if s["consent"]["publish"] and s["approved"]),
        "notes": [lt.note for lt in linked if lt.note],
    }


# --- The impact trail: story → what happened because of it ---------------------------------------


def _story_theme_keys(story: StoryPage) -> dict[str, Theme]:
    themes = Theme.objects.filter(
        assignments__story=story,
        assignments__segment__transcript__is_current=True,
        run__is_current=True,
        merged_into__isnull=True,
        split_into=[],
    ).distinct()
    return {str(t.stable_key): t for t in themes}


def actions_for_story(story: StoryPage, *, project=None) -> list[tuple[Action, list[str]]]:
    """The actions that follow from a story, each with why: the themes it speaks to, or a
    workshop proposal that quoted it. Takes no viewer: callers check the story first."""
    project = project or story.get_project()
    keys = _story_theme_keys(story)
    proposal_ids = set(
        Proposal.objects.filter(Q(quotes__story=story) | Q(clips__story=story)).values_list(
            "pk", flat=True
        )
    )
    found = []
    for action in (
        Action.objects.filter(project=project)
        .select_related("status", "owner", "proposal__workshop")
        .prefetch_related("themes")
        .order_by("pk")
    ):
        why = []
        if action.proposal_id in proposal_ids:
            why.append(f"A workshop proposal quoted this story: “{action.proposal.title}”.")
        for lt in linked_themes(action):
            for theme in lt.current:
                if str(theme.stable_key) in keys:
                    why.append(f"The story speaks to the theme “{theme.display_label}”.")
        if why:
            found.append((action, why))
    return found


def actions_for_stories(stories) -> dict[int, list[tuple[Action, list[str]]]]:
    """actions_for_story for a page of stories at once, by story id, in a number of queries
    that does not grow with the stories (for lists). Takes no viewer: callers check the
    stories first."""
    stories = list(stories)
    ids = [story.pk for story in stories]
    if not ids:
        return {}
    keys: dict[int, set[str]] = defaultdict(set)
    for story_id, key in (
        ThemeAssignment.objects.filter(
            story_id__in=ids,
            segment__transcript__is_current=True,
            theme__run__is_current=True,
            theme__merged_into__isnull=True,
            theme__split_into=[],
        )
        .values_list("story_id", "theme__stable_key")
        .distinct()
    ):
        keys[story_id].add(str(key))
    proposals: dict[int, set[int]] = defaultdict(set)
    for through, story_field in (
        (Proposal.quotes.through, "segment__story_id"),
        (Proposal.clips.through, "clip__story_id"),
    ):
        for proposal_id, story_id in through.objects.filter(
            **{f"{story_field}__in": ids}
        ).values_list("proposal_id", story_field):
            proposals[story_id].add(proposal_id)
    # Each story's project: the ProjectPage whose path starts the story's path.
    prefixes = {
        story.path[: depth * StoryPage.steplen]
        for story in stories
        for depth in range(1, story.depth)
    }
    projects = list(ProjectPage.objects.filter(path__in=prefixes))
    project_of = {
        story.pk: next((p for p in projects if story.path.startswith(p.path)), None)
        for story in stories
    }
    # Each action's current themes, once for the page rather than once a story.
    by_project: dict[int, list[tuple[Action, set[str]]]] = defaultdict(list)
    for action in (
        Action.objects.filter(project__in=projects)
        .select_related("status", "owner", "proposal__workshop", "project")
        .prefetch_related("themes")
        .order_by("pk")
    ):
        current = [theme for lt in linked_themes(action) for theme in lt.current]
        by_project[action.project_id].append((action, current))
    found: dict[int, list[tuple[Action, list[str]]]] = {}
    for story in stories:
        project = project_of[story.pk]
        rows = []
        for action, current in by_project.get(project.pk if project else None, []):
            why = []
            if action.proposal_id in proposals[story.pk]:
                why.append(f"A workshop proposal quoted this story: “{action.proposal.title}”.")
            for theme in current:
                if str(theme.stable_key) in keys[story.pk]:
                    why.append(f"The story speaks to the theme “{theme.display_label}”.")
            if why:
                rows.append((action, why))
        found[story.pk] = rows
    return found


def story_impact(*, user, story_id) -> dict:
    """What happened because of a story, for its reporter to take back to the storyteller
    (and for data stewards and facilitators who may see the story). 404 for anyone else."""
    story = story_get_for_user(user=user, story_id=story_id)
    project = story.get_project()
    themes = list(_story_theme_keys(story).values())
    proposals = list(
        Proposal.objects.filter(Q(quotes__story=story) | Q(clips__story=story))
        .select_related("workshop")
        .distinct()
        .order_by("workshop__date", "pk")
    )
    significant = list(
        SignificantStory.objects.filter(story=story).select_related("workshop").order_by("pk")
    )
    actions = []
    for action, why in actions_for_story(story, project=project):
        latest = action.updates.order_by("-date", "-created_at").first()
        actions.append({"action": action, "why": why, "latest": latest})
    consent = consent_summary(story.current_consent)
    return {
        "story": story,
        "project": project,
        "consent": consent,
        "themes": themes,
        "proposals": proposals,
        "significant": significant,
        "actions": actions,
    }


# --- Dashboard ----------------------------------------------------------------------------------


def _first_update_days(action: Action, first_dates: dict) -> int | None:
    workshop = action.proposal.workshop if action.proposal_id else None
    first = first_dates.get(action.pk)
    if workshop is None or workshop.date is None or first is None:
        return None
    return (first - workshop.date).days


def dashboard(*, user, project, today=None) -> dict:
    """The figures a manager looks at: counts by status, what is overdue, who owns what,
    which themes have actions (and which have none), and how long after the workshop the
    first update came."""
    today = today or timezone.localdate()
    actions = list(actions_visible_to(user=user, project=project).prefetch_related("themes"))
    first_dates = {}
    for action_id, date in (
        ActionUpdate.objects.filter(action__in=[a.pk for a in actions])
        .order_by("action_id", "date", "created_at")
        .values_list("action_id", "date")
    ):
        first_dates.setdefault(action_id, date)

    by_status = defaultdict(int)
    for action in actions:
        by_status[action.status_id] += 1
    status_rows = [(status, by_status.get(status.pk, 0)) for status in statuses()]

    overdue = sorted((a for a in actions if a.is_overdue(today)), key=lambda a: a.due_date)
    open_actions = [a for a in actions if not a.status.is_closed]

    owners: dict = {}
    for action in actions:
        if action.needs_new_owner:
            key = ("nobody", 0)
            label = "Needs a new owner"
        else:
            key = ("user", action.owner_id)
            label = action.owner.get_full_name() or action.owner.get_username()
        row = owners.setdefault(key, {"label": label, "total": 0, "open": 0, "overdue": 0})
        row["total"] += 1
        row["open"] += 0 if action.status.is_closed else 1
        row["overdue"] += 1 if action.is_overdue(today) else 0
    owner_rows = sorted(
        owners.values(), key=lambda r: (r["label"] != "Needs a new owner", r["label"])
    )

    themes = list(current_themes(project=project))
    per_theme = defaultdict(lambda: {"total": 0, "open": 0})
    theme_notes = []
    linked_by_action = linked_themes_for(actions)
    for action in actions:
        counted = set()
        for lt in linked_by_action[action.pk]:
            if lt.note:
                theme_notes.append((action, lt.note))
            for theme in lt.current:
                if theme.pk not in counted:
                    counted.add(theme.pk)
                    per_theme[theme.pk]["total"] += 1
                    per_theme[theme.pk]["open"] += 0 if action.status.is_closed else 1
    theme_rows = [
        (theme, per_theme[theme.pk]["total"], per_theme[theme.pk]["open"]) for theme in themes
    ]

    waits = []
    not_updated = []
    for action in actions:
        days = _first_update_days(action, first_dates)
        if days is not None:
            waits.append((action, days))
        elif action.proposal_id and action.pk not in first_dates:
            not_updated.append(action)
    days_only = [d for _, d in waits]
    middle = median(days_only) if days_only else None
    return {
        "project": project,
        "today": today,
        "total": len(actions),
        "open": len(open_actions),
        "by_status": status_rows,
        "overdue": overdue,
        "needs_owner": [a for a in open_actions if a.needs_new_owner],
        "by_owner": owner_rows,
        "by_theme": theme_rows,
        "themes_without_action": [t for t, total, _ in theme_rows if total == 0],
        "theme_notes": theme_notes,
        "first_update": {
            "actions": waits,
            "median_days": int(middle) if middle is not None and middle == int(middle) else middle,
            "longest_days": max(days_only) if days_only else None,
            "not_updated": not_updated,
        },
    }


def first_update_days(actions) -> dict[int, int | None]:
    """Days from each action's workshop to its first update (None when not known)."""
    ids = [a.pk for a in actions]
    first_dates = {}
    for action_id, date in (
        ActionUpdate.objects.filter(action_id__in=ids)
        .order_by("action_id", "date", "created_at")
        .values_list("action_id", "date")
    ):
        first_dates.setdefault(action_id, date)
    return {a.pk: _first_update_days(a, first_dates) for a in actions}


# --- The public page ------------------------------------------------------------------------------

PUBLIC_QUOTES_PER_THEME = 2


def publishable_story_ids(*, project) -> set[int]:
    """Stories approved by a data steward whose current consent includes sharing their
    words publicly."""
    story_ids = list(StoryPage.objects.live().descendant_of(project).values_list("pk", flat=True))
    consents = current_consents(story_ids)
    return {sid for sid, consent in consents.items() if consent.publish}


def public_page(*, project) -> dict:
    """What the public "You said, we did" page shows. No viewer: it is public, so it shows
    only what storytellers agreed to share publicly. A theme is shown by the words a person
    gave it (never the computer's key words), and only when at least one of its stories may
    be shared publicly; quotes only from those stories; an action only when it is marked
    public and a story behind it may be shared publicly."""
    publishable = publishable_story_ids(project=project)
    themes = []
    if publishable:
        for theme in current_themes(project=project).exclude(label=""):
            assignments = list(
                ThemeAssignment.objects.filter(
                    theme=theme,
                    story_id__in=publishable,
                    segment__transcript__is_current=True,
                )
                .select_related("segment", "story")
                .order_by("-pinned", "-probability", "pk")
            )
            if not assignments:
                continue
            quotes, tellers = [], set()
            for assignment in assignments:
                teller = assignment.story.storyteller_id or f"story-{assignment.story_id}"
                if teller in tellers:
                    continue
                text = analysis_text(assignment.segment).strip()
                if text:
                    quotes.append(text)
                    tellers.add(teller)
                if len(quotes) >= PUBLIC_QUOTES_PER_THEME:
                    break
            themes.append(
                {
                    "key": str(theme.stable_key),
                    "wording": theme.label,
                    "description": theme.description,
                    "quotes": quotes,
                    "storytellers": len(
                        {a.story.storyteller_id or f"s{a.story_id}" for a in assignments}
                    ),
                }
            )
    shown_keys = {t["key"]: t for t in themes}
    actions = []
    for action in (
        Action.objects.filter(project=project, visibility=ActionVisibility.PUBLIC)
        .select_related("status", "proposal__workshop")
        .prefetch_related("themes")
        .order_by("status__is_closed", "due_date", "pk")
    ):
        linked = linked_themes(action)
        if not publishable & _trail_story_ids(action, linked):
            continue
        heard = []
        for lt in linked:
            for theme in lt.current:
                shown = shown_keys.get(str(theme.stable_key))
                if shown and shown["wording"] not in heard:
                    heard.append(shown["wording"])
        workshop = action.proposal.workshop if action.proposal_id else None
        actions.append(
            {
                "summary": action.public_summary or action.title,
                "status": action.status.public_label,
                "status_key": action.status.key,
                "closed": action.status.is_closed,
                "progress": action.progress,
                "agreed_on": workshop.date if workshop and workshop.date else action.start_date,
                "start_date": action.start_date,
                "due_date": action.due_date,
                "closed_on": action.closed_on,
                "updated_on": timezone.localdate(action.updated_at),
                "heard": heard,
            }
        )
    updated = max((a["updated_on"] for a in actions), default=None)
    return {
        "project": project,
        "themes": themes,
        "actions": actions,
        "updated_on": updated,
        "has_content": bool(themes or actions),
    }


def public_page_blockers(*, action: Action) -> list[str]:
    """Why a public action is not on the public page (empty when it is, or is not public)."""
    if action.visibility != ActionVisibility.PUBLIC:
        return []
    publishable = publishable_story_ids(project=action.project)
    if not publishable & _trail_story_ids(action, linked_themes(action)):
        return [
            "It is marked public, but it is not on the public page: none of the stories behind "
            "it may be shared publicly (their storytellers did not agree to that), or it has no "
            "themes or proposal linked yet."
        ]
    return []


# --- For the daily reminders and status notices (system reads, no viewer) -----------------------


def overdue_actions(*, today) -> QuerySet[Action]:
    return (
        Action.objects.filter(due_date__lt=today, status__is_closed=False)
        .select_related("owner", "project", "status")
        .order_by("project_id", "due_date", "pk")
    )


def reporters_of_action(action: Action) -> list:
    """The reporters of the stories behind an action (active, with an e-mail address)."""
    ids = _trail_story_ids(action, linked_themes(action))
    User = get_user_model()
    return list(
        User.objects.filter(stories__pk__in=ids, is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


# --- The trace in summary (the action's page) and its stories a page at a time -----------------

TRACE_STORIES_SHOWN = 10  # on the action's page; the rest are on the paginated list
TRACE_STORIES_PER_PAGE = 50


def _latest_consent(field_name: str) -> Subquery:
    return Subquery(
        Consent.objects.filter(story_id=OuterRef("pk")).order_by("-version").values(field_name)[:1]
    )


def _trail_stories(action: Action, linked: list[LinkedTheme]) -> QuerySet[StoryPage]:
    """The stories behind an action (as _trail_story_ids), as a query: nothing is loaded."""
    theme_ids = [t.pk for lt in linked for t in lt.current]
    behind = Q(pk__in=ThemeAssignment.objects.filter(theme_id__in=theme_ids).values("story_id"))
    if action.proposal_id:
        behind |= Q(pk__in=action.proposal.quotes.values("story_id"))
        behind |= Q(pk__in=action.proposal.clips.values("story_id"))
    return StoryPage.objects.filter(behind)


def _story_counts(stories: QuerySet[StoryPage]) -> dict:
    """How many stories, from how many storytellers (a story with no storyteller account
    counts as one), how many still agree to analysis and how many may be shared publicly
    (approved, and agreed to): one aggregate query."""
    counts = stories.annotate(
        consent_analyse=_latest_consent("analyse"), consent_publish=_latest_consent("publish")
    ).aggregate(
        stories=Count("pk"),
        named=Count("storyteller", distinct=True),
        unnamed=Count("pk", filter=Q(storyteller__isnull=True)),
        analysed=Count("pk", filter=Q(consent_analyse=True)),
        publishable=Count("pk", filter=Q(consent_publish=True, live=True)),
    )
    return {
        "stories": counts["stories"],
        "storytellers": counts["named"] + counts["unnamed"],
        "analysed": counts["analysed"],
        "publishable": counts["publishable"],
    }


def _story_entries(*, user, story_ids) -> dict[int, dict]:
    """The entries (as in action_trace) of a few stories: a constant number of queries."""
    story_ids = set(story_ids)
    if not story_ids:
        return {}
    consents = current_consents(story_ids)
    openable = set(
        stories_visible_to(user=user).filter(pk__in=story_ids).values_list("pk", flat=True)
    )
    entries = {}
    for story in StoryPage.objects.filter(pk__in=story_ids):
        entries[story.pk] = {
            "id": story.pk,
            "title": story.title if story.pk in openable else "",
            "can_open": story.pk in openable,
            "told_by": _role_label(story.storyteller_role),
            "approved": story.live,
            "consent": consent_summary(consents.get(story.pk)),
        }
    return entries


def action_trace_summary(*, user, action: Action, shown: int = TRACE_STORIES_SHOWN) -> dict:
    """What the action's page shows of its trace: as action_trace, with consent at each
    step, but the stories in counts (per theme and in all) and only the first `shown`
    stories listed; the rest are on action_trail_stories_page. The number of queries does
    not grow with the number of stories."""
    linked = linked_themes(action)
    proposal = action.proposal
    workshop = proposal.workshop if proposal else None
    stories = _trail_stories(action, linked)
    first_ids = list(stories.order_by("pk").values_list("pk", flat=True)[:shown])

    segments = (
        list(proposal.quotes.select_related("story").order_by("story_id", "index"))
        if proposal is not None
        else []
    )
    theme_rows = []  # (linked theme, current theme or None when gone, its quotes)
    for lt in linked:
        for theme in lt.current:
            theme_rows.append((lt, theme, theme_quotes(user=user, theme=theme, limit=3)))
        if not lt.current:
            theme_rows.append((lt, None, []))
    entries = _story_entries(
        user=user,
        story_ids={*first_ids, *(s.story_id for s in segments)}
        | {a.story_id for _, _, chosen in theme_rows for a in chosen},
    )

    quotes = []
    for segment in segments:
        story = entries[segment.story_id]
        usable = story["consent"]["quote"] and segment.story.live
        shown_text = usable or story["can_open"]
        quotes.append(
            {
                "segment_id": segment.pk,
                "text": analysis_text(segment) if shown_text else "",
                "usable": usable,
                "story": story,
            }
        )

    themes = []
    for lt, theme, chosen in theme_rows:
        if theme is None:
            themes.append(
                {"theme": None, "note": lt.note, "label": lt.label, "stories": 0, "quotes": []}
            )
            continue
        counts = _story_counts(
            StoryPage.objects.filter(
                pk__in=ThemeAssignment.objects.filter(theme=theme).values("story_id")
            )
        )
        themes.append(
            {
                "theme": theme,
                "note": lt.note,
                "stories": counts["stories"],
                "storytellers": counts["storytellers"],
                "stories_still_analysed": counts["analysed"],
                "quotes": [
                    {"text": a.quote_text, "story": entries.get(a.story_id)} for a in chosen
                ],
            }
        )

    counts = _story_counts(stories)
    return {
        "action": action,
        "proposal": proposal,
        "workshop": workshop,
        "themes": themes,
        "quotes": quotes,
        "stories": [entries[sid] for sid in first_ids],
        "story_count": counts["stories"],
        "storyteller_count": counts["storytellers"],
        "publishable_stories": counts["publishable"],
        "more_stories": counts["stories"] > len(first_ids),
        "notes": [lt.note for lt in linked if lt.note],
    }


def action_trail_stories_page(*, user, action: Action, page_number=1) -> dict:
    """One page (TRACE_STORIES_PER_PAGE) of the stories behind an action, each with who told
    it, whether it is approved and what its storyteller agreed to; a story's title only for
    those who may open it. The caller has checked the action with action_get_for_user."""
    stories = _trail_stories(action, linked_themes(action)).order_by("pk")
    paginator = Paginator(stories.values_list("pk", flat=True), TRACE_STORIES_PER_PAGE)
    page = paginator.get_page(page_number)
    ids = list(page.object_list)
    entries = _story_entries(user=user, story_ids=ids)
    return {
        "page": page,
        "paginator": paginator,
        "stories": [entries[sid] for sid in ids if sid in entries],
    }


# --- Linked themes of many actions at once (the dashboard) -------------------------------------


def linked_themes_for(actions) -> dict[int, list[LinkedTheme]]:
    """linked_themes of each action (by its id), resolved from one query of the projects'
    current themes instead of a few queries per action. Prefetch the actions' `themes`."""
    actions = list(actions)
    project_ids = {a.project_id for a in actions}
    by_key: dict[tuple[int, str], Theme] = {}
    by_pk: dict[int, Theme] = {}
    if project_ids:
        for theme in Theme.objects.filter(
            project_id__in=project_ids, run__is_current=True
        ).order_by("pk"):
            by_key.setdefault((theme.project_id, str(theme.stable_key)), theme)
            by_pk[theme.pk] = theme

    def merged_into(theme: Theme) -> Theme:
        return by_pk.get(theme.merged_into_id) or Theme.objects.get(pk=theme.merged_into_id)

    def parts_of(theme: Theme) -> list[Theme]:
        if theme.pk not in by_pk:  # merged into a theme of an older run: ask the database
            return _split_parts(theme)
        wanted = {str(k) for k in theme.split_into}
        return sorted(
            (t for t in by_pk.values() if t.run_id == theme.run_id and str(t.stable_key) in wanted),
            key=lambda t: (-t.size, t.pk),
        )

    def resolve(project_id: int, key: str, label: str) -> LinkedTheme:
        theme = by_key.get((project_id, str(key)))
        return _linked_theme(key, label, theme, merged_into=merged_into, parts_of=parts_of)

    return {
        action.pk: [
            resolve(action.project_id, ref["key"], ref.get("label", "")) for ref in _refs(action)
        ]
        for action in actions
    }
