"""Erasure: when consent is withdrawn (or a story passes its project's retention period),
remove the story and everything made from it, or, for a narrower withdrawal, only what the
remaining consent no longer covers.

Each app registers a step for what it made (register_erasure_step in its AppConfig.ready);
steps run downstream first (actions, workshops, themes, transcription) and this app's own
step last, because it deletes the story itself. A step is idempotent and runs in its own
transaction together with the ledger entry that records it, so a worker killed half-way is
followed by one that carries on where it stopped.

The same job anonymises a story at the end of its retention period where its project
chose that (kind "anonymise", see ErasureScope and stories_anonymise)."""

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from stories.models import (
    ErasureKind,
    ErasureRequest,
    ErasureStatus,
    StoryPage,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class ErasureScope:
    """What a step is asked to remove: everything of the story (`full`), or what depends on
    the consent scopes in `removed` (for example {"voice"}: clip sound, not clip text).

    `anonymise` (retention, stories.retention): the story stays, without what identifies
    its storyteller. Its `removed` is {"voice"}, so each step does what it does when "no
    voice" is withdrawn (clips lose their sound); transcription makes redactions permanent
    and this app's step strips the story (stories_anonymise)."""

    story_id: int
    full: bool
    removed: frozenset[str]
    anonymise: bool = False

    def lost(self, *scopes: str) -> bool:
        return self.full or bool(self.removed & set(scopes))


# A step returns what it removed, as counts by kind ({"segments": 12, "files": 3}); no
# names, no text.
ErasureStep = Callable[[ErasureScope], dict[str, int]]

_steps: list[tuple[int, str, ErasureStep]] = []


def register_erasure_step(name: str, step: ErasureStep, *, order: int) -> None:
    """`order`: lower runs first. actions 10, workshops 20, themes 30, clips 40,
    transcription 45, stories 90 (the story itself goes last)."""
    if name not in [registered for _, registered, _ in _steps]:
        _steps.append((order, name, step))
        _steps.sort(key=lambda item: (item[0], item[1]))


def erasure_steps() -> list[tuple[str, ErasureStep]]:
    return [(name, step) for _, name, step in _steps]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def erasure_claim(*, request_id: int, worker_id: str) -> ErasureRequest | None:
    """Take the request if it is waiting, or if the worker that had it has stopped renewing
    its lease. Compare-and-set, so two workers never run one request at once."""
    now = timezone.now()
    waiting = Q(status=ErasureStatus.QUEUED) | Q(
        status=ErasureStatus.RUNNING, lease_expires_at__lt=now
    )
    with transaction.atomic():
        request = ErasureRequest.objects.select_for_update().filter(waiting, pk=request_id).first()
        if request is None:
            return None
        if request.attempts >= request.max_attempts:
            request.status = ErasureStatus.FAILED
            request.error = request.error or "It stopped too many times. A developer must look."
            request.save(update_fields=["status", "error"])
            return None
        request.status = ErasureStatus.RUNNING
        request.attempts += 1
        request.worker_id = worker_id
        request.lease_expires_at = now + LEASE
        request.save(update_fields=["status", "attempts", "worker_id", "lease_expires_at"])
        return request


class _LeaseLost(Exception):
    pass


def erasure_run(*, request_id: int, worker_id: str | None = None) -> ErasureRequest | None:
    """Run every step not yet in the ledger, then mark the request done. A failing step
    puts the request back (up to max_attempts); the error recorded names only the step."""
    worker_id = worker_id or default_worker_id()
    request = erasure_claim(request_id=request_id, worker_id=worker_id)
    if request is None:
        return ErasureRequest.objects.filter(pk=request_id).first()
    scope = ErasureScope(
        story_id=request.story_id,
        full=request.kind == ErasureKind.FULL,
        removed=frozenset(request.scopes_removed),
        anonymise=request.kind == ErasureKind.ANONYMISE,
    )
    step_name = ""
    try:
        for step_name, step in erasure_steps():
            if step_name in request.ledger:
                continue
            with transaction.atomic():
                held = (
                    ErasureRequest.objects.select_for_update()
                    .filter(pk=request.pk, worker_id=worker_id, status=ErasureStatus.RUNNING)
                    .first()
                )
                if held is None:
                    raise _LeaseLost
                removed = step(scope) if scope.story_id else {}
                held.ledger[step_name] = {
                    "at": timezone.now().isoformat(),
                    "removed": {k: v for k, v in (removed or {}).items() if v},
                }
                held.lease_expires_at = timezone.now() + LEASE
                held.save(update_fields=["ledger", "lease_expires_at"])
                request = held
        ErasureRequest.objects.filter(pk=request.pk, worker_id=worker_id).update(
            status=ErasureStatus.DONE, finished_at=timezone.now(), lease_expires_at=None, error=""
        )
    except _LeaseLost:
        logger.warning("Erasure %s: another worker has taken it over.", request_id)
    except Exception as error:  # noqa: BLE001 — the request must end in a clear state
        logger.exception("Erasure %s failed in step %s", request_id, step_name)
        _put_back(request.pk, worker_id, f"The step '{step_name}' failed ({type(error).__name__}).")
    return ErasureRequest.objects.filter(pk=request_id).first()


def _put_back(request_id: int, worker_id: str, message: str) -> None:
    with transaction.atomic():
        request = (
            ErasureRequest.objects.select_for_update()
            .filter(pk=request_id, worker_id=worker_id)
            .first()
        )
        if request is None:
            return
        finished = request.attempts >= request.max_attempts
        request.status = ErasureStatus.FAILED if finished else ErasureStatus.QUEUED
        request.error = message
        request.lease_expires_at = None
        request.save(update_fields=["status", "error", "lease_expires_at"])
        if not finished:
            _enqueue_on_commit(request.pk)


def _enqueue_on_commit(request_id: int) -> None:
    from stories.tasks import erasure_run_task

    transaction.on_commit(lambda: erasure_run_task.enqueue(request_id), robust=True)


def erasure_requeue_expired() -> list[int]:
    """Requests whose worker died (lease run out), and requests still waiting a lease
    period after they were made (their task was never queued: the queue was down), go back
    on the queue. Claiming is compare-and-set, so a request queued twice runs once."""
    now = timezone.now()
    stale = ErasureRequest.objects.filter(
        Q(status=ErasureStatus.RUNNING, lease_expires_at__lt=now)
        | Q(status=ErasureStatus.QUEUED, requested_at__lt=now - LEASE)
    ).values_list("pk", flat=True)
    ids = list(stale)
    for request_id in ids:
        _enqueue_on_commit(request_id)
    return ids


# --- This app's own step: the story, its files, consent records and history ---------------


def _delete_file(field_file) -> int:
    """Delete a stored file; a file already gone (a step run twice) is not an error."""
    if not field_file or not field_file.name:
        return 0
    storage, name = field_file.storage, field_file.name
    if storage.exists(name):
        storage.delete(name)
        return 1
    return 0


def stories_erasure_step(scope: ErasureScope) -> dict[str, int]:
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry, Page, PageLogEntry, Revision, WorkflowState
    from wagtail.search.backends import get_search_backends

    from stories.models import Consent, StoryMedia, Storyteller, Visibility

    story = StoryPage.objects.filter(pk=scope.story_id).first()
    if story is None:
        return {}
    if scope.anonymise:
        return stories_anonymise(story)
    if not scope.full:
        if "publish" in scope.removed and story.visibility == Visibility.PUBLIC:
            StoryPage.objects.filter(pk=story.pk).update(visibility=Visibility.TEAM)
            return {"public listing": 1}
        return {}

    removed: dict[str, int] = {}
    # Locked first: a playable copy being made meanwhile waits, then sees the story
    # anonymised and is not kept (transcription.clip_services.story_playable_rerender).
    StoryPage.objects.select_for_update().filter(pk=story.pk).first()
    media = list(StoryMedia.objects.filter(story=story))
    removed["recordings and copies"] = sum(_delete_file(m.file) for m in media)
    consents = list(Consent.objects.filter(story=story))
    removed["consent evidence files"] = sum(_delete_file(c.evidence) for c in consents)
    media_ids = [str(m.pk) for m in media]
    consent_ids = [str(c.pk) for c in consents]
    for model, ids in ((StoryMedia, media_ids), (Consent, consent_ids)):
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model), object_id__in=ids
        ).update(label="Erased", data={})
    StoryMedia.objects.filter(story=story).delete()
    removed["consent versions"] = Consent.objects.filter(story=story).delete()[0]

    page_type = ContentType.objects.get_for_model(Page)
    removed["revisions"] = Revision.objects.filter(
        base_content_type=page_type, object_id=str(story.pk)
    ).delete()[0]
    WorkflowState.objects.filter(base_content_type=page_type, object_id=str(story.pk)).delete()
    for backend in get_search_backends():
        backend.delete(story)
    storyteller_id, story_id = story.storyteller_id, story.pk
    tag_ids = list(story.tagged_items.values_list("tag_id", flat=True))
    story.delete()
    removed["stories"] = 1
    removed["tags no longer used"] = _delete_unused_tags(tag_ids)
    _compact_sqlite_search_index()
    # Who opened what, and when, stays in the audit log (including the deletion itself);
    # what the story was called does not.
    PageLogEntry.objects.filter(page_id=story_id).update(label="Erased story", data={})
    storyteller = Storyteller.objects.filter(pk=storyteller_id).first()
    if storyteller is not None and not storyteller.stories.exists():
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Storyteller),
            object_id=str(storyteller.pk),
        ).update(label="Erased", data={})
        storyteller.delete()
        removed["storytellers with no other story"] = 1
    return removed


