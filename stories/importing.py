"""Bulk import of stories from files plus a metadata sidecar (CSV or JSON).

The sidecar carries what the files cannot: who told each story, in what role and language,
and what they agreed to. Problems with the sidecar itself (missing or unknown columns) stop
the whole import before anything is written; problems with one file stop that file only.
"""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify
from wagtail.log_actions import log

from cms.models import HomePage, ProjectPage
from cms.roles import ROLE_GROUPS, Role, user_is_steward
from cms.selectors import project_roles_for_user
from cms.services import project_ensure_role_groups
from stories import media as media_checks
from stories import services
from stories.models import (
    LANGUAGES,
    ConsentMethod,
    StoryIndexPage,
    StoryPage,
    StorytellerRole,
    Visibility,
    private_storage,
)

REQUIRED_COLUMNS = ("file", "title", "storyteller", "role", "language", "consent")
OPTIONAL_COLUMNS = (
    "summary",
    "recorded_on",
    "location",
    "tags",
    "visibility",
    "consent_method",
)
SIDECAR_NAMES = ("metadata.csv", "metadata.json")
TEXT_SUFFIXES = {".txt"}


class ImportProblem(Exception):
    """Something that stops the whole import before any story is written."""


@dataclass
class SidecarRow:
    number: int  # as a spreadsheet counts (header is row 1); JSON: position in the list
    values: dict[str, str]

    @property
    def file(self) -> str:
        return self.values.get("file", "").strip()


@dataclass
class Sidecar:
    path: Path
    rows: list[SidecarRow]


@dataclass
class ImportResult:
    file: str
    row: int | None = None
    story: StoryPage | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.story is not None

    def describe(self) -> str:
        where = f"row {self.row}, {self.file}" if self.row is not None else self.file
        if self.ok:
            return f'{where}: imported "{self.story.title}" (story {self.story.pk})'
        return f"{where}: {self.error}"


@dataclass
class ImportReport:
    results: list[ImportResult] = field(default_factory=list)
    skipped: list[ImportResult] = field(default_factory=list)

    @property
    def imported(self) -> list[ImportResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[ImportResult]:
        return [r for r in self.results if not r.ok]


# --- Finding files and the sidecar -------------------------------------------------------


def files_collect(*, paths: list[Path]) -> list[Path]:
    """The files named, and the files under the folders named (sorted, hidden ones left out)."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                relative = item.relative_to(path)
                if item.is_file() and not any(part.startswith(".") for part in relative.parts):
                    found.append(item.resolve())
        elif path.is_file():
            found.append(path.resolve())
        else:
            raise ImportProblem(f"There is no file or folder at {path}.")
    return list(dict.fromkeys(found))


def sidecar_find(*, paths: list[Path], metadata: Path | None) -> Path:
    """The sidecar given with --metadata, or metadata.csv/.json in the one folder given."""
    if metadata is not None:
        metadata = Path(metadata)
        if not metadata.is_file():
            raise ImportProblem(f"There is no metadata file at {metadata}.")
        return metadata.resolve()
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    if len(paths) == 1 and len(folders) == 1:
        present = [folders[0] / name for name in SIDECAR_NAMES if (folders[0] / name).is_file()]
        if len(present) > 1:
            raise ImportProblem(
                "The folder has both metadata.csv and metadata.json. "
                "Keep one, or choose one with --metadata."
            )
        if present:
            return present[0].resolve()
    raise ImportProblem(
        "Each story needs its storyteller's consent: give --metadata FILE (a CSV or JSON "
        "file with a row for each file, saying who told it and what they agreed to), "
        "or put metadata.csv in the folder you import."
    )


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value)  # tags and scopes both split on commas
    return str(value).strip()


def _check_columns(columns: set[str]) -> None:
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    unknown = sorted(columns - known)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    problems = []
    if missing:
        problems.append(f"The metadata is missing these columns: {', '.join(missing)}.")
    if unknown:
        problems.append(f"The metadata has columns we do not know: {', '.join(unknown)}.")
    if problems:
        problems.append(
            f"Columns needed: {', '.join(REQUIRED_COLUMNS)}. "
            f"Columns you may add: {', '.join(OPTIONAL_COLUMNS)}. Nothing was imported."
        )
        raise ImportProblem(" ".join(problems))


def sidecar_read(*, path: Path) -> Sidecar:
    """Read and check a CSV or JSON sidecar. Column problems raise ImportProblem."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblem(
            f"{path.name} is not plain text (UTF-8). Please save it as CSV UTF-8."
        ) from None
    if path.suffix.lower() == ".json":
        rows = _read_json(raw, path.name)
    else:
        rows = _read_csv(raw, path.name)
    return Sidecar(path=path, rows=rows)


