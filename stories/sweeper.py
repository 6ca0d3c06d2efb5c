"""Finding, and on request removing, what a crash can leave behind.

A story's file is stored before its row is committed (services.story_create deletes the file
again when anything fails, but a process killed at that moment, or a commit that fails, can
leave it), and uploads stream to temporary files that a killed process never removes. This
module finds:

- files in private storage that no row points at, older than a grace period (a younger one
  may belong to a transaction that is still running);
- rows whose file is missing from private storage (reported, never changed: a person decides);
- temporary files and folders of ours, older than the grace period, in the temporary folder.

`manage.py sweep_orphans` prints what it finds and removes nothing unless given --delete.
"""

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db.models import FileField

from stories.models import private_storage
from stories.uploads import UPLOAD_TEMP_SUFFIX

logger = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=24)
# Our temporary files (stories.uploads, stories.media.temporary_copy, transcription jobs) all
# start with this; Django's own upload handler's end in ".upload" plus an extension.
TEMP_FILE_PREFIX = "storyloom-"
TEMP_DIR_PREFIXES = ("storyloom-decode-", "storyloom-demo-")


@dataclass
class MissingFile:
    model: str
    pk: str
    name: str


@dataclass
class SweepReport:
    orphan_files: list[str] = field(default_factory=list)
    missing_files: list[MissingFile] = field(default_factory=list)
    temporary: list[Path] = field(default_factory=list)
    deleted: bool = False
    errors: list[str] = field(default_factory=list)


def private_file_fields() -> list[tuple[type, FileField]]:
    """Every file field, in every installed app, whose files live in private storage."""
    found = []
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            if not isinstance(model_field, FileField):
                continue
            if getattr(model_field, "_storage_callable", None) is private_storage or (
                model_field.storage is private_storage()
            ):
                found.append((model, model_field))
    return found


def _referenced() -> dict[str, tuple[str, str]]:
    """name -> (model label, pk) for every row that points at a private file."""
    names = {}
    for model, model_field in private_file_fields():
        rows = (
            model._base_manager.exclude(**{model_field.name: ""})
            .exclude(**{f"{model_field.name}__isnull": True})
            .values_list("pk", model_field.name)
        )
        for pk, name in rows.iterator():
            names[name] = (model._meta.label, str(pk))
    return names


def _stored_names(storage, folder: str = "") -> list[str]:
    folders, files = storage.listdir(folder)
    names = [f"{folder}/{name}" if folder else name for name in files]
    for sub in folders:
        names += _stored_names(storage, f"{folder}/{sub}" if folder else sub)
    return names


def _older_than(storage, name: str, cutoff: datetime) -> bool:
    try:
        modified = storage.get_modified_time(name)
    except (OSError, NotImplementedError):
        return False  # cannot tell its age: leave it
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return modified < cutoff


def _temporary_folder() -> Path:
    return Path(settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir())


def _is_ours(path: Path) -> bool:
    if path.is_symlink():
        return False
    name = path.name
    if path.is_file():
        djangos_upload = name.startswith("tmp") and UPLOAD_TEMP_SUFFIX in name
        return name.startswith(TEMP_FILE_PREFIX) or djangos_upload
    if path.is_dir():
        return name.startswith(TEMP_DIR_PREFIXES)
    return False


def _newest_change(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir():
        for child in path.iterdir():
            newest = max(newest, child.lstat().st_mtime)
    return newest


def find_leftovers(*, grace: timedelta = DEFAULT_GRACE, temp_dir: Path | None = None):
    """What the sweep would remove, without removing anything."""
    report = SweepReport()
    cutoff = datetime.now(UTC) - grace
    storage = private_storage()
    try:
        stored = _stored_names(storage)
    except FileNotFoundError:
        stored = []  # nothing stored yet
    referenced = _referenced()  # after listing: a row committed meanwhile is seen
    report.orphan_files = sorted(
        name for name in stored if name not in referenced and _older_than(storage, name, cutoff)
    )
    stored_set = set(stored)
    report.missing_files = [
        MissingFile(model=label, pk=pk, name=name)
        for name, (label, pk) in sorted(referenced.items())
        if name not in stored_set
    ]
    folder = temp_dir or _temporary_folder()
    if folder.is_dir():
        oldest_allowed = cutoff.timestamp()
        report.temporary = sorted(
            path
            for path in folder.iterdir()
            if _is_ours(path) and _newest_change(path) < oldest_allowed
        )
    return report


def sweep(
    *, grace: timedelta = DEFAULT_GRACE, delete: bool = False, temp_dir: Path | None = None
) -> SweepReport:
    """Find the leftovers, and with `delete` remove the orphan files and temporary ones.
    Each orphan is checked again just before it goes, so a file that a row has come to point
    at in the meantime stays."""
    report = find_leftovers(grace=grace, temp_dir=temp_dir)
    if not delete:
        return report
    storage = private_storage()
    still_orphans = []
    for name in report.orphan_files:
        if name in _referenced_now(name):
            continue
        try:
            storage.delete(name)
            still_orphans.append(name)
        except OSError as error:
            report.errors.append(f"{name}: {error.strerror or error}")
    report.orphan_files = still_orphans
    for path in report.temporary:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as error:
            report.errors.append(f"{path}: {error.strerror or error}")
    report.deleted = True
    logger.warning(
        "Orphan sweep removed %s private files and %s temporary leftovers.",
        len(report.orphan_files),
        len(report.temporary),
    )
    return report


def _referenced_now(name: str) -> set[str]:
    for model, model_field in private_file_fields():
        if model._base_manager.filter(**{model_field.name: name}).exists():
            return {name}
    return set()


def sweep_daily(today) -> str:
    """The daily job (cms.daily): remove what has been orphaned for over a day. A summary
    for the log, with counts only."""
    report = sweep(delete=True)
    return (
        f"removed {len(report.orphan_files)} orphan files and {len(report.temporary)} "
        f"temporary leftovers; {len(report.missing_files)} records miss their file; "
        f"{len(report.errors)} could not be removed"
    )