def _delete_unused_tags(tag_ids: list[int]) -> int:
    """Tags are shared, so deleting a story leaves its tags behind; one that nothing else
    uses any more (a reporter may have tagged the story with its storyteller's words) goes."""
    from taggit.models import Tag

    unused = Tag.objects.filter(pk__in=tag_ids)
    for relation in Tag._meta.related_objects:  # every kind of tagged item
        unused = unused.filter(**{f"{relation.name}__isnull": True})
    return unused.delete()[0]


def _compact_sqlite_search_index() -> None:
    """SQLite's full-text index (FTS5) keeps the words of deleted entries in its b-tree
    until its segments are merged; merge them now, so the story's words leave it too."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    from wagtail.search import models as search_models

    fts = getattr(search_models, "SQLiteFTSIndexEntry", None)
    if fts is None or fts._meta.db_table not in connection.introspection.table_names():
        return
    table = connection.ops.quote_name(fts._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


# --- Anonymising (retention) -------------------------------------------------------------------


# The audit log entries of an anonymised story keep who did what and when; their labels
# and data (old titles, revision details) go, except these, which hold no personal data.
_LOG_DATA_KEPT = {"storyloom.erasure.request"}  # a reference and a kind


def stories_anonymise(story: StoryPage) -> dict[str, int]:
    """The story stays, no longer about an identifiable person: its words (as redacted;
    transcription's step, which runs first, made that permanent) keep informing themes,
    packs and actions. What goes: every recording, copy and still (a voice or a face
    identifies); consent evidence files and notes (the consent versions, with what was
    agreed, when and how, stay); the link to the storyteller (a placeholder takes their
    place, and the storyteller record goes when no other story has it); the summary, place,
    date, tags, title and SEO text people typed; earlier versions, comments and workflow
    history; names and titles in the audit log. Runs in one transaction with its ledger
    entry, so it happens whole or not at all."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Comment, Page, PageLogEntry, Revision, WorkflowState
    from wagtail.search.backends import get_search_backends

    from stories.models import Consent, StoryMedia, Storyteller

    removed: dict[str, int] = {}
    # Locked first: a playable copy being made meanwhile waits, then sees the story
    # anonymised and is not kept (transcription.clip_services.story_playable_rerender).
    StoryPage.objects.select_for_update().filter(pk=story.pk).first()
    media = list(StoryMedia.objects.filter(story=story))
    removed["recordings and copies"] = sum(_delete_file(m.file) for m in media)
    _forget_log_entries(StoryMedia, [m.pk for m in media])
    StoryMedia.objects.filter(story=story).delete()

    consents = Consent.objects.filter(story=story)
    removed["consent evidence files"] = sum(_delete_file(c.evidence) for c in consents)
    _forget_log_entries(Consent, list(consents.values_list("pk", flat=True)))
    # Consent versions are never rewritten through save(); an update keeps the evidence of
    # what was agreed and drops the scanned form and the free-text note (they name people).
    consents.update(evidence="", evidence_original_name="", evidence_content_type="", note="")

    previous_id = story.storyteller_id
    placeholder, _ = Storyteller.objects.get_or_create(
        project=story.get_project(), pseudonym=f"Anonymous (story {story.pk})"
    )
    story.storyteller = placeholder

    tag_ids = list(story.tagged_items.values_list("tag_id", flat=True))
    story.tags.clear()
    story.title = story.draft_title = f"Anonymised story {story.pk}"
    story.slug = f"anonymised-story-{story.pk}"
    story.seo_title = story.search_description = ""
    story.summary = story.location = story.media_message = ""
    story.recorded_on = None
    story.anonymised_at = story.anonymised_at or timezone.now()
    story.save(clean=False)
    removed["tags no longer used"] = _delete_unused_tags(tag_ids)

    previous = Storyteller.objects.filter(pk=previous_id).exclude(pk=placeholder.pk).first()
    if previous is not None:
        removed["storyteller links"] = 1
        if not previous.stories.exists():
            _forget_log_entries(Storyteller, [previous.pk])
            previous.delete()
            removed["storytellers with no other story"] = 1

    # Earlier versions hold the old title, summary and storyteller: one version of the
    # anonymised page takes their place, so the editor keeps working.
    page_type = ContentType.objects.get_for_model(Page)
    revisions = Revision.objects.filter(base_content_type=page_type, object_id=str(story.pk))
    removed["earlier versions"] = revisions.delete()[0]
    WorkflowState.objects.filter(base_content_type=page_type, object_id=str(story.pk)).delete()
    removed["comments"] = Comment.objects.filter(page=story).delete()[0]
    revision = story.save_revision(clean=False, log_action=False)
    StoryPage.objects.filter(pk=story.pk).update(
        has_unpublished_changes=not story.live,
        live_revision=revision if story.live else None,
    )

    for backend in get_search_backends():
        backend.add(story)
    _compact_sqlite_search_index()
    entries = PageLogEntry.objects.filter(page_id=story.pk)
    entries.update(label=story.title)
    entries.exclude(action__in=_LOG_DATA_KEPT).update(data={})
    return removed


def _forget_log_entries(model, ids) -> None:
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    if ids:
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=[str(pk) for pk in ids],
        ).update(label="Erased", data={})
