"""The theme engine: finds themes in passages of story text, and places new passages.

``ThemeEngine`` is the Protocol the rest of Storyloom talks to; ``BertopicEngine`` is the
implementation (BERTopic 0.17 with precomputed embeddings, see ``themes.embeddings``).
No Django models here: the engine takes and returns plain Python/numpy values, and the
caller stores segment→theme assignments in the database (a saved BERTopic keeps neither
UMAP nor HDBSCAN, so it is never the record).

How a corpus is clustered depends on its size (BERTopic's defaults call almost everything
an outlier below a few hundred documents, and give hundreds of micro-topics at 10k):

- under 30 passages: agglomerative clustering (Ward) on the unit-length embeddings,
  the number of themes chosen by silhouette;
- 30 to 299: UMAP to 5 dimensions with fewer neighbours, then k-means, k by silhouette;
- 300 and more: UMAP (15 neighbours), then HDBSCAN with a minimum cluster size of
  max(10, n/100); if it finds fewer than two clusters, k-means as above;
- more than 20,000 (``sample_above``): the clustering above runs on a seeded sample of
  15,000 passages (``sample_size``; chosen by a hash of each text, so the same in any
  order, optionally stratified by story), and every other passage joins the theme most
  of its 15 most similar sampled passages are in (exact cosine neighbours, as HDBSCAN's
  ``approximate_predict`` uses the nearest points); one voted an outlier joins the
  nearest centroid, and one like no theme stays an outlier, by the rule below. UMAP and
  HDBSCAN on all of 100k passages took 5-10 minutes and 4.5 GB and lumped them into 2-3
  themes (NMI 0.31-0.37 on the BBC bench); on the sample: 5 themes, NMI 0.65, 1.5 GB,
  about a minute of CPU. Keywords, centroids and quotes still come from every passage.

Outliers are then placed in the theme whose centroid is most similar when that
similarity is within the range the themes' own members reach (BERTopic's
``reduce_outliers(strategy="embeddings")``, done on the centroids). BERTopic then gives
each theme its c-TF-IDF keywords and a KeyBERTInspired label.

Deterministic: inputs are sorted by their text before anything is fitted, every random
step has a fixed seed, and results are mapped back to the caller's order, so the same
passages in any order give the same themes.

Importing this module does not import bertopic, umap, hdbscan, sklearn or model2vec.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from themes.embeddings import Embedder, EmbeddingError, get_embedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENGINE_VERSION = "storyloom-bertopic/1"
OUTLIER = -1
MIN_PASSAGES = 5  # different passages with words in them, below which there are no themes
SMALL_CORPUS = 30  # below this: agglomerative clustering on the embeddings
MEDIUM_CORPUS = 300  # below this: UMAP + k-means; from here on: UMAP + HDBSCAN
EXACT_KNN_MAX = 50_000  # above this, UMAP's own approximate neighbour search
SAMPLE_ABOVE = 20_000  # more passages than this: cluster a sample, place the rest
SAMPLE_SIZE = 15_000
PLACE_NEIGHBOURS = 15  # sampled passages that vote on the theme of each other passage

# Words that say nothing about a theme in transcribed interviews.
FILLER_WORDS = (
    "said says say saying um umm uh uhh er erm ah eh hmm mm mhm like yeah yep yes no "
    "okay ok really just actually basically literally gonna wanna gotta got thing things "
    "stuff lot lots bit know mean"
).split()
FILLER_PHRASES = ("you know", "kind of", "sort of", "i mean", "i think", "a lot")
_FILLER_RE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in FILLER_PHRASES) + r")\b")
_WORD_RE = re.compile(r"[^\W\d_]{2,}")  # words of 2+ letters, any script


class NotEnoughMaterial(Exception):
    """There is too little text to find themes. The message is plain and can be shown."""


@dataclass
class Theme:
    key: int  # 0..k-1, largest theme first
    label: str  # from the KeyBERTInspired keywords, e.g. "housing, landlord, rent"
    keywords: list[tuple[str, float]]  # c-TF-IDF, best first (up to 10)
    top_words: list[str]  # c-TF-IDF top 25 (for topic diversity)
    size: int  # passages whose main theme this is
    representative: list[int]  # indices (caller's order) of the most central passages
    map_position: tuple[float, float]  # 2-D position for a theme map


@dataclass
class FittedState:
    """What ``assign`` needs to place new passages without a refit. Small and picklable."""

    keys: np.ndarray  # (k,) int theme keys
    centroids: np.ndarray  # (k, d) float32, unit length
    min_similarity: float  # below this a passage fits no theme
    temperature: float
    membership_threshold: float
    embedding: str
    embedding_version: str
    transform: Any = None  # only for the tfidf embedding: the fitted TF-IDF + SVD


@dataclass
class FitResult:
    topics: list[int]  # per passage (caller's order): main theme key, or -1
    distributions: list[list[tuple[int, float]]]  # per passage: (key, probability), best first
    themes: list[Theme]
    state: FittedState
    engine: str
    engine_version: str
    model: str
    model_version: str
    parameters: dict = field(default_factory=dict)

    @property
    def n_outliers(self) -> int:
        return sum(1 for t in self.topics if t == OUTLIER)


class ThemeEngine(Protocol):
    def fit(self, documents: list[str], *, seed: int = 42) -> FitResult: ...

    def assign(
        self, documents: list[str], fitted: FittedState
    ) -> list[list[tuple[int, float]]]: ...


# --- helpers ---------------------------------------------------------------------------


def _clean_for_keywords(text: str) -> str:
    return _FILLER_RE.sub(" ", text.lower())


def stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(set(ENGLISH_STOP_WORDS) | set(FILLER_WORDS))


def _normal_form(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.lower()))


def _has_words(text: str) -> bool:
    return len(_WORD_RE.findall(text)) >= 3


def _softmax_rows(sims: np.ndarray, temperature: float) -> np.ndarray:
    z = sims / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _distribution(
    probs: np.ndarray, keys: np.ndarray, threshold: float, main: int | None = None
) -> list[tuple[int, float]]:
    order = np.argsort(-probs, kind="stable")
    out = [(int(keys[j]), round(float(probs[j]), 4)) for j in order if probs[j] >= threshold]
    if main is not None and main != OUTLIER and all(k != main for k, _ in out):
        j = int(np.where(keys == main)[0][0])
        out.insert(0, (main, round(float(probs[j]), 4)))
    elif main is not None and out and out[0][0] != main:
        out.sort(key=lambda kp: kp[0] != main)  # main theme first, the rest best first
    return out


def _centroids(embeddings: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    c = np.stack([embeddings[labels == j].mean(axis=0) for j in range(k)]).astype(np.float32)
    norms = np.linalg.norm(c, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return c / norms


def _silhouette_k(points, make, ks, metric="euclidean"):
    """Fit ``make(k)`` for each k and keep the labels with the best silhouette."""
    from sklearn.metrics import silhouette_score

    best = None
    for k in ks:
        labels = make(k).fit_predict(points)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(points, labels, metric=metric)
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels)
    return best


MIN_THEMES = 4  # fewer than this from a large corpus: the clusters were too coarse
MAX_OUTLIER_SHARE = 0.25


def _hdbscan_adaptive(hdbscan_class, reduced: np.ndarray, n: int):
    """HDBSCAN with a minimum cluster size of 1 % of the corpus; where that lumps a large
    corpus into fewer than MIN_THEMES themes (at 100k passages it gave 2), halve the size
    and try again — clustering the reduced points takes well under a second at 10k — as
    long as no more than a quarter of the passages become outliers."""
    min_size = max(10, n // 100)
    labels = hdbscan_class(min_cluster_size=min_size, metric="euclidean").fit_predict(reduced)
    while labels.max() + 1 < MIN_THEMES and min_size > 10:
        smaller = max(10, min_size // 2)
        finer = hdbscan_class(min_cluster_size=smaller, metric="euclidean").fit_predict(reduced)
        if (finer == OUTLIER).mean() > MAX_OUTLIER_SHARE:
            break
        labels, min_size = finer, smaller
    return labels, min_size


def _exact_knn(embeddings: np.ndarray, k: int, block: int = 2048):
    """Exact cosine nearest neighbours of unit vectors (self first), in blocks.

    With BLAS this takes ~1 s at 10k passages, where UMAP's NN-descent takes ~10 s warm
    and ~40 s more to compile; and it is exact, so nothing depends on a random graph."""
    n = len(embeddings)
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = embeddings[start:stop] @ embeddings.T
        rows = np.arange(stop - start)
        sims[rows, rows + start] = 2.0  # each point is its own nearest neighbour
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_sims, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        best = np.take_along_axis(part_sims, order, axis=1)
        distances[start:stop] = np.clip(1.0 - best, 0.0, 2.0)
    distances[:, 0] = 0.0
    return indices, distances


def _text_fraction(text: str, seed: int) -> float:
    """A number in [0, 1) fixed by the text and the seed (not by Python's hash salt)."""
    digest = hashlib.blake2b(f"{seed}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _sample_rows(texts: list[str], size: int, *, seed: int, groups=None) -> np.ndarray:
    """Sorted row numbers of about ``size`` rows to cluster, the same whatever the order of
    ``texts``: rows are taken by a seeded hash of their text; with ``groups`` (e.g. the
    story of each passage) each group gives the same share of its rows, spread by the same
    hash. Copies of a text are all taken or all left, so they end in the same theme."""
    n = len(texts)
    if n <= size:
        return np.arange(n)
    fraction = np.array([_text_fraction(t, seed) for t in texts])
    if groups is None:
        priority = fraction
    else:
        members: dict = {}
        for row, group in enumerate(groups):
            members.setdefault(group, []).append(row)
        priority = np.empty(n)
        for rows in members.values():
            rows.sort(key=lambda r: (fraction[r], texts[r]))
            for rank, row in enumerate(rows):
                priority[row] = (rank + fraction[row]) / len(rows)
    chosen = np.lexsort((fraction, priority))[:size]
    chosen_texts = {texts[r] for r in chosen.tolist()}
    return np.array([r for r in range(n) if texts[r] in chosen_texts], dtype=np.int64)


def _top_k(sims: np.ndarray, k: int, width: int = 64) -> np.ndarray:
    """Column numbers of the ``k`` largest values of each row, in no order.

    ``np.argpartition`` over 15,000 columns is the slow part of placing 85,000 passages
    (~25 s here); so first take the ``k`` blocks of ``width`` columns with the largest maxima
    (the top k values can lie in no other block: each of those blocks holds a value at
    least as large), then partition only their ``k * width`` columns. Exact."""
    n_rows, n_cols = sims.shape
    k = min(k, n_cols)
    if n_cols < 4 * k * width:
        return np.argpartition(-sims, k - 1, axis=1)[:, :k]
    n_blocks = -(-n_cols // width)
    if n_blocks * width > n_cols:  # fill the last block with values never chosen
        padded = np.full((n_rows, n_blocks * width), -np.inf, dtype=sims.dtype)
        padded[:, :n_cols] = sims
        sims = padded
    head = sims.reshape(n_rows, n_blocks, width).max(axis=2)
    blocks = np.argpartition(-head, k - 1, axis=1)[:, :k]
    cols = (blocks[:, :, None] * width + np.arange(width)).reshape(n_rows, k * width)
    part = np.argpartition(-np.take_along_axis(sims, cols, axis=1), k - 1, axis=1)[:, :k]
    return np.take_along_axis(cols, part, axis=1)


def _place_by_neighbours(
    vectors: np.ndarray,
    sample: np.ndarray,
    sample_labels: np.ndarray,
    min_similarity: float,
    *,
    neighbours: int = PLACE_NEIGHBOURS,
    block: int = 1024,
) -> np.ndarray:
    """The theme of each of ``vectors`` (unit length) from the ``neighbours`` most similar
    ``sample`` vectors: the label most of them have (ties: the closer ones win), where
    "outlier" is a label too; one voted an outlier joins the most similar theme centroid
    instead, as outliers do in a fit. Either way a passage less similar than
    ``min_similarity`` to every centroid is an outlier, as in ``assign``."""
    sample_labels = np.asarray(sample_labels)
    k = int(sample_labels.max()) + 1
    if k == 0:  # no themes to join
        return np.full(len(vectors), OUTLIER, dtype=int)
    centroids = _centroids(sample, sample_labels, k)
    neighbours = min(neighbours, len(sample))
    choices = np.arange(k + 1)  # 0 = outlier, j + 1 = theme j
    out = np.empty(len(vectors), dtype=int)
    for start in range(0, len(vectors), block):
        part = vectors[start : start + block]
        sims = part @ sample.T
        nearest = _top_k(sims, neighbours)
        votes = (sample_labels[nearest] + 1)[:, :, None] == choices  # (rows, nn, k + 1)
        closeness = (np.take_along_axis(sims, nearest, axis=1) + 1.0) / 2.0  # 0..1
        count = votes.sum(axis=1)
        nearer = (votes * closeness[:, :, None]).sum(axis=1) / (neighbours + 1)  # < 1: ties
        labels = (count + nearer).argmax(axis=1) - 1
        to_centroids = part @ centroids.T
        labels = np.where(labels == OUTLIER, to_centroids.argmax(axis=1), labels)
        labels[to_centroids.max(axis=1) < min_similarity] = OUTLIER
        out[start : start + len(part)] = labels
    return out


_warm_lock = threading.Lock()
_warmed = False


def warm(embedding: str | None = None) -> None:
    """Compile UMAP's and HDBSCAN's numba code and load the embedding model, once per
    process (~10-40 s the first time). Call it when a worker starts."""
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        from hdbscan import HDBSCAN
        from umap import UMAP

        rng = np.random.default_rng(0)
        points = rng.normal(size=(400, 32)).astype(np.float32)
        points /= np.linalg.norm(points, axis=1, keepdims=True)
        reduced = UMAP(
            n_neighbors=15,
            n_components=5,
            min_dist=0.0,
            metric="cosine",
            random_state=42,
            precomputed_knn=_exact_knn(points, 15),
        ).fit_transform(points)
        HDBSCAN(min_cluster_size=10, metric="euclidean").fit(reduced)
        embedder = get_embedder(embedding)
        if not embedder.fitted_on_corpus:
            embedder.embed(["warm up"])
        _warmed = True


# --- the engine ------------------------------------------------------------------------


class _BertopicBackend:
    """Adapts an Embedder to BERTopic's BaseEmbedder (built lazily: bertopic is heavy)."""

    @staticmethod
    def make(embedder: Embedder):
        from bertopic.backend import BaseEmbedder

        class Backend(BaseEmbedder):
            def embed(self, documents, verbose=False):
                return embedder.embed(list(documents))

        return Backend()


class BertopicEngine:
    """BERTopic with a given embedding model, adapted to corpus size (see module doc)."""

    name = "bertopic"

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        membership_threshold: float = 0.3,
        temperature: float = 0.05,
        n_representative: int = 5,
        sample_above: int = SAMPLE_ABOVE,
        sample_size: int = SAMPLE_SIZE,
    ):
        self.embedder = embedder or get_embedder()
        self.membership_threshold = membership_threshold
        self.temperature = temperature
        self.n_representative = n_representative
        self.sample_above = sample_above
        self.sample_size = min(sample_size, sample_above)

    # -- embeddings
    def embed(self, documents: list[str], fitted: FittedState | None = None) -> np.ndarray:
        if fitted is not None and fitted.transform is not None:
            from themes.embeddings import _normalise

            return _normalise(fitted.transform.transform(list(documents)))
        return self.embedder.embed(list(documents))

    # -- fit
    def fit(
        self,
        documents: list[str],
        *,
        seed: int = 42,
        n_themes: int | None = None,
        groups: list | None = None,
    ):
        """Find themes in ``documents``. ``n_themes`` forces the number of themes (for
        splitting one theme in two, say); by default it is chosen from the data.
        ``groups`` (optional, one hashable value per document, e.g. its story) makes the
        sample of a large corpus take the same share of every group."""
        if groups is not None and len(groups) != len(documents):
            raise ValueError("groups must give one value for each document")
        texts = [(d or "").strip() for d in documents]
        candidates = [i for i, t in enumerate(texts) if _has_words(t)]
        distinct = {_normal_form(texts[i]) for i in candidates}
        if not candidates:
            raise NotEnoughMaterial(
                "There are no words to find themes in yet. The stories may be silent, "
                "or not transcribed and checked yet."
            )
        if len(distinct) < MIN_PASSAGES:
            raise NotEnoughMaterial(
                f"There is not enough to find themes yet. Themes need at least "
                f"{MIN_PASSAGES} passages that say different things. These stories have "
                f"{len(distinct)}. Add more stories, then try again."
            )

        # Sort by text so that the input order cannot change anything.
        order = sorted(candidates, key=lambda i: (texts[i], i))
        fit_texts = [texts[i] for i in order]
        if self.embedder.fitted_on_corpus:
            self.embedder.fit(fit_texts)
        embeddings = self.embedder.embed(fit_texts)
        nonzero = np.linalg.norm(embeddings, axis=1) > 0
        if nonzero.sum() < MIN_PASSAGES:
            raise NotEnoughMaterial(
                "There is not enough to find themes yet: the model could not read enough "
                "of these passages. Add more stories, then try again."
            )
        keep = np.where(nonzero)[0]
        order = [order[i] for i in keep]
        fit_texts = [fit_texts[i] for i in keep]
        embeddings = embeddings[keep]
        n = len(fit_texts)

        if n > self.sample_above:
            labels, params, min_sim = self._cluster_sample(
                fit_texts,
                embeddings,
                seed=seed,
                n_themes=n_themes,
                groups=None if groups is None else [groups[i] for i in order],
            )
        else:
            labels, params = self._cluster(embeddings, seed=seed, n_themes=n_themes)
            labels, min_sim = self._reduce_outliers(embeddings, labels)
        labels, k = self._relabel_by_size(labels)
        centroids = _centroids(embeddings, labels, k)

        words = self._represent(fit_texts, embeddings, labels, seed=seed)
        positions = self._map_positions(embeddings, labels, k, seed=seed)

        sims = embeddings @ centroids.T
        probs = _softmax_rows(sims, self.temperature)
        keys = np.arange(k)
        topics = [OUTLIER] * len(documents)
        distributions: list[list[tuple[int, float]]] = [[] for _ in documents]
        for row, original in enumerate(order):
            topics[original] = int(labels[row])
            if labels[row] != OUTLIER:
                distributions[original] = _distribution(
                    probs[row], keys, self.membership_threshold, main=int(labels[row])
                )
        themes = []
        for j in range(k):
            members = np.where(labels == j)[0]
            central = members[np.argsort(-sims[members, j], kind="stable")]
            keywords, top_words, label = words[j]
            themes.append(
                Theme(
                    key=j,
                    label=label,
                    keywords=keywords,
                    top_words=top_words,
                    size=int(len(members)),
                    representative=[order[i] for i in central[: self.n_representative]],
                    map_position=positions[j],
                )
            )
        import bertopic

        params.update(
            n_documents=len(documents),
            n_clustered=n,
            seed=seed,
            min_similarity=round(min_sim, 4),
            membership_threshold=self.membership_threshold,
            temperature=self.temperature,
            bertopic=bertopic.__version__,
        )
        state = FittedState(
            keys=keys,
            centroids=centroids,
            min_similarity=min_sim,
            temperature=self.temperature,
            membership_threshold=self.membership_threshold,
            embedding=self.embedder.name,
            embedding_version=self.embedder.version,
            transform=self.embedder._model if self.embedder.fitted_on_corpus else None,
        )
        return FitResult(
            topics=topics,
            distributions=distributions,
            themes=themes,
            state=state,
            engine=self.name,
            engine_version=f"{ENGINE_VERSION} (bertopic {bertopic.__version__})",
            model=self.embedder.name,
            model_version=self.embedder.version,
            parameters=params,
        )

    def _cluster_sample(self, texts, embeddings, *, seed: int, n_themes, groups):
        """Cluster a sample of a large corpus (as ``_cluster`` + ``_reduce_outliers``),
        then place every other passage by its nearest sampled passages."""
        sample = _sample_rows(texts, self.sample_size, seed=seed, groups=groups)
        sampled = embeddings[sample]
        sample_labels, params = self._cluster(sampled, seed=seed, n_themes=n_themes)
        sample_labels, min_sim = self._reduce_outliers(sampled, sample_labels)
        labels = np.full(len(texts), OUTLIER, dtype=int)
        labels[sample] = sample_labels
        rest = np.setdiff1d(np.arange(len(texts)), sample, assume_unique=True)
        labels[rest] = _place_by_neighbours(embeddings[rest], sampled, sample_labels, min_sim)
        params.update(
            sampled=int(len(sample)),
            placed=int(len(rest)),
            placed_by=f"vote of the {PLACE_NEIGHBOURS} most similar sampled passages",
            stratified_by_group=groups is not None,
        )
        return labels, params, min_sim

    def _cluster(self, embeddings: np.ndarray, *, seed: int, n_themes: int | None):
        n = len(embeddings)
        if n_themes is not None:
            n_themes = max(1, min(int(n_themes), n))
        if n < SMALL_CORPUS:
            from sklearn.cluster import AgglomerativeClustering

            def make(k):
                # Ward on unit vectors: compact themes, no single-passage splinters.
                return AgglomerativeClustering(n_clusters=k, linkage="ward")

            if n_themes:
                return make(n_themes).fit_predict(embeddings), {
                    "method": "agglomerative",
                    "k": n_themes,
                }
            ks = range(2, max(2, min(8, n // 3)) + 1)
            best = _silhouette_k(embeddings, make, ks, metric="cosine")
            if best is None:
                return np.zeros(n, dtype=int), {"method": "agglomerative", "k": 1}
            return best[2], {"method": "agglomerative", "k": best[1], "silhouette": best[0]}

        from sklearn.cluster import KMeans
        from umap import UMAP

        n_neighbors = 15 if n >= MEDIUM_CORPUS else max(5, min(15, n // 10))
        knn = _exact_knn(embeddings, n_neighbors) if n <= EXACT_KNN_MAX else (None, None)
        reduced = UMAP(
            n_neighbors=n_neighbors,
            n_components=5,
            min_dist=0.0,
            metric="cosine",
            random_state=seed,  # deterministic (and so single-threaded)
            precomputed_knn=knn,
        ).fit_transform(embeddings)
        params = {
            "umap_n_neighbors": n_neighbors,
            "umap_n_components": 5,
            "knn": "exact" if knn[0] is not None else "nndescent",
        }

        def make(k):
            return KMeans(n_clusters=k, n_init=10, random_state=seed)

        if n_themes:
            return make(n_themes).fit_predict(reduced), {
                **params,
                "method": "kmeans",
                "k": n_themes,
            }
        if n >= MEDIUM_CORPUS:
            from hdbscan import HDBSCAN

            labels, min_size = _hdbscan_adaptive(HDBSCAN, reduced, n)
            if labels.max() >= 1:
                return labels, {
                    **params,
                    "method": "hdbscan",
                    "hdbscan_min_cluster_size": min_size,
                    "k": int(labels.max()) + 1,
                    "outliers_before_reduction": int((labels == OUTLIER).sum()),
                }
        ks = range(2, max(2, min(12, n // 5)) + 1)
        best = _silhouette_k(reduced, make, ks)
        if best is None:
            return np.zeros(n, dtype=int), {**params, "method": "kmeans", "k": 1}
        return best[2], {**params, "method": "kmeans", "k": best[1], "silhouette": best[0]}

    @staticmethod
    def _reduce_outliers(embeddings: np.ndarray, labels: np.ndarray):
        """Put each outlier in the most similar theme when it is about as close to it as the
        theme's own members are (2nd percentile); return labels and that threshold."""
        labels = np.asarray(labels).copy()
        k = int(labels.max()) + 1
        members = labels != OUTLIER
        centroids = _centroids(embeddings, labels, k)
        own = (embeddings[members] * centroids[labels[members]]).sum(axis=1)
        min_sim = float(max(0.0, np.quantile(own, 0.02)))
        outliers = np.where(~members)[0]
        if len(outliers):
            sims = embeddings[outliers] @ centroids.T
            best = sims.argmax(axis=1)
            ok = sims[np.arange(len(outliers)), best] >= min_sim
            labels[outliers[ok]] = best[ok]
        return labels, min_sim

    @staticmethod
    def _relabel_by_size(labels: np.ndarray):
        """Keys 0..k-1, largest theme first; ties by the first (sorted) passage."""
        found = [c for c in set(labels.tolist()) if c != OUTLIER]
        first = {c: int(np.argmax(labels == c)) for c in found}
        ranked = sorted(found, key=lambda c: (-int((labels == c).sum()), first[c]))
        mapping = {c: i for i, c in enumerate(ranked)}
        new = np.array([mapping.get(int(c), OUTLIER) for c in labels], dtype=int)
        return new, len(ranked)

    def _represent(self, texts, embeddings, labels, *, seed: int):
        """Per theme: (c-TF-IDF keywords with scores, top 25 words, label)."""
        from bertopic import BERTopic
        from bertopic.cluster import BaseCluster
        from bertopic.dimensionality import BaseDimensionalityReduction
        from bertopic.representation import KeyBERTInspired
        from bertopic.vectorizers import ClassTfidfTransformer
        from sklearn.feature_extraction.text import CountVectorizer

        k = int(labels.max()) + 1
        n = len(texts)
        vectorizer = CountVectorizer(
            preprocessor=_clean_for_keywords,
            stop_words=stop_words(),
            token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b",
            min_df=2 if n >= 1000 else 1,
        )
        model = BERTopic(
            embedding_model=_BertopicBackend.make(self.embedder),
            umap_model=BaseDimensionalityReduction(),
            hdbscan_model=BaseCluster(),
            vectorizer_model=vectorizer,
            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
            representation_model={
                "KeyBERT": KeyBERTInspired(
                    top_n_words=10, nr_repr_docs=5, nr_candidate_words=30, random_state=seed
                )
            },
            top_n_words=25,
            calculate_probabilities=False,
            verbose=False,
        )
        try:
            model.fit(texts, embeddings=embeddings, y=labels)
        except ValueError:  # e.g. every word is a stop word: fall back to no keywords
            return {j: ([], [], f"Theme {j + 1}") for j in range(k)}
        # BERTopic renumbers topics by size; map through the documents.
        mine_to_theirs = {}
        for mine, theirs in zip(labels.tolist(), model.topics_, strict=True):
            mine_to_theirs.setdefault(mine, theirs)
        aspects = model.topic_aspects_.get("KeyBERT", {})
        out = {}
        for j in range(k):
            theirs = mine_to_theirs[j]
            words = [(w, float(s)) for w, s in (model.get_topic(theirs) or []) if w]
            top = [w for w, _ in words[:25]]
            keybert = [w for w, _ in aspects.get(theirs, []) if w]
            label_words = (keybert or top)[:3]
            label = ", ".join(label_words) if label_words else f"Theme {j + 1}"
            out[j] = ([(w, round(s, 4)) for w, s in words[:10]], top, label)
        return out

    @staticmethod
    def _map_positions(embeddings, labels, k, *, seed: int):
        from sklearn.decomposition import PCA

        if embeddings.shape[0] < 3 or embeddings.shape[1] < 2:
            return [(0.0, 0.0)] * k
        xy = PCA(n_components=2, random_state=seed).fit_transform(embeddings)
        return [tuple(round(float(v), 4) for v in xy[labels == j].mean(axis=0)) for j in range(k)]

    # -- incremental assignment
    def assign(self, documents: list[str], fitted: FittedState) -> list[list[tuple[int, float]]]:
        """Place new passages in the fitted themes without refitting: cosine similarity to
        each theme's centroid; [] for a passage that fits none (or has no words)."""
        if fitted.embedding != self.embedder.name:
            raise EmbeddingError(
                f"These themes were found with the {fitted.embedding!r} embedding, but this "
                f"engine uses {self.embedder.name!r}. Run the themes again, or set "
                f"THEMES_EMBEDDING={fitted.embedding}."
            )
        texts = [(d or "").strip() for d in documents]
        out: list[list[tuple[int, float]]] = [[] for _ in texts]
        rows = [i for i, t in enumerate(texts) if _has_words(t)]
        if not rows or len(fitted.keys) == 0:
            return out
        vectors = self.embed([texts[i] for i in rows], fitted)
        sims = vectors @ fitted.centroids.T
        probs = _softmax_rows(sims, fitted.temperature)
        for r, i in enumerate(rows):
            if not np.any(vectors[r]) or sims[r].max() < fitted.min_similarity:
                continue
            out[i] = _distribution(probs[r], fitted.keys, fitted.membership_threshold)
        return out


def get_engine(embedding: str | None = None) -> BertopicEngine:
    """The configured engine (``settings.THEMES_EMBEDDING`` unless ``embedding`` is given)."""
    return BertopicEngine(get_embedder(embedding))