def _read_csv(raw: str, name: str) -> list[SidecarRow]:
    reader = csv.reader(io.StringIO(raw, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportProblem(f"{name} is empty. It needs a header row.") from None
    header = [h.strip().lower() for h in header]
    # A spreadsheet often leaves empty columns at the end: they are not columns at all.
    while header and not header[-1]:
        header.pop()
    _check_columns(set(header))
    rows = []
    for index, record in enumerate(reader):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            column: (record[i].strip() if i < len(record) else "")
            for i, column in enumerate(header)
        }
        if any(cell.strip() for cell in record[len(header) :]):
            values["_extra"] = "yes"
        rows.append(SidecarRow(number=index + 2, values=values))
    return rows


def _read_json(raw: str, name: str) -> list[SidecarRow]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ImportProblem(f"{name} is not valid JSON (line {error.lineno}).") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportProblem(f"{name} must be a list of objects, one for each story.")
    columns = {str(key).strip().lower() for item in data for key in item}
    if data:
        _check_columns(columns)
    return [
        SidecarRow(
            number=index + 1,
            values={str(k).strip().lower(): _as_text(v) for k, v in item.items()},
        )
        for index, item in enumerate(data)
    ]


# --- Who imports, and into which project -------------------------------------------------


def import_steward_get(*, username: str | None = None):
    """The data steward the import runs as: the one named, or the only one there is."""
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise ImportProblem(f"There is no user called {username}.")
        if not user_is_steward(user):
            raise ImportProblem(
                f"{username} is not an active data steward. Imported stories count as "
                "approved, so a data steward must run the import."
            )
        return user
    stewards = list(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ROLE_GROUPS[Role.STEWARD]))
        .distinct()[:2]
    )
    if len(stewards) == 1:
        return stewards[0]
    if not stewards:
        raise ImportProblem(
            "There is no data steward yet. Imported stories count as approved, so a data "
            "steward must run the import. Create one first (manage.py createsuperuser)."
        )
    raise ImportProblem(
        "There is more than one data steward. Say which of you is importing: --user USERNAME."
    )


