"""Every write to theme runs, themes, assignments and curation.

A run fits the engine on the project's analysis set (see selectors.analysis_segments) and
stores its themes and segment assignments in one transaction. People then shape the themes;
each decision is stored as a CurationEvent naming themes by their stable key. A new run is
matched to the previous one (centroid similarity and shared segments, Hungarian
assignment), matched themes keep their stable keys, and the events are replayed in order,
so labels, descriptions, hidden themes, merges, splits, moves and pins survive a refit.
"""

import logging
import math
import os
import pickle
import socket
import threading
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from wagtail.log_actions import log

from cms.models import ProjectPage
from themes import selectors
from themes.models import (
    AssignmentSource,
    CurationAction,
    CurationEvent,
    RunStatus,
    Theme,
    ThemeAssignment,
    ThemeChange,
    ThemeRun,
)
from transcription.models import Segment

logger = logging.getLogger(__name__)

TOO_LITTLE_MESSAGE = (
    "There is too little material yet to find themes. "
    "Themes need more approved stories that the storytellers agreed can be analysed."
)
FAILED_MESSAGE = (
    "Finding themes did not work this time. Please try again later. "
    "If it keeps happening, a data steward can see what went wrong."
)
NO_CURATE_MESSAGE = (
    "Only the project's reporters, facilitators and data stewards can change themes."
)
STALE_MESSAGE = "This theme has changed since you opened the page. Please reload the page."
STOPPED_MESSAGE = (
    "Finding themes stopped before it finished, {attempts} times. "
    "Please try again later. If it keeps happening, a data steward can see what went wrong."
)
WITHDRAWN_MESSAGE = (
    "A storyteller changed their consent while the themes were being found, so they are "
    "being found again without that story."
)

# Below this many passages, segments are not joined into longer passages.
SMALL_PROJECT_PASSAGES = 30
# How alike a new theme and an old one must be to count as the same theme.
MATCH_THRESHOLD = 0.4


def lease_seconds() -> int:
    """How long a worker holds a run without renewing its lease. Renewed at each step of a
    run and every third of this while the engine works, so it only runs out when the
    worker has died."""
    return int(getattr(settings, "THEME_RUN_LEASE_SECONDS", 600))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker holds this run now (ours ran out): stop, and store nothing."""


class _StoryWithdrawn(Exception):
    """A story the run was given may no longer be analysed: store nothing from it."""


# --- Engine (imported in workers only) -------------------------------------------------------

_engines: dict = {}


def get_engine():
    """One engine per worker process: loading the embedding model takes a moment."""
    if "engine" not in _engines:
        from themes.engines import get_engine as load  # heavy: workers only

        _engines["engine"] = load()
    return _engines["engine"]


def _not_enough_material_class():
    from themes.engines import NotEnoughMaterial

    return NotEnoughMaterial


def _passages(segments: list[Segment]):
    """Consecutive segments of a story windowed into passages of a few sentences
    (settings.THEMES_PASSAGE_WORDS: the least and most words in a passage)."""
    from themes.passages import make_passages

    least, most = getattr(settings, "THEMES_PASSAGE_WORDS", (40, 80))
    items = [(s.pk, s.story_id, s.index, selectors.analysis_text(s)) for s in segments]
    passages = make_passages(items, min_words=least, max_words=most)
    if len(passages) < SMALL_PROJECT_PASSAGES and len(items) > len(passages):
        # A small project (a pilot has a few dozen stories) has too few windows to find
        # themes in: let each segment speak for itself instead.
        passages = make_passages(items, min_words=1, max_words=most)
    return passages


# --- Permissions and the audit log -------------------------------------------------------------


def _check_curator(*, user, project: ProjectPage) -> None:
    """`user` None is the command line (an operator on the server)."""
    if user is not None and not selectors.can_curate_themes(user=user, project=project):
        raise PermissionDenied(NO_CURATE_MESSAGE)


def _record(*, theme: Theme, user, action: str, payload: dict, keys: list) -> CurationEvent:
    event = CurationEvent.objects.create(
        project_id=theme.project_id,
        run_id=theme.run_id,
        user=user,
        action=action,
        payload=payload,
        theme_keys=[str(k) for k in keys],
    )
    log(instance=theme, action=f"storyloom.themes.{action}", user=user, data=payload)
    return event


def _check_current(theme: Theme) -> Theme:
    fresh = Theme.objects.select_related("run").filter(pk=theme.pk).first()
    if fresh is None or not fresh.run.is_current or not fresh.is_active:
        raise ValidationError(STALE_MESSAGE)
    return fresh


# --- Runs -------------------------------------------------------------------------------------


@transaction.atomic
def theme_run_start(*, project: ProjectPage, user, enqueue: bool = True) -> ThemeRun:
    """Queue a theme run for the project (the "Find themes" button, `build_themes`).

    One run at a time per project: while one is waiting or running it is returned as it
    is (and its task queued again when its worker died or the task may have been lost:
    the task is harmless twice, since only one worker can take the run). The worker's task
    is enqueued once this transaction commits."""
    _check_curator(user=user, project=project)
    ProjectPage.objects.select_for_update().filter(pk=project.pk).exists()
    for active in ThemeRun.objects.filter(
        project=project, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).order_by("-created_at"):
        if _fail_if_exhausted(active):
            continue
        now = timezone.now()
        lost = (
            active.status == RunStatus.RUNNING
            and (active.lease_expires_at is None or active.lease_expires_at < now)
        ) or (
            active.status == RunStatus.QUEUED
            and active.created_at < now - timedelta(seconds=lease_seconds())
        )
        if lost and enqueue:
            _enqueue_on_commit(active.pk)
        return active
    run = ThemeRun.objects.create(project=project, created_by=user)
    log(instance=run, action="storyloom.themes.run_start", user=user, data={"run": run.pk})
    if enqueue:
        _enqueue_on_commit(run.pk)
    return run


def _enqueue_on_commit(run_id: int) -> None:
    from themes import tasks

    transaction.on_commit(lambda: tasks.build_themes_task.enqueue(run_id=run_id), robust=True)


# --- Workers: claim, lease, run ----------------------------------------------------------------


def _lease_lapsed(now) -> Q:
    return Q(status=RunStatus.RUNNING) & (
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    )


def theme_run_claim(*, run_id: int, worker_id: str) -> ThemeRun | None:
    """Take the run for this worker, or None when someone else holds it (or it is finished).

    One conditional UPDATE decides: only a queued run, or a running one whose lease has
    run out (its worker died), can be taken, so two workers can never both win."""
    now = timezone.now()
    taken = (
        ThemeRun.objects.filter(pk=run_id, attempts__lt=F("max_attempts"))
        .filter(Q(status=RunStatus.QUEUED) | _lease_lapsed(now))
        .update(
            status=RunStatus.RUNNING,
            attempts=F("attempts") + 1,
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            started_at=now,
            finished_at=None,
            progress=1,
        )
    )
    if not taken:
        return None
    return ThemeRun.objects.select_related("project").get(pk=run_id)


def theme_run_heartbeat(*, run_id: int, worker_id: str, progress: int | None = None) -> bool:
    """Renew this worker's lease (and record progress). False when the lease was lost."""
    changes = {"lease_expires_at": timezone.now() + timedelta(seconds=lease_seconds())}
    if progress is not None:
        changes["progress"] = max(0, min(99, int(progress)))
    return bool(
        ThemeRun.objects.filter(pk=run_id, worker_id=worker_id, status=RunStatus.RUNNING).update(
            **changes
        )
    )


