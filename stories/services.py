"""Every write to stories, storytellers and consent. Keyword-only; each logs to the audit log."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils.text import slugify
from wagtail.log_actions import log

from cms.models import ProjectPage
from cms.roles import Role
from cms.selectors import can_report_in, project_roles_for_user
from stories import media as media_checks
from stories.consent import SCRIPT_VERSION
from stories.models import (
    CONSENT_SCOPES,
    Consent,
    ConsentMethod,
    ErasureKind,
    ErasureRequest,
    MediaState,
    StoryIndexPage,
    StoryKind,
    StoryMedia,
    StoryPage,
    Storyteller,
    StorytellerRole,
    Visibility,
    private_storage,
)
from stories.signals import story_media_added


@dataclass
class ConsentInput:
    scopes: set[str]
    method: str = ConsentMethod.WRITTEN
    script_version: str = SCRIPT_VERSION
    evidence: File | None = None
    note: str = ""


@dataclass
class StoryInput:
    title: str
    storyteller: Storyteller
    storyteller_role: str = StorytellerRole.SERVICE_USER
    language: str = "en"
    summary: str = ""
    recorded_on: date | None = None
    location: str = ""
    visibility: str = Visibility.TEAM
    tags: list[str] = field(default_factory=list)


def parse_scopes(value: str) -> set[str]:
    """'record transcribe', 'all' or '' into a set of scopes; unknown words are an error."""
    words = set(value.replace(",", " ").lower().split())
    if words == {"all"}:
        return set(CONSENT_SCOPES)
    unknown = words - set(CONSENT_SCOPES)
    if unknown:
        raise ValidationError(
            f"Unknown consent scope: {', '.join(sorted(unknown))}. "
            f"Use {', '.join(CONSENT_SCOPES)} or 'all'."
        )
    return words


def _local_path(upload: File, stack: list) -> Path:
    """A path on disk for a file: uploads already streamed to a temporary file keep theirs."""
    # Never the file's name: that is metadata, often the uploader's own words.
    if hasattr(upload, "temporary_file_path"):
        return Path(upload.temporary_file_path())
    path = media_checks.temporary_copy(upload)
    stack.append(path)
    return path


@contextmanager
def _private_files():
    """Yields (stored, temporary) lists for the caller to fill: private files it stored
    are deleted again if anything fails (a rollback does not remove files), and temporary
    copies are always removed."""
    stored: list[str] = []
    temporary: list[Path] = []
    try:
        yield stored, temporary
    except BaseException:
        for name in stored:
            private_storage().delete(name)
        raise
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)


def _check_can_report(*, user, project: ProjectPage) -> None:
    if not can_report_in(user=user, project=project):
        raise PermissionDenied("You are not a reporter in this project.")


@transaction.atomic
def storyteller_create(
    *,
    project: ProjectPage,
    pseudonym: str,
    user,
    age_band: str = "",
    gender: str = "",
    contact_details: str = "",
) -> Storyteller:
    _check_can_report(user=user, project=project)
    pseudonym = pseudonym.strip()
    if not pseudonym:
        raise ValidationError("Please give the storyteller a made-up name.")
    if contact_details and not project.allow_storyteller_contact:
        raise ValidationError("This project does not keep storytellers' contact details.")
    storyteller = Storyteller.objects.create(
        project=project,
        pseudonym=pseudonym,
        age_band=age_band,
        gender=gender,
        contact_details=contact_details,
        created_by=user,
    )
    # Labelled by number: the audit log outlives the storyteller's consent, and a
    # "made-up" name is sometimes the storyteller's own.
    log(
        instance=storyteller,
        action="wagtail.create",
        user=user,
        title=f"Storyteller {storyteller.pk}",
    )
    return storyteller


STORYTELLER_EDITABLE = ("pseudonym", "age_band", "gender", "contact_details")


@transaction.atomic
def storyteller_update(*, storyteller: Storyteller, user, **fields) -> Storyteller:
    """Change a storyteller's details (a data steward, or the reporter who added them).
    Contact details can only be added or changed where the project allows them; they can
    always be removed."""
    unknown = set(fields) - set(STORYTELLER_EDITABLE)
    if unknown:
        raise ValueError(f"These storyteller fields cannot be changed: {sorted(unknown)}")
    project = storyteller.project
    roles = project_roles_for_user(user=user, project=project)
    if Role.STEWARD not in roles and not (
        Role.REPORTER in roles and storyteller.created_by_id == user.pk
    ):
        raise PermissionDenied("Only a data steward can change this storyteller.")
    current = Storyteller.objects.select_for_update().get(pk=storyteller.pk)
    errors = {}
    if "pseudonym" in fields:
        fields["pseudonym"] = (fields["pseudonym"] or "").strip()
        if not fields["pseudonym"]:
            errors["pseudonym"] = "Please give the storyteller a made-up name."
        elif (
            Storyteller.objects.filter(project=project, pseudonym__iexact=fields["pseudonym"])
            .exclude(pk=current.pk)
            .exists()
        ):
            errors["pseudonym"] = "Another storyteller in this project already has this name."
    contact = (fields.get("contact_details") or "").strip()
    if (
        "contact_details" in fields
        and contact
        and contact != current.contact_details
        and not project.allow_storyteller_contact
    ):
        errors["contact_details"] = (
            "This project does not keep storytellers' contact details. "
            "Leave this box empty, or ask a data steward to allow contact details."
        )
    if errors:
        raise ValidationError(errors)
    if "contact_details" in fields:
        fields["contact_details"] = contact
    changed = [name for name, value in fields.items() if getattr(current, name) != value]
    for name in changed:
        setattr(current, name, fields[name])
    if changed:
        current.save(update_fields=changed)
        log(instance=current, action="wagtail.edit", user=user, data={"fields": changed})
    return current


def storyteller_get_or_create(*, project: ProjectPage, pseudonym: str, user) -> Storyteller:
    existing = Storyteller.objects.filter(project=project, pseudonym__iexact=pseudonym.strip())
    return existing.first() or storyteller_create(project=project, pseudonym=pseudonym, user=user)


def _story_index(project: ProjectPage) -> StoryIndexPage:
    index = StoryIndexPage.objects.child_of(project).first()
    if index is None:
        index = StoryIndexPage(title="Stories", slug="stories")
        project.add_child(instance=index)
        index.save_revision().publish()
    return index


def _save_private(field_file, source: Path, name: str, stored: list[str]) -> None:
    with source.open("rb") as handle:
        field_file.save(name, File(handle), save=False)
    stored.append(field_file.name)


def _create_consent(
    *,
    story: StoryPage,
    consent: ConsentInput,
    user,
    version: int,
    stored: list[str],
    temporary: list[Path],
    is_withdrawal=False,
) -> Consent:
    unknown = set(consent.scopes) - set(CONSENT_SCOPES)
    if unknown:
        raise ValidationError(f"Unknown consent scope: {', '.join(sorted(unknown))}.")
    if consent.method not in ConsentMethod.values:
        raise ValidationError(
            {"consent_method": "Please say how consent was given: written or spoken."}
        )
    record = Consent(
        story=story,
        version=version,
        method=consent.method,
        script_version=consent.script_version,
        note=consent.note,
        recorded_by=user,
        is_withdrawal=is_withdrawal,
        **{scope: scope in consent.scopes for scope in CONSENT_SCOPES},
    )
    if consent.evidence is not None:
        path = _local_path(consent.evidence, temporary)
        if path.stat().st_size == 0:
            raise ValidationError({"consent_evidence": "The consent evidence file is empty."})
        try:
            kind = _evidence_kind(path)
        except ValidationError as error:
            raise ValidationError({"consent_evidence": error.messages}) from None
        record.evidence_original_name = (getattr(consent.evidence, "name", "") or "")[-255:]
        record.evidence_content_type = kind[0]
        _save_private(record.evidence, path, Consent.generate_evidence_name(kind[1]), stored)
    record.save()
    log(
        instance=story,
        action="storyloom.consent.withdraw" if is_withdrawal else "storyloom.consent.record",
        user=user,
        data={"version": version, "scopes": sorted(record.scopes)},
    )
    return record


def _evidence_kind(path: Path) -> tuple[str, str]:
    """Consent evidence is a signed form (PDF, JPEG, PNG) or a recording."""
    head = path.open("rb").read(8)
    if head.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    info = media_checks.probe_media(path)
    return info.content_type, info.extension


def story_create(
    *,
    project: ProjectPage,
    reporter,
    story: StoryInput,
    consent: ConsentInput,
    recording: File | None = None,
    text: str = "",
    submit: bool = False,
) -> StoryPage:
    """Create a draft story with its recording (or text) and its first consent — and, with
    `submit`, send it to the data steward — all or nothing: if anything fails, no page,
    row or stored file is left behind.

    The recording's type is found from its content; a story needs consent to be recorded.
    ValidationErrors name the input they are about (title, storyteller, recording,
    visibility, consent_record, consent_method, consent_evidence).
    """
    _check_can_report(user=reporter, project=project)
    errors = {}
    if "record" not in consent.scopes:
        errors["consent_record"] = (
            "The storyteller must agree to the recording before a story can be kept."
        )
    if story.visibility == Visibility.PUBLIC and "publish" not in consent.scopes:
        errors["visibility"] = (
            "The story cannot be public: the storyteller did not agree to share their words "
            "publicly."
        )
    if story.storyteller.project_id != project.pk:
        errors["storyteller"] = "This storyteller belongs to another project."
    if not story.title.strip():
        errors["title"] = "Please give the story a title."
    if (recording is None) == (not text.strip()):
        errors["recording"] = "Please add a recording, or type the story, but not both."
    if errors:
        raise ValidationError(errors)

    with _private_files() as (stored, temporary):
        info = None
        if recording is not None:
            path = _local_path(recording, temporary)
            try:
                info = media_checks.probe_media(path)
            except ValidationError as error:
                raise ValidationError({"recording": error.messages}) from None
        with transaction.atomic():
            page = StoryPage(
                title=story.title.strip()[:255],
                slug=slugify(story.title)[:40] or "story",
                summary=story.summary,
                storyteller=story.storyteller,
                reporter=reporter,
                owner=reporter,
                recorded_on=story.recorded_on,
                location=story.location,
                language=story.language,
                storyteller_role=story.storyteller_role,
                visibility=story.visibility,
                kind=(StoryKind.VIDEO if info.has_video else StoryKind.AUDIO)
                if info
                else StoryKind.TEXT,
                text_body=text.strip(),
                live=False,
            )
            page.slug = _unique_slug(page.slug)
            page.tags.set([t.strip() for t in story.tags if t.strip()])
            _story_index(project).add_child(instance=page)
            if info is not None:
                _attach_recording(
                    page=page,
                    path=path,
                    info=info,
                    user=reporter,
                    original_name=getattr(recording, "name", ""),
                    stored=stored,
                )
            _create_consent(
                story=page,
                consent=consent,
                user=reporter,
                version=1,
                stored=stored,
                temporary=temporary,
            )
            page.save_revision(user=reporter, log_action=True)
            if submit:
                story_submit(story=page, user=reporter)
        return page


def _unique_slug(base: str) -> str:
    slug, n = base, 1
    while StoryPage.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _attach_recording(*, page, path: Path, info, user, original_name: str, stored) -> StoryMedia:
    item = StoryMedia(
        story=page,
        role=StoryMedia.Role.RECORDING,
        original_name=(original_name or "")[-255:],
        content_type=info.content_type,
        container=info.container,
        size=path.stat().st_size,
        sha256=media_checks.sha256_of(path),
        duration_seconds=info.duration_seconds,
        has_video=info.has_video,
        created_by=user,
    )
    _save_private(item.file, path, StoryMedia.generate_name(info.extension), stored)
    item.save()
    return item


def story_media_replace_derived(
    *, story: StoryPage, role: str, path: Path, content_type: str, duration: float | None = None
) -> StoryMedia:
    """Store a file made from the story's recording (the browser-playable copy, a video's
    still picture), replacing the previous one of that kind."""
    if role not in (StoryMedia.Role.PLAYABLE, StoryMedia.Role.POSTER):
        raise ValueError(f"{role} is not a derived kind of media.")
    path = Path(path)
    extension = path.suffix.lstrip(".").lower() or "bin"
    with _private_files() as (stored, _temporary), transaction.atomic():
        old = list(story.media.filter(role=role))
        item = StoryMedia(
            story=story,
            role=role,
            content_type=content_type,
            container=extension,
            size=path.stat().st_size,
            sha256=media_checks.sha256_of(path),
            duration_seconds=duration,
            has_video=content_type.startswith("video/"),
        )
        _save_private(item.file, path, StoryMedia.generate_name(extension), stored)
        item.save()
        for previous in old:
            name = previous.file.name
            previous.delete()
            transaction.on_commit(lambda name=name: private_storage().delete(name))
    return item


@transaction.atomic
def story_submit(*, story: StoryPage, user, wait: bool = False) -> StoryPage:
    """Send a draft story to the data steward for approval, and announce its recording."""
    if story.reporter_id != user.pk and Role.STEWARD not in project_roles_for_user(
        user=user, project=story.get_project()
    ):
        raise PermissionDenied("Only the story's reporter can submit it.")
    consent = story.current_consent
    if consent is None or not consent.record:
        raise ValidationError("This story has no consent to be recorded, so it cannot be sent.")
    if story.workflow_in_progress:
        return story
    revision = story.latest_revision or story.save_revision(user=user)
    workflow = story.get_workflow()
    if workflow is None:
        raise ValidationError("No approval workflow is set up. Ask your data steward.")
    workflow.start(story, user)
    _announce_media(story=story, wait=wait)
    log(instance=story, action="storyloom.story.submit", user=user, revision=revision)
    return story


def _announce_media(*, story: StoryPage, wait: bool) -> None:
    """Announce a story's recording (or, for a written story, its text, with media_id None)
    once: the first time it leaves the draft stage."""
    recording = story.media.filter(role=StoryMedia.Role.RECORDING).first()
    if recording is None and not story.text_body.strip():
        return
    first_time = StoryPage.objects.filter(pk=story.pk, media_state=MediaState.NONE).update(
        media_state=MediaState.WAITING
    )
    if not first_time:
        return
    story.media_state = MediaState.WAITING
    transaction.on_commit(
        lambda: story_media_added.send(
            sender=StoryMedia,
            story_id=story.pk,
            media_id=recording.pk if recording else None,
            wait=wait,
        )
    )


@transaction.atomic
def story_approve(*, story: StoryPage, user, wait: bool = False) -> StoryPage:
    """Approve a story for analysis directly (bulk import by a steward): publish it.

    With `wait`, receivers of story_media_added do their work (transcription) in this process.
    """
    if Role.STEWARD not in project_roles_for_user(user=user, project=story.get_project()):
        raise PermissionDenied("Only a data steward can approve stories.")
    revision = story.latest_revision or story.save_revision(user=user)
    revision.publish(user=user)
    _announce_media(story=story, wait=wait)
    return story


def consent_record(*, story: StoryPage, consent: ConsentInput, user) -> Consent:
    """Record a new version of consent (e.g. the storyteller agreed to more)."""
    _check_story_consent_editor(story=story, user=user)
    with _private_files() as (stored, temporary):
        with transaction.atomic():
            version = _next_version(story)
            return _create_consent(
                story=story,
                consent=consent,
                user=user,
                version=version,
                stored=stored,
                temporary=temporary,
            )


@transaction.atomic
def consent_withdraw(
    *,
    story: StoryPage,
    user,
    keep: set[str] = frozenset(),
    note: str = "",
    method: str = ConsentMethod.VERBAL,
) -> Consent:
    """Narrow or withdraw consent: a new version keeping only `keep` of what was given.

    In the same transaction, access to what consent no longer covers ends: without
    "record" the story is withdrawn from everyone at once. An erasure job then removes the
    story and everything made from it, or only what the remaining consent no longer covers
    (stories.erasure)."""
    _check_story_consent_editor(story=story, user=user)
    with transaction.atomic():
        current = story.current_consent
        given = current.scopes if current else set()
        remaining = given & set(keep)
        consent = _create_consent(
            story=story,
            user=user,
            version=_next_version(story),
            stored=[],
            temporary=[],
            is_withdrawal=True,
            consent=ConsentInput(
                scopes=remaining,
                method=method,
                note=note,
                script_version=current.script_version if current else SCRIPT_VERSION,
            ),
        )
        if given - remaining:
            erasure_request_create(
                story=story,
                user=user,
                full="record" not in remaining,
                removed=given - remaining,
            )
    return consent


def erasure_request_create(
    *, story: StoryPage, user, full: bool, removed: set[str], reason: str = "withdrawal"
) -> ErasureRequest:
    """Start an erasure (see stories.erasure). A full one withdraws the story from everyone
    in this transaction; the job runs once it commits."""
    from stories.tasks import erasure_run_task

    with transaction.atomic():
        if full:
            StoryPage.objects.filter(pk=story.pk).update(withdrawn=True, live=False)
        request = ErasureRequest.objects.create(
            story=story,
            project=story.get_project(),
            kind=ErasureKind.FULL if full else ErasureKind.NARROW,
            reason=reason,
            scopes_removed=sorted(removed),
            requested_by=user,
        )
        log(
            instance=story,
            action="storyloom.erasure.request",
            user=user,
            data={"reference": str(request.reference), "kind": request.kind},
        )
        # Robust: the request is already stored; if the queue is down, a worker's sweep
        # (stories.erasure.erasure_requeue_expired) queues it again.
        transaction.on_commit(lambda: erasure_run_task.enqueue(request.pk), robust=True)
    return request


def story_anonymise_request(*, story: StoryPage, user=None, reason: str = "retention"):
    """Start anonymising a story (stories.erasure.stories_anonymise): an ErasureRequest of
    kind "anonymise", run by the erasure job with its ledger, so a worker that dies
    half-way is followed by one that carries on. The story stays visible meanwhile."""
    from stories.tasks import erasure_run_task

    with transaction.atomic():
        request = ErasureRequest.objects.create(
            story=story,
            project=story.get_project(),
            kind=ErasureKind.ANONYMISE,
            reason=reason,
            # What "no voice" removes (recordings' sound in clips) goes too.
            scopes_removed=["voice"],
            requested_by=user,
        )
        log(
            instance=story,
            action="storyloom.erasure.request",
            user=user,
            data={"reference": str(request.reference), "kind": request.kind},
        )
        transaction.on_commit(lambda: erasure_run_task.enqueue(request.pk), robust=True)
    return request


def _next_version(story: StoryPage) -> int:
    # Lock the story's row so that two changes at once cannot take the same number.
    StoryPage.objects.select_for_update().filter(pk=story.pk).first()
    latest = story.consents.order_by("-version").values_list("version", flat=True).first()
    return (latest or 0) + 1


def _check_story_consent_editor(*, story: StoryPage, user) -> None:
    roles = project_roles_for_user(user=user, project=story.get_project())
    if Role.STEWARD in roles:
        return
    if Role.REPORTER in roles and story.reporter_id == user.pk:
        return
    raise PermissionDenied("Only the story's reporter or a data steward can change consent.")