def _title_from_slug(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").strip().capitalize()


@transaction.atomic
def project_create(
    *, slug: str, user=None, title: str = "", organisation: str = "Imported", **fields
) -> ProjectPage:
    """A new project under the home page, with its stories page and role groups."""
    if not slug or slugify(slug) != slug:
        raise ImportProblem(
            f"'{slug}' cannot be a project's short name. Use lower-case letters, "
            "numbers and hyphens, like probation-voices."
        )
    home = HomePage.objects.first()
    if home is None:
        raise ImportProblem("There is no home page. Run manage.py migrate first.")
    project = ProjectPage(
        title=title or _title_from_slug(slug), slug=slug, organisation=organisation, **fields
    )
    home.add_child(instance=project)
    project.save_revision(user=user).publish(user=user)
    index = StoryIndexPage(title="Stories", slug="stories")
    project.add_child(instance=index)
    index.save_revision(user=user).publish(user=user)
    project_ensure_role_groups(project=project)
    log(instance=project, action="wagtail.create", user=user)
    return project


def import_project_get(*, slug: str, create: bool = False, user=None) -> ProjectPage:
    project = ProjectPage.objects.filter(slug=slug).first()
    if project is not None:
        return project
    if not create:
        raise ImportProblem(
            f"There is no project called '{slug}'. Check the name, or add --create-project "
            "to make a new one."
        )
    return project_create(slug=slug, user=user)


# --- One row into one story --------------------------------------------------------------


def _choice(value: str, choices, what: str) -> str:
    wanted = value.strip().lower()
    for code, label in choices:
        if wanted in (code, str(label).lower(), code.replace("_", " "), code.replace("_", "-")):
            return code
    raise ValidationError(
        f"The {what} '{value}' is not one we know. Use one of: "
        f"{', '.join(code for code, _ in choices)}."
    )


def _consent_method(value: str) -> str:
    wanted = value.strip().lower()
    if not wanted:
        return ConsentMethod.WRITTEN
    if wanted in ("verbal", "spoken"):
        return ConsentMethod.VERBAL
    if wanted == "written":
        return ConsentMethod.WRITTEN
    raise ValidationError(
        f"The consent_method '{value}' is not one we know. Use written or verbal."
    )


def _recorded_on(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"The date '{value}' is not a date like 2024-03-31 (year-month-day)."
        ) from None


def _tags(value: str) -> list[str]:
    return [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]


def _inputs(row: SidecarRow, *, storyteller) -> tuple[services.StoryInput, services.ConsentInput]:
    values = row.values
    scopes = services.parse_scopes(values.get("consent", ""))
    visibility = _choice(
        values.get("visibility") or Visibility.TEAM, Visibility.choices, "visibility"
    )
    story = services.StoryInput(
        title=values.get("title", ""),
        storyteller=storyteller,
        storyteller_role=_choice(values.get("role", ""), StorytellerRole.choices, "role"),
        language=_choice(values.get("language", ""), LANGUAGES, "language"),
        summary=values.get("summary", ""),
        recorded_on=_recorded_on(values.get("recorded_on", "")),
        location=values.get("location", "")[:100],
        visibility=visibility,
        tags=_tags(values.get("tags", "")),
    )
    consent = services.ConsentInput(
        scopes=scopes,
        method=_consent_method(values.get("consent_method", "")),
        note=f"Imported from {row.file}",
    )
    return story, consent


def _check_row_values(row: SidecarRow) -> None:
    if "_extra" in row.values:
        raise ValidationError("This row has more values than the header has columns.")
    for column in ("title", "storyteller", "role", "language", "consent"):
        if not row.values.get(column, "").strip():
            raise ValidationError(f"The {column} is missing.")


class _LocalFile(File):
    """A file already on disk: the services read it in place instead of copying it."""

    def __init__(self, path: Path, name: str):
        super().__init__(path.open("rb"), name=name)
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)


def story_import(
    *, project: ProjectPage, steward, row: SidecarRow, path: Path, wait: bool = False
) -> StoryPage:
    """Create one story from one file and its row, and approve it, all or nothing."""
    _check_row_values(row)
    stored: list[str] = []
    try:
        with transaction.atomic():
            storyteller = services.storyteller_get_or_create(
                project=project, pseudonym=row.values["storyteller"], user=steward
            )
            story_input, consent = _inputs(row, storyteller=storyteller)
            if path.suffix.lower() in TEXT_SUFFIXES:
                page = services.story_create(
                    project=project,
                    reporter=steward,
                    story=story_input,
                    consent=consent,
                    text=media_checks.check_text(path),
                )
            else:
                recording = _LocalFile(path, name=row.file)
                try:
                    page = services.story_create(
                        project=project,
                        reporter=steward,
                        story=story_input,
                        consent=consent,
                        recording=recording,
                    )
                finally:
                    recording.close()
            stored.extend(m.file.name for m in page.media.all())
            stored.extend(c.evidence.name for c in page.consents.all() if c.evidence)
            services.story_approve(story=page, user=steward, wait=wait)
        return page
    except BaseException:
        for name in stored:
            private_storage().delete(name)
        raise