def _set_progress(run_id: int, percent: int, worker_id: str) -> None:
    if not theme_run_heartbeat(run_id=run_id, worker_id=worker_id, progress=percent):
        raise LeaseLost(run_id)


@contextmanager
def _lease_kept(run_id: int, worker_id: str):
    """Renew the lease from a second thread while the engine works (a fit of a large
    project takes minutes and reports no progress); stops when the block ends."""
    stop = threading.Event()

    def renew():
        from django.db import connection

        while not stop.wait(max(1.0, lease_seconds() / 3)):
            try:
                theme_run_heartbeat(run_id=run_id, worker_id=worker_id)
            except Exception:  # noqa: BLE001 — the next tick tries again
                logger.exception("Could not renew the lease of theme run %s", run_id)
            finally:
                connection.close()

    thread = threading.Thread(target=renew, name=f"theme-run-{run_id}-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _fail_if_exhausted(run: ThemeRun) -> bool:
    """A running run whose lease ran out after its last try: nobody will take it again, so
    it ends as failed, with a plain message."""
    if run.status != RunStatus.RUNNING or run.attempts < run.max_attempts:
        return False
    now = timezone.now()
    ended = (
        ThemeRun.objects.filter(pk=run.pk, attempts__gte=F("max_attempts"))
        .filter(_lease_lapsed(now))
        .update(
            status=RunStatus.FAILED,
            message=STOPPED_MESSAGE.format(attempts=run.attempts),
            error=f"The worker stopped (its lease ran out) {run.attempts} times.",
            progress=100,
            finished_at=now,
            lease_expires_at=None,
        )
    )
    if ended:
        log(instance=run, action="storyloom.themes.run_failed", data={"run": run.pk})
    return bool(ended)


def theme_run_requeue_expired() -> list[int]:
    """Put back on the queue every running theme run whose worker stopped renewing its
    lease (the worker died, or its machine did); runs that have had all their tries are
    marked failed. Run by every worker when it starts and then now and again
    (themes.apps), and when someone asks for themes again (theme_run_start)."""
    now = timezone.now()
    requeued = []
    for run in ThemeRun.objects.filter(_lease_lapsed(now)):
        if _fail_if_exhausted(run):
            continue
        with transaction.atomic():
            taken = (
                ThemeRun.objects.filter(pk=run.pk)
                .filter(_lease_lapsed(now))
                .update(status=RunStatus.QUEUED, worker_id="", lease_expires_at=None)
            )
            if taken:
                _enqueue_on_commit(run.pk)
                requeued.append(run.pk)
    return requeued


def theme_run_execute(*, run_id: int, engine=None, worker_id: str | None = None) -> ThemeRun | None:
    """Take a queued run (or one whose worker died) and do it: passages → engine.fit →
    themes and assignments stored in one transaction, matched to the previous run with
    people's decisions replayed.

    Too little material ends the run as done, with a plain message and no themes (the
    previous themes stay current). Any other error ends it as failed, with a plain message
    for people and the detail for a data steward. Safe to call twice: a run that is done,
    or held by a live worker, is not taken; a worker that lost its lease stores nothing."""
    worker_id = worker_id or default_worker_id()
    run = theme_run_claim(run_id=run_id, worker_id=worker_id)
    if run is None:
        found = ThemeRun.objects.filter(pk=run_id).first()
        if found is not None and _fail_if_exhausted(found):
            found.refresh_from_db()
        return found
    try:
        segments = list(selectors.analysis_segments(project=run.project))
        _set_progress(run.pk, 5, worker_id)
        with _lease_kept(run.pk, worker_id):
            engine = engine or get_engine()
            if not segments:
                raise _not_enough_material_class()("There is nothing to analyse yet.")
            passages = _passages(segments)
            _set_progress(run.pk, 10, worker_id)
            result = engine.fit([p.text for p in passages], seed=42)
        _set_progress(run.pk, 80, worker_id)
        _store_run(run, segments, passages, result, engine=engine, worker_id=worker_id)
    except LeaseLost:
        logger.warning("Theme run %s: lease lost by %s; another worker has it.", run_id, worker_id)
    except _StoryWithdrawn:
        if _finish(run, RunStatus.DONE, message=WITHDRAWN_MESSAGE, worker_id=worker_id):
            if selectors.analysis_segments(project=run.project).exists():
                theme_run_start(project=run.project, user=None)
    except Exception as error:  # noqa: BLE001 — every failure must end in a clear state
        try:
            too_little = isinstance(error, _not_enough_material_class())
        except ImportError:
            too_little = False
        if too_little:
            _finish(
                run,
                RunStatus.DONE,
                message=TOO_LITTLE_MESSAGE,
                error=str(error),
                worker_id=worker_id,
            )
        else:
            logger.exception("Theme run %s failed", run_id)
            _finish(
                run,
                RunStatus.FAILED,
                message=FAILED_MESSAGE,
                error=f"{type(error).__name__}: {error}"[:4000],
                worker_id=worker_id,
            )
    return ThemeRun.objects.filter(pk=run_id).first()


def _finish(run: ThemeRun, status: str, *, message: str, error: str = "", worker_id: str) -> bool:
    ended = ThemeRun.objects.filter(
        pk=run.pk, worker_id=worker_id, status=RunStatus.RUNNING
    ).update(
        status=status,
        message=message,
        error=error,
        progress=100,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if ended:
        log(instance=run, action=f"storyloom.themes.run_{status}", data={"run": run.pk})
    return bool(ended)


def _segment_members(passages, topics, distributions) -> dict[int, dict[int, float]]:
    """theme key → {segment id: probability}: each passage's own theme, and every other
    theme its distribution names (the engine keeps only those above its membership
    threshold), for each segment of the passage."""
    members: dict[int, dict[int, float]] = defaultdict(dict)
    for i, passage in enumerate(passages):
        dist = {int(k): float(p) for k, p in distributions[i]}
        primary = int(topics[i])
        chosen = {k: p for k, p in dist.items() if k >= 0}
        if primary >= 0:
            chosen[primary] = max(dist.get(primary, 0.0), chosen.get(primary, 0.0)) or 1.0
        for key, probability in chosen.items():
            for segment_id in passage.segment_ids:
                previous = members[key].get(segment_id, 0.0)
                members[key][segment_id] = max(previous, probability)
    return members


def _as_list(vector) -> list[float]:
    if vector is None:
        return []
    return [round(float(x), 6) for x in list(vector)]


@transaction.atomic
def _store_run(run: ThemeRun, segments, passages, result, *, engine, worker_id: str) -> None:
    project = run.project
    # The project's row orders this against an erasure (themes.erasure): one waits for the
    # other, so an erasure either sees these themes (and removes the story from them) or
    # this run sees that the story may no longer be analysed.
    ProjectPage.objects.select_for_update().filter(pk=project.pk).exists()
    held = (
        ThemeRun.objects.select_for_update()
        .filter(pk=run.pk, worker_id=worker_id, status=RunStatus.RUNNING)
        .exists()
    )
    if not held:
        raise LeaseLost(run.pk)
    used = {s.story_id for s in segments}
    still = set(
        selectors.analysis_segments(project=project)
        .filter(story_id__in=used)
        .order_by()
        .values_list("story_id", flat=True)
        .distinct()
    )
    if used - still:
        raise _StoryWithdrawn
    previous = ThemeRun.objects.select_for_update().filter(project=project, is_current=True).first()
    members = _segment_members(passages, result.topics, result.distributions)
    story_of = {s.pk: s.story_id for s in segments}
    found = {t.key: t for t in result.themes}
    keys = sorted(k for k in members if k in found)
    themes = []
    for key in keys:
        position = found[key].map_position
        themes.append(
            Theme(
                run=run,
                project=project,
                key=key,
                auto_label=str(found[key].label)[:200],
                keywords=[str(word) for word, _ in found[key].keywords][:20],
                map_x=float(position[0]) if position is not None else None,
                map_y=float(position[1]) if position is not None else None,
                centroid=_as_list(_centroid(result.state, key)),
                model_segment_ids=sorted(members[key]),
            )
        )
    Theme.objects.bulk_create(themes)
    themes = list(Theme.objects.filter(run=run).order_by("key"))
    ThemeAssignment.objects.bulk_create(
        ThemeAssignment(
            theme=theme,
            segment_id=segment_id,
            story_id=story_of[segment_id],
            probability=round(probability, 4),
        )
        for theme in themes
        for segment_id, probability in sorted(members[theme.key].items())
    )
    for theme in themes:
        _refresh_stats(theme)
    matched = _match_to_previous(themes, previous)
    _replay(run, engine=engine)
    report = _report(run, matched, previous)
    assigned = {sid for m in members.values() for sid in m}
    if previous is not None:
        ThemeRun.objects.filter(pk=previous.pk).update(is_current=False)
    outliers = len(segments) - len(assigned)
    ThemeRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE,
        progress=100,
        message="",
        error="",
        is_current=True,
        finished_at=timezone.now(),
        story_count=len({s.story_id for s in segments}),
        segment_count=len(segments),
        passage_count=len(passages),
        theme_count=len(themes),
        outlier_count=outliers,
        lease_expires_at=None,
        story_ids=sorted(used),
        quality={
            "segments_in_no_theme": round(outliers / len(segments), 4) if segments else 0,
            "passages_in_no_theme": sum(1 for t in result.topics if t < 0),
            "themes": len(themes),
        },
        parameters=result.parameters,
        versions={
            "engine": result.engine,
            "engine_version": result.engine_version,
            "model": result.model,
            "model_version": result.model_version,
        },
        engine_version=str(result.engine_version)[:200],
        model_version=f"{result.model} {result.model_version}"[:300],
        # Our own engine's state, written and read only by workers: never user input.
        fitted_state=pickle.dumps(result.state, protocol=pickle.HIGHEST_PROTOCOL),
        report=report,
    )
    # A word hidden in one story may still be in another's words: keywords and labels
    # never show it (as the themes export does not).
    themes_hide_redacted_words(project=project, logs=False)
    report = ThemeRun.objects.filter(pk=run.pk).values_list("report", flat=True).first()
    log(instance=run, action="storyloom.themes.run_done", data={"run": run.pk, **(report or {})})


def _centroid(state, key: int):
    rows = [i for i, k in enumerate(list(state.keys)) if int(k) == key]
    return state.centroids[rows[0]] if rows else None


def _refresh_stats(theme: Theme) -> None:
    stats = selectors.theme_stats(theme=theme)
    Theme.objects.filter(pk=theme.pk).update(**stats)
    for name, value in stats.items():
        setattr(theme, name, value)


# --- Matching a new run to the previous one ------------------------------------------------


def _cosine(a: list[float], b: list[float]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _similarity(new: Theme, old: Theme) -> float:
    new_ids, old_ids = set(new.model_segment_ids), set(old.model_segment_ids)
    shared = len(new_ids & old_ids) / max(1, min(len(new_ids), len(old_ids)))
    if new.centroid and old.centroid and len(new.centroid) == len(old.centroid):
        return 0.4 * _cosine(new.centroid, old.centroid) + 0.6 * shared
    return shared


def _match_to_previous(themes: list[Theme], previous: ThemeRun | None) -> dict[int, Theme]:
    """new theme pk → the previous run's theme it continues. Matched themes take over the
    old stable key; the pairing maximises the total similarity (Hungarian)."""
    if previous is None or not themes:
        return {}
    old = list(Theme.objects.filter(run=previous, parent__isnull=True).order_by("key"))
    if not old:
        return {}
    from scipy.optimize import linear_sum_assignment

    scores = [[_similarity(n, o) for o in old] for n in themes]
    rows, cols = linear_sum_assignment([[-s for s in row] for row in scores])
    matched = {}
    for r, c in zip(rows, cols, strict=True):
        if scores[r][c] >= MATCH_THRESHOLD:
            new, before = themes[r], old[c]
            Theme.objects.filter(pk=new.pk).update(
                stable_key=before.stable_key, created_from=before
            )
            new.stable_key, new.created_from = before.stable_key, before
            matched[new.pk] = before
    return matched


def _report(run: ThemeRun, matched: dict[int, Theme], previous: ThemeRun | None) -> dict:
    """Sets each theme's change and says which are new, grown, shrunk and vanished."""
    report = {"new": [], "grown": [], "shrunk": [], "vanished": []}
    if previous is None:
        return {}
    themes = list(Theme.objects.filter(run=run).select_related("merged_into"))
    for theme in themes:
        if not theme.is_active:
            continue
        before = Theme.objects.filter(run=previous, stable_key=theme.stable_key).first()
        if before is None or theme.parent_id is not None and before.split_into:
            change = ThemeChange.NEW
        elif theme.size > before.size:
            change = ThemeChange.GROWN
        elif theme.size < before.size:
            change = ThemeChange.SHRUNK
        else:
            change = ThemeChange.SAME
        Theme.objects.filter(pk=theme.pk).update(change=change)
        if change != ThemeChange.SAME:
            report[change].append(theme.display_label)
    kept = {t.stable_key for t in themes if t.is_active}
    for before in Theme.objects.filter(run=previous).order_by("-size", "key"):
        if before.is_active and before.stable_key not in kept:
            report["vanished"].append(before.display_label)
    return report


# --- Replaying people's decisions -----------------------------------------------------------


def _resolve(run: ThemeRun, key) -> Theme | None:
    """The theme a stable key now stands for in this run (following merges)."""
    theme = Theme.objects.filter(run=run, stable_key=key).first()
    seen = set()
    while theme is not None and theme.merged_into_id and theme.pk not in seen:
        seen.add(theme.pk)
        theme = theme.merged_into
    return theme


def _replay(run: ThemeRun, *, engine) -> None:
    for event in CurationEvent.objects.filter(project_id=run.project_id).order_by(
        "created_at", "pk"
    ):
        try:
            with transaction.atomic():
                _apply(run, event, engine=engine)
        except (ValidationError, _ReplaySkipped) as skipped:
            logger.info("Curation event %s not replayed: %s", event.pk, skipped)


class _ReplaySkipped(Exception):
    pass


def _apply(run: ThemeRun, event: CurationEvent, *, engine) -> None:
    payload = event.payload
    if event.action == CurationAction.MERGE:
        into = _resolve(run, payload["into"])
        parts = [_resolve(run, key) for key in payload["themes"]]
        if into is None:
            raise _ReplaySkipped("the theme merged into is gone")
        for theme in parts:
            if theme is not None and theme.pk != into.pk:
                _merge_one(theme, into)
        _refresh_stats(into)
        return
    if event.action == CurationAction.SPLIT:
        theme = _resolve(run, payload["theme"])
        if theme is None or not theme.is_active:
            raise _ReplaySkipped("the split theme is gone")
        _split(theme, engine=engine, parts=payload["parts"], user=event.user)
        return
    if event.action == CurationAction.MOVE:
        to_theme = _resolve(run, payload["to"])
        # Only a quote that may still be analysed (its story's consent may have narrowed).
        segment = (
            selectors.analysis_segments(project=run.project).filter(pk=payload["segment"]).first()
        )
        if to_theme is None or segment is None:
            raise _ReplaySkipped("the theme or the segment is gone")
        from_theme = _resolve(run, payload["from"]) if payload.get("from") else None
        _move(segment, from_theme, to_theme, user=event.user)
        return
    theme = _resolve(run, payload["theme"])
    if theme is None:
        raise _ReplaySkipped("the theme is gone")
    if event.action == CurationAction.RENAME:
        Theme.objects.filter(pk=theme.pk).update(label=payload["label"])
    elif event.action == CurationAction.DESCRIBE:
        Theme.objects.filter(pk=theme.pk).update(description=payload["description"])
    elif event.action == CurationAction.HIDE:
        Theme.objects.filter(pk=theme.pk).update(hidden=payload["hidden"])
    elif event.action == CurationAction.PIN:
        ThemeAssignment.objects.filter(theme=theme, segment_id=payload["segment"]).update(
            pinned=payload["pinned"]
        )


# --- The operations themselves (shared by people's actions and the replay) -------------------


def _merge_one(theme: Theme, into: Theme) -> None:
    for assignment in list(theme.assignments.all()):
        existing = ThemeAssignment.objects.filter(theme=into, segment_id=assignment.segment_id)
        kept = existing.first()
        if kept is None:
            ThemeAssignment.objects.filter(pk=assignment.pk).update(theme=into)
        else:
            existing.update(
                probability=max(kept.probability, assignment.probability),
                pinned=kept.pinned or assignment.pinned,
            )
            assignment.delete()
    Theme.objects.filter(merged_into=theme).update(merged_into=into)
    Theme.objects.filter(pk=theme.pk).update(merged_into=into)
    theme.merged_into = into
    _refresh_stats(theme)


def _move(segment: Segment, from_theme: Theme | None, to_theme: Theme, *, user) -> None:
    pinned = False
    if from_theme is not None and from_theme.pk != to_theme.pk:
        old = ThemeAssignment.objects.filter(theme=from_theme, segment=segment).first()
        if old is not None:
            pinned = old.pinned
            old.delete()
        _refresh_stats(from_theme)
    ThemeAssignment.objects.update_or_create(
        theme=to_theme,
        segment=segment,
        defaults={
            "story_id": segment.story_id,
            "probability": 1.0,
            "source": AssignmentSource.PERSON,
            "placed_by": user,
            "pinned": pinned,
        },
    )
    _refresh_stats(to_theme)


def _split(theme: Theme, *, engine, parts: list | None = None, k: int = 2, user=None):
    """Re-cluster a theme's segments with the engine into `k` parts (or as many as `parts`,
    the parts of an earlier split being replayed, whose stable keys are reused)."""
    k = len(parts) if parts else k
    assignments = list(theme.assignments.select_related("segment").order_by("segment_id"))
    if len(assignments) < 2 * k:
        raise ValidationError("This theme has too few quotes to split.")
    texts = [selectors.analysis_text(a.segment) for a in assignments]
    try:
        result = engine.fit(texts, seed=42, n_themes=k)
    except Exception as error:  # noqa: BLE001 — too little material, or the like
        raise ValidationError("This theme could not be split: its quotes are too alike.") from error
    topics = [int(t) for t in result.topics]
    groups: dict[int, list[int]] = defaultdict(list)
    for i, topic in enumerate(topics):
        groups[topic].append(i)
    ordered = sorted((g for key, g in groups.items() if key >= 0), key=len, reverse=True)
    if len(ordered) < 2:
        raise ValidationError("This theme could not be split: its quotes are too alike.")
    chosen = ordered[:k]
    for extra in ordered[k:] + [groups.get(-1, [])]:
        chosen[-1].extend(extra)  # the smallest part takes what is left over
    found = {t.key: t for t in result.themes}
    key_of_group = {id(g): key for key, g in groups.items() if key >= 0}
    segment_sets = [{assignments[i].segment_id for i in group} for group in chosen]
    stable_keys = _part_keys(segment_sets, parts)
    created = []
    for number, (group, stable_key) in enumerate(zip(chosen, stable_keys, strict=True), 1):
        engine_key = key_of_group.get(id(group), -1)
        part = Theme.objects.create(
            run=theme.run,
            project=theme.project,
            key=theme.key,
            stable_key=stable_key,
            auto_label=(found[engine_key].label if engine_key in found else "")[:200]
            or f"{theme.display_label} ({number})",
            keywords=[str(w) for w, _ in found[engine_key].keywords][:20]
            if engine_key in found
            else theme.keywords,
            map_x=theme.map_x,
            map_y=theme.map_y,
            centroid=theme.centroid,
            parent=theme,
            model_segment_ids=sorted(segment_sets[number - 1]),
        )
        ThemeAssignment.objects.filter(theme=theme, segment_id__in=segment_sets[number - 1]).update(
            theme=part
        )
        _refresh_stats(part)
        created.append(part)
    Theme.objects.filter(pk=theme.pk).update(split_into=[str(p.stable_key) for p in created])
    theme.split_into = [str(p.stable_key) for p in created]
    _refresh_stats(theme)
    return created


def _part_keys(segment_sets: list[set], parts: list | None) -> list:
    """Stable keys for the parts of a split: new ones, or (replaying) the earlier parts'
    keys, each given to the new part sharing the most segments with it."""
    import uuid

    if not parts:
        return [uuid.uuid4() for _ in segment_sets]
    keys: list = [None] * len(segment_sets)
    free = list(range(len(parts)))
    pairs = sorted(
        (
            (len(s & set(parts[j]["segments"])), i, j)
            for i, s in enumerate(segment_sets)
            for j in range(len(parts))
        ),
        reverse=True,
    )
    for _, i, j in pairs:
        if keys[i] is None and j in free:
            keys[i] = parts[j]["key"]
            free.remove(j)
    return keys


# --- People's actions -------------------------------------------------------------------------


def theme_rename(*, theme: Theme, label: str, user) -> Theme:
    """Give the theme a name in the group's own words (blank: use the automatic label)."""
    _check_curator(user=user, project=theme.project)
    label = " ".join(label.split())[:200]
    with transaction.atomic():
        theme = _check_current(theme)
        Theme.objects.filter(pk=theme.pk).update(label=label)
        _record(
            theme=theme,
            user=user,
            action=CurationAction.RENAME,
            payload={"theme": str(theme.stable_key), "label": label},
            keys=[theme.stable_key],
        )
    theme.label = label
    return theme


def theme_describe(*, theme: Theme, description: str, user) -> Theme:
    _check_curator(user=user, project=theme.project)
    description = description.strip()[:4000]
    with transaction.atomic():
        theme = _check_current(theme)
        Theme.objects.filter(pk=theme.pk).update(description=description)
        _record(
            theme=theme,
            user=user,
            action=CurationAction.DESCRIBE,
            payload={"theme": str(theme.stable_key), "description": description},
            keys=[theme.stable_key],
        )
    theme.description = description
    return theme


def theme_hide(*, theme: Theme, user, hidden: bool = True) -> Theme:
    """Hide a theme (or show it again): it stays, collapsed, and later runs keep it hidden."""
    _check_curator(user=user, project=theme.project)
    with transaction.atomic():
        theme = _check_current(theme)
        Theme.objects.filter(pk=theme.pk).update(hidden=hidden)
        _record(
            theme=theme,
            user=user,
            action=CurationAction.HIDE,
            payload={"theme": str(theme.stable_key), "hidden": hidden},
            keys=[theme.stable_key],
        )
    theme.hidden = hidden
    return theme


def theme_merge(*, themes: list[Theme], into: Theme, user) -> Theme:
    """Merge themes into one: their quotes join `into`, and they are no longer shown."""
    _check_curator(user=user, project=into.project)
    with transaction.atomic():
        into = _check_current(into)
        others = [_check_current(t) for t in themes if t.pk != into.pk]
        if not others:
            raise ValidationError("Choose at least one other theme to merge.")
        if any(t.run_id != into.run_id for t in others):
            raise ValidationError(STALE_MESSAGE)
        for theme in others:
            _merge_one(theme, into)
        _refresh_stats(into)
        keys = [str(t.stable_key) for t in others]
        _record(
            theme=into,
            user=user,
            action=CurationAction.MERGE,
            payload={"into": str(into.stable_key), "themes": keys},
            keys=[into.stable_key, *keys],
        )
    return into


def theme_split(*, theme: Theme, user, k: int = 2, engine=None) -> list[Theme]:
    """Split a theme in `k` by re-clustering its quotes with the engine (runs in a worker:
    see theme_split_start)."""
    _check_curator(user=user, project=theme.project)
    if not 2 <= k <= 6:
        raise ValidationError("A theme can be split into 2 to 6 parts.")
    engine = engine or get_engine()
    with transaction.atomic():
        # Ordered against an erasure (themes.erasure), which takes the same lock.
        ProjectPage.objects.select_for_update().filter(pk=theme.project_id).exists()
        theme = _check_current(theme)
        parts = _split(theme, engine=engine, k=k, user=user)
        _record(
            theme=theme,
            user=user,
            action=CurationAction.SPLIT,
            payload={
                "theme": str(theme.stable_key),
                "parts": [
                    {"key": str(p.stable_key), "segments": p.model_segment_ids} for p in parts
                ],
            },
            keys=[theme.stable_key, *[p.stable_key for p in parts]],
        )
    return parts


def theme_split_start(*, theme: Theme, user, k: int = 2) -> None:
    """The admin's "split": the engine runs in a worker (the web process never loads it)."""
    _check_curator(user=user, project=theme.project)
    _check_current(theme)
    from themes import tasks

    user_id = getattr(user, "pk", None)
    transaction.on_commit(
        lambda: tasks.split_theme_task.enqueue(theme_id=theme.pk, user_id=user_id, k=k)
    )


def assignment_move(*, segment: Segment, from_theme: Theme | None, to_theme: Theme, user):
    """Move a quote (segment) from one theme to another; a person's placement is kept by
    later runs."""
    _check_curator(user=user, project=to_theme.project)
    with transaction.atomic():
        to_theme = _check_current(to_theme)
        if from_theme is not None:
            from_theme = _check_current(from_theme)
            if from_theme.run_id != to_theme.run_id:
                raise ValidationError(STALE_MESSAGE)
        if not selectors.analysis_segments(project=to_theme.project).filter(pk=segment.pk).exists():
            raise ValidationError("This quote cannot be used in themes.")
        _move(segment, from_theme, to_theme, user=user)
        payload = {
            "segment": segment.pk,
            "from": str(from_theme.stable_key) if from_theme else None,
            "to": str(to_theme.stable_key),
        }
        _record(
            theme=to_theme,
            user=user,
            action=CurationAction.MOVE,
            payload=payload,
            keys=[k for k in (payload["from"], payload["to"]) if k],
        )
    return to_theme


def _pin(*, theme: Theme, segment: Segment, user, pinned: bool) -> ThemeAssignment:
    _check_curator(user=user, project=theme.project)
    with transaction.atomic():
        theme = _check_current(theme)
        assignment = ThemeAssignment.objects.filter(theme=theme, segment=segment).first()
        if assignment is None:
            raise ValidationError("This quote is not part of this theme.")
        ThemeAssignment.objects.filter(pk=assignment.pk).update(pinned=pinned)
        _record(
            theme=theme,
            user=user,
            action=CurationAction.PIN,
            payload={"theme": str(theme.stable_key), "segment": segment.pk, "pinned": pinned},
            keys=[theme.stable_key],
        )
    assignment.pinned = pinned
    return assignment


def quote_pin(*, theme: Theme, segment: Segment, user) -> ThemeAssignment:
    """Pin a quote: it is shown first for the theme, in this run and later ones."""
    return _pin(theme=theme, segment=segment, user=user, pinned=True)


def quote_unpin(*, theme: Theme, segment: Segment, user) -> ThemeAssignment:
    return _pin(theme=theme, segment=segment, user=user, pinned=False)


# --- New stories join the current themes ------------------------------------------------------


def story_assign_incremental(*, story_id: int, engine=None) -> int:
    """Place the current transcript's segments of one story in the current run's themes,
    with `engine.assign` (no refit). Only for stories in the analysis set; a person's
    placements are left alone. Returns how many segments were placed."""
    segments = list(
        Segment.objects.filter(story_id=story_id, transcript__is_current=True)
        .exclude(text="")
        .select_related("story")
        .order_by("index", "pk")
    )
    if not segments:
        return 0
    project = segments[0].story.get_project()
    if not selectors.analysis_segments(project=project).filter(story_id=story_id).exists():
        return 0
    run = selectors.current_run(project=project)
    if run is None or run.fitted_state is None:
        return 0
    engine = engine or get_engine()
    passages = _passages(segments)
    state = pickle.loads(bytes(run.fitted_state))  # written by our own worker (see _store_run)
    distributions = engine.assign([p.text for p in passages], state)
    topics = []
    for dist in distributions:
        best = max(dist, key=lambda kp: kp[1], default=(-1, 0.0))
        topics.append(int(best[0]))
    members = _segment_members(passages, topics, distributions)
    by_key = {t.key: t for t in Theme.objects.filter(run=run, parent__isnull=True)}
    placed: set[int] = set()
    with transaction.atomic():
        # Ordered against an erasure (themes.erasure), which takes the same lock: the story
        # may have been withdrawn while the engine placed it.
        ProjectPage.objects.select_for_update().filter(pk=project.pk).exists()
        if not selectors.analysis_segments(project=project).filter(story_id=story_id).exists():
            return 0
        if not ThemeRun.objects.filter(pk=run.pk, is_current=True).exists():
            return 0
        ThemeAssignment.objects.filter(
            theme__run=run, story_id=story_id, source=AssignmentSource.MODEL
        ).delete()
        touched = set()
        for key, segment_probs in members.items():
            theme = by_key.get(key)
            while theme is not None and theme.merged_into_id:
                theme = theme.merged_into
            if theme is None or not theme.is_active:
                continue  # a theme people split: its parts were made by hand
            for segment_id, probability in segment_probs.items():
                _, created = ThemeAssignment.objects.get_or_create(
                    theme=theme,
                    segment_id=segment_id,
                    defaults={"story_id": story_id, "probability": round(probability, 4)},
                )
                placed.add(segment_id)
            touched.add(theme.pk)
        for theme in Theme.objects.filter(run=run):
            _refresh_stats(theme)
    log(
        instance=run,
        action="storyloom.themes.assign",
        data={"story": story_id, "segments": len(placed), "themes": sorted(touched)},
    )
    return len(placed)


# --- Hidden words (accepted redactions) ---------------------------------------------------------


def _map_strings(value, change):
    """`value` (JSON: dicts, lists, strings, numbers) with `change` applied to every string."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_map_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, change) for k, v in value.items()}
    return value


def theme_log_entries(*, project: ProjectPage):
    """The audit log entries of the project's themes and theme runs (their label is the
    theme's name when it was logged, their data may hold labels)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    theme_ids = {
        str(pk) for pk in Theme.objects.filter(project=project).values_list("pk", flat=True)
    }
    run_ids = {
        str(pk) for pk in ThemeRun.objects.filter(project=project).values_list("pk", flat=True)
    }
    types = ContentType.objects.get_for_models(Theme, ThemeRun)
    for model, ids in ((Theme, theme_ids), (ThemeRun, run_ids)):
        if not ids:
            continue
        entries = ModelLogEntry.objects.filter(content_type=types[model]).only(
            "pk", "object_id", "label", "data"
        )
        for entry in entries.iterator():
            if entry.object_id in ids:
                yield entry


def _rewrite_log_entries(*, project: ProjectPage, change) -> int:
    from wagtail.models import ModelLogEntry

    changed = 0
    for entry in theme_log_entries(project=project):
        label, data = change(entry.label), _map_strings(entry.data, change)
        if label != entry.label or data != entry.data:
            ModelLogEntry.objects.filter(pk=entry.pk).update(label=label[:255], data=data)
            changed += 1
    return changed


def themes_hide_redacted_words(*, project: ProjectPage, logs: bool = True) -> int:
    """Keywords and automatic labels of the project's themes (of every run), the runs'
    reports and the themes' audit log entries, without any word that an accepted redaction
    hides in one of the project's stories: a keyword with one is dropped, a label shows the
    placeholder instead (as the themes export shows them). Keywords and labels are made
    from many segments at once, so they cannot be redacted span by span. Returns how many
    themes changed. Run when redactions change (receivers) and after each run."""
    from stories.models import StoryPage
    from transcription.redaction import hidden_words, scrub

    hidden = hidden_words(StoryPage.objects.descendant_of(project))
    if not hidden:
        return 0

    def hide(text: str) -> str:
        return scrub(text, hidden)

    changed = 0
    with transaction.atomic():
        themes = Theme.objects.filter(project=project).only("pk", "keywords", "auto_label")
        for theme in themes:
            keywords = [k for k in theme.keywords if hide(str(k)) == str(k)]
            label = hide(theme.auto_label)[:200]
            if keywords != theme.keywords or label != theme.auto_label:
                Theme.objects.filter(pk=theme.pk).update(keywords=keywords, auto_label=label)
                changed += 1
        for run in ThemeRun.objects.filter(project=project).only("pk", "report"):
            report = _map_strings(run.report, hide)
            if report != run.report:
                ThemeRun.objects.filter(pk=run.pk).update(report=report)
        if logs:
            _rewrite_log_entries(project=project, change=hide)
    return changed
