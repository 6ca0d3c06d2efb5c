"""Reads for themes. `analysis_segments` is the model's input and takes no viewer; every
read that shows something to a person takes the viewer."""

from collections import defaultdict

from django.db.models import (
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import RowNumber
from django.http import Http404

from cms.models import ProjectPage
from cms.roles import Role
from cms.selectors import project_roles_for_user, projects_for_user
from stories.models import Consent, ErasureRequest, ErasureStatus, StoryPage, StorytellerRole
from themes.models import Theme, ThemeAssignment, ThemeRun
from transcription.models import Segment
from transcription.redaction import hidden_words, redacted_text, scrub

# Who takes part in theme analysis (curates), and who may only read the themes.
CURATOR_ROLES = {Role.REPORTER, Role.FACILITATOR, Role.STEWARD}
READER_ROLES = CURATOR_ROLES | {Role.MANAGER}

# The "who is heard" marks: themes raised only by these roles.
STAFF_ROLES = {StorytellerRole.STAFF}
SERVICE_USER_ROLES = {StorytellerRole.SERVICE_USER}


def analysis_text(segment: Segment) -> str:
    """The text of a segment as analysis and quotes may use it: with every accepted
    redaction replaced by its placeholder. Everything in themes reads segment text through
    this (prefetch "redactions" when reading many)."""
    return redacted_text(segment)


def _latest_consent(scope: str) -> Subquery:
    latest = Consent.objects.filter(story=OuterRef("pk")).order_by("-version")
    return Subquery(latest.values(scope)[:1])


# Consent scopes whose withdrawal takes a story out of the themes (themes.erasure).
ANALYSIS_SCOPES = {"analyse", "record", "transcribe"}


def stories_being_erased() -> set[int]:
    """Stories with an erasure not yet done that takes them out of the themes. They are
    left out from the moment consent is withdrawn, not only once the erasure has run: a
    theme run in between must not take them in again."""
    pending = ErasureRequest.objects.filter(story__isnull=False).exclude(status=ErasureStatus.DONE)
    return {
        story_id
        for story_id, kind, removed in pending.values_list("story_id", "kind", "scopes_removed")
        if kind == "full" or ANALYSIS_SCOPES & set(removed or [])
    }


def eligible_stories(*, project: ProjectPage, scope: str = "analyse") -> QuerySet[StoryPage]:
    """The project's stories approved by a data steward (live) whose current consent
    includes `scope` ("analyse in themes" by default), and that are not being erased."""
    return (
        StoryPage.objects.live()
        .descendant_of(project)
        .exclude(pk__in=stories_being_erased())
        .annotate(scope_given=_latest_consent(scope))
        .filter(scope_given=True)
    )


def analysis_segments(*, project: ProjectPage) -> QuerySet[Segment]:
    """What the theme model is given: the segments of each story's current transcript, for
    stories that are live (approved by a data steward) AND whose current consent includes
    "analyse". Stories without that consent never reach the model. Ordered so that the same
    material always comes in the same order. Deliberately takes no viewer: this is the
    model's input, not something shown to a person."""
    return (
        Segment.objects.filter(
            transcript__is_current=True, story__in=eligible_stories(project=project)
        )
        .exclude(text="")
        .select_related("story")
        .prefetch_related("redactions")  # analysis_text() reads them for every segment
        .order_by("story_id", "index", "pk")
    )


# --- What people see -------------------------------------------------------------------------


def theme_projects_for_user(*, user) -> QuerySet[ProjectPage]:
    """Projects whose themes the user may read: every role reads its projects' themes."""
    return projects_for_user(user=user)


def can_read_themes(*, user, project: ProjectPage) -> bool:
    return bool(project_roles_for_user(user=user, project=project) & READER_ROLES)


def can_curate_themes(*, user, project: ProjectPage) -> bool:
    """Reporters and facilitators of the project, and data stewards, shape the themes.
    Managers read them but do not change them: the themes are the storytellers' and
    reporters' reading of the stories, which managers then act on."""
    return bool(project_roles_for_user(user=user, project=project) & CURATOR_ROLES)


def project_get_for_theme_reader(*, user, project_id) -> ProjectPage:
    """The project, or 404 for anyone who may not read its themes."""
    project = ProjectPage.objects.filter(pk=project_id).first()
    if project is None or not can_read_themes(user=user, project=project):
        raise Http404
    return project


def current_run(*, project: ProjectPage) -> ThemeRun | None:
    return ThemeRun.objects.filter(project=project, is_current=True).first()


def latest_run(*, project: ProjectPage) -> ThemeRun | None:
    return ThemeRun.objects.filter(project=project).first()


def themes_visible_to(*, user, project: ProjectPage, include_hidden: bool = True):
    """The current run's themes (merged-away and split themes left out), biggest first; an
    empty queryset for anyone who may not read this project's themes."""
    if not can_read_themes(user=user, project=project):
        return Theme.objects.none()
    themes = Theme.objects.filter(
        project=project, run__is_current=True, merged_into__isnull=True, split_into=[]
    )
    if not include_hidden:
        themes = themes.filter(hidden=False)
    return themes.order_by("hidden", "-size", "key", "pk")


def theme_get_for_user(*, user, project: ProjectPage, theme_id) -> Theme:
    try:
        return themes_visible_to(user=user, project=project).get(pk=theme_id)
    except (Theme.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _visible_stories(*, user, project: ProjectPage) -> QuerySet[StoryPage]:
    """Stories whose segments the viewer may see in themes: still eligible (consent may
    have been narrowed since the run); for managers only those the storyteller agreed may
    be quoted."""
    roles = project_roles_for_user(user=user, project=project)
    stories = eligible_stories(project=project)
    if not roles & CURATOR_ROLES:
        stories = stories.annotate(quote_given=_latest_consent("quote")).filter(quote_given=True)
    return stories


def _visible_assignments(*, user, project: ProjectPage) -> QuerySet[ThemeAssignment]:
    """Assignments of the current transcripts of the stories _visible_stories allows."""
    return ThemeAssignment.objects.filter(
        story__in=_visible_stories(user=user, project=project),
        segment__transcript__is_current=True,
    ).select_related("segment", "story", "story__storyteller")


def _quotes_ordered(themes) -> QuerySet[ThemeAssignment]:
    return (
        ThemeAssignment.objects.filter(theme__in=themes, segment__transcript__is_current=True)
        .select_related("segment", "story", "story__storyteller")
        .order_by("-pinned", "-probability", "segment__story_id", "segment__index", "pk")
    )


def _choose_quotes(assignments, *, limit: int) -> tuple[list[ThemeAssignment], bool]:
    """Pinned quotes first, then one per storyteller while there are storytellers left (then
    the rest). Also says whether enough were found before the assignments ran out."""
    chosen, rest, tellers, pinned = [], [], set(), 0
    enough = False
    for assignment in assignments:
        pinned += assignment.pinned
        teller = assignment.story.storyteller_id
        if assignment.pinned or teller not in tellers:
            chosen.append(assignment)
            tellers.add(teller)
        else:
            rest.append(assignment)
        if not assignment.pinned and len(chosen) >= max(limit, pinned):
            enough = True
            break  # every pinned one has been seen (they come first), and enough others
    return sorted((chosen + rest)[: max(limit, pinned)], key=_quote_order), enough


def theme_quotes(*, user, theme: Theme, limit: int = 3) -> list[ThemeAssignment]:
    """The best quotes for a theme: pinned ones first, then the most typical segments, one
    per storyteller while there are storytellers left (then the rest)."""
    if not can_read_themes(user=user, project=theme.project):
        return []
    stories = _visible_stories(user=user, project=theme.project)
    ordered = _quotes_ordered([theme])
    # The theme's assignments a page at a time, each page's stories checked in one query,
    # until the quotes are found: a theme of a big project holds thousands of segments and
    # only the first few in this order can be chosen. (Filtering by the visible stories in
    # SQL made the database work out every story's consent once per theme.)
    chosen, _ = _choose_quotes(
        _visible_in_pages(ordered, stories, size=max(limit, 1) * 10), limit=limit
    )
    prefetch_related_objects(chosen, "segment__redactions")
    for assignment in chosen:
        assignment.quote_text = analysis_text(assignment.segment)
    return chosen


def quotes_for_themes(*, user, project: ProjectPage, themes, limit: int = 3) -> dict:
    """theme_quotes for many themes of a project at once, {theme pk: quotes}: the first
    page of every theme's assignments in one query, their stories checked in one query, and
    the quotes' redactions read in one query. A theme whose first page does not hold enough
    visible quotes goes on page by page as theme_quotes does."""
    themes = list(themes)
    if not themes or not can_read_themes(user=user, project=project):
        return {theme.pk: [] for theme in themes}
    size = max(limit, 1) * 10
    # The ranks first, on the assignments alone; then the few ranked rows with their
    # segments and stories (the joins for every row of every theme made it 2-3 times slower).
    ranked = (
        ThemeAssignment.objects.filter(theme__in=themes, segment__transcript__is_current=True)
        .annotate(
            quote_rank=Window(
                RowNumber(),
                partition_by=[F("theme_id")],
                order_by=[
                    F("pinned").desc(),
                    F("probability").desc(),
                    F("segment__story_id").asc(),
                    F("segment__index").asc(),
                    F("pk").asc(),
                ],
            )
        )
        .filter(quote_rank__lte=size)
        .values_list("pk", "quote_rank")
    )
    rank = dict(ranked)
    first_pages = ThemeAssignment.objects.filter(pk__in=list(rank)).select_related(
        "segment", "story", "story__storyteller"
    )
    pages = defaultdict(list)
    for assignment in first_pages:
        assignment.quote_rank = rank[assignment.pk]
        pages[assignment.theme_id].append(assignment)
    for page in pages.values():
        page.sort(key=lambda a: a.quote_rank)
    ids = {a.story_id for page in pages.values() for a in page}
    stories = _visible_stories(user=user, project=project)
    allowed = set(stories.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    quotes, all_chosen = {}, []
    for theme in themes:
        page = pages.get(theme.pk, [])
        chosen, enough = _choose_quotes((a for a in page if a.story_id in allowed), limit=limit)
        if not enough and len(page) >= size:
            theme.project = project
            quotes[theme.pk] = theme_quotes(user=user, theme=theme, limit=limit)
            continue
        quotes[theme.pk] = chosen
        all_chosen.extend(chosen)
    prefetch_related_objects(all_chosen, "segment__redactions")
    for assignment in all_chosen:
        assignment.quote_text = analysis_text(assignment.segment)
    return quotes


def _visible_in_pages(assignments: QuerySet, stories: QuerySet, *, size: int):
    """The assignments, in their order, whose story is among `stories`."""
    offset = 0
    while True:
        page = list(assignments[offset : offset + size])
        ids = {a.story_id for a in page}
        allowed = set(stories.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
        yield from (a for a in page if a.story_id in allowed)
        if len(page) < size:
            return
        offset += size


def _quote_order(assignment):
    return (not assignment.pinned, -assignment.probability)


def theme_segments(*, user, theme: Theme) -> list[ThemeAssignment]:
    """Every segment of a theme the viewer may see, with its text."""
    if not can_read_themes(user=user, project=theme.project):
        return []
    rows = list(
        _visible_assignments(user=user, project=theme.project)
        .filter(theme=theme)
        .order_by("-pinned", "-probability", "pk")
    )
    for assignment in rows:
        assignment.quote_text = analysis_text(assignment.segment)
    return rows


def hidden_theme_words(*, project: ProjectPage) -> dict[str, str]:
    """Every word an accepted redaction hides in one of the project's stories, with its
    placeholder (transcription.redaction.hidden_words)."""
    return hidden_words(StoryPage.objects.descendant_of(project))


def themes_with_words_hidden(themes, *, project: ProjectPage, hidden=None) -> list[Theme]:
    """The themes as people may see them: keywords that a redaction hides left out, and
    hidden words in labels (people's names for themes too) shown as their placeholder.
    Changes the instances for showing only; they are not saved. Stored keywords and
    automatic labels are already cleaned when redactions change
    (services.themes_hide_redacted_words); this also covers what people typed."""
    themes = list(themes)
    if hidden is None:
        hidden = hidden_theme_words(project=project)
    if not hidden:
        return themes
    for theme in themes:
        theme.keywords = [k for k in theme.keywords if scrub(str(k), hidden) == str(k)]
        theme.auto_label = scrub(theme.auto_label, hidden)
        theme.label = scrub(theme.label, hidden)
        theme.description = scrub(theme.description, hidden)
    return themes


def role_label(role: str) -> str:
    return dict(StorytellerRole.choices).get(role, role)


def heard_only_by(role_counts: dict) -> str:
    """ "staff" or "service_user" when only that group raised the theme, else ""."""
    roles = {role for role, count in role_counts.items() if count}
    if roles and roles <= STAFF_ROLES:
        return "staff"
    if roles and roles <= SERVICE_USER_ROLES:
        return "service_user"
    return ""


def who_is_heard(*, user, project: ProjectPage, themes=None) -> dict:
    """Theme × storyteller role: distinct storytellers per cell, and which themes only staff
    or only people using the service raised. `themes`: the page's themes_visible_to, with
    words already hidden (themes_with_words_hidden), when it has them (hidden ones are left
    out here); else read again."""
    if themes is None:
        themes = themes_with_words_hidden(
            themes_visible_to(user=user, project=project, include_hidden=False), project=project
        )
    else:
        themes = [t for t in themes if not t.hidden]
    roles = [role for role, _ in StorytellerRole.choices]
    used = [r for r in roles if any(t.role_counts.get(r) for t in themes)]
    rows = [
        {
            "theme": theme,
            "counts": [theme.role_counts.get(role, 0) for role in used],
            "total": theme.storyteller_count,
            "only": heard_only_by(theme.role_counts),
        }
        for theme in themes
    ]
    return {"roles": [(r, role_label(r)) for r in used], "rows": rows}


def theme_stats(*, theme: Theme) -> dict:
    """Size, distinct storytellers and storytellers per role, from the theme's assignments
    (not viewer-dependent: these are stored on the theme)."""
    rows = ThemeAssignment.objects.filter(theme=theme).values_list(
        "story__storyteller_id", "story__storyteller_role", "story_id"
    )
    tellers, by_role = set(), defaultdict(set)
    size = 0
    for teller, role, story_id in rows:
        size += 1
        who = teller if teller is not None else f"story-{story_id}"
        tellers.add(who)
        by_role[role].add(who)
    return {
        "size": size,
        "storyteller_count": len(tellers),
        "role_counts": {role: len(people) for role, people in sorted(by_role.items())},
    }


def themes_over_time(*, user, project: ProjectPage) -> dict:
    """Segments per theme per month the story was recorded (first publication when no
    recording date was given)."""
    themes = themes_with_words_hidden(
        themes_visible_to(user=user, project=project, include_hidden=False), project=project
    )
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    assignments = (
        _visible_assignments(user=user, project=project)
        .filter(theme__in=themes)
        .values_list("theme_id", "story__recorded_on", "story__first_published_at")
    )
    for theme_id, recorded_on, published in assignments:
        when = recorded_on or (published.date() if published else None)
        if when is not None:
            counts[when.strftime("%Y-%m")][theme_id] += 1
    months = sorted(counts)
    return {
        "months": months,
        "series": [
            {"theme": theme, "counts": [counts[m].get(theme.pk, 0) for m in months]}
            for theme in themes
        ],
    }


def runs_for_project(*, user, project: ProjectPage) -> QuerySet[ThemeRun]:
    if not can_read_themes(user=user, project=project):
        return ThemeRun.objects.none()
    return ThemeRun.objects.filter(project=project).prefetch_related(
        Prefetch("themes", queryset=Theme.objects.only("pk", "run_id"))
    )