# --- The whole import --------------------------------------------------------------------


def _match(
    rows: list[SidecarRow], *, files: list[Path], base: Path, sidecar: Path
) -> tuple[list[tuple[SidecarRow, Path | None, str]], list[Path]]:
    """Pair each row with its file: relative to the sidecar's folder, else by file name."""
    by_name: dict[str, list[Path]] = {}
    for path in files:
        by_name.setdefault(path.name, []).append(path)
    wanted = set(files)
    pairs: list[tuple[SidecarRow, Path | None, str]] = []
    claimed: dict[Path, int] = {}
    for row in rows:
        if not row.file:
            pairs.append((row, None, "The file name is missing."))
            continue
        candidate = (base / row.file).resolve()
        if candidate not in wanted:
            same_name = by_name.get(Path(row.file).name, [])
            if len(same_name) == 1:
                candidate = same_name[0]
            elif len(same_name) > 1:
                pairs.append((row, None, "More than one file has this name. Give its folder too."))
                continue
            elif candidate.is_file():
                pairs.append((row, candidate, "skip"))
                continue
            else:
                pairs.append((row, None, "The file is not there. Check the name and folder."))
                continue
        if candidate in claimed:
            pairs.append((row, None, f"This file is already in row {claimed[candidate]}."))
            continue
        claimed[candidate] = row.number
        pairs.append((row, candidate, ""))
    unclaimed = [
        p for p in files if p not in claimed and p != sidecar and p.name not in SIDECAR_NAMES
    ]
    return pairs, unclaimed


def _plain(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def stories_import(
    *,
    paths: list[Path],
    project_slug: str,
    metadata: Path | None = None,
    username: str | None = None,
    create_project: bool = False,
    wait: bool = False,
    on_result: Callable[[ImportResult], None] | None = None,
) -> ImportReport:
    """Import every file under `paths` that has a row in the sidecar, each on its own.

    Raises ImportProblem, before anything is written, when the sidecar, the steward or the
    project is wrong. Otherwise returns what went in and what did not, and why.
    """
    if not paths:
        raise ImportProblem("Please name at least one file or folder to import.")
    files = files_collect(paths=paths)
    sidecar_path = sidecar_find(paths=paths, metadata=metadata)
    sidecar = sidecar_read(path=sidecar_path)
    steward = import_steward_get(username=username)
    project = import_project_get(slug=project_slug, create=create_project, user=steward)
    if Role.STEWARD not in project_roles_for_user(user=steward, project=project):
        raise ImportProblem(f"{steward.username} is not a data steward for this project.")

    pairs, unclaimed = _match(
        sidecar.rows, files=files, base=sidecar_path.parent, sidecar=sidecar_path
    )
    report = ImportReport()

    def note(result: ImportResult, *, skipped: bool = False) -> None:
        (report.skipped if skipped else report.results).append(result)
        if on_result is not None:
            on_result(result)

    for row, path, problem in pairs:
        name = row.file or "(no file name)"
        if problem == "skip":
            note(
                ImportResult(
                    file=name, row=row.number, error="Not among the files given, so left out."
                ),
                skipped=True,
            )
            continue
        if problem:
            note(ImportResult(file=name, row=row.number, error=problem))
            continue
        try:
            story = story_import(project=project, steward=steward, row=row, path=path, wait=wait)
        except (ValidationError, PermissionDenied) as error:
            note(ImportResult(file=name, row=row.number, error=_plain(error)))
        except OSError:
            note(ImportResult(file=name, row=row.number, error="We could not read this file."))
        else:
            note(ImportResult(file=name, row=row.number, story=story))
    for path in unclaimed:
        note(
            ImportResult(
                file=_display_name(path, sidecar_path.parent),
                error="There is no row for this file in the metadata, so we do not know "
                "the storyteller's consent. Add a row for it.",
            )
        )
    return report


def _display_name(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return path.name
