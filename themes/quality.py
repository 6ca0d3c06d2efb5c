"""Measures of theme quality.

- ``agreement``: NMI and ARI of the themes against known labels (scikit-learn).
- ``topic_diversity``: unique words among the top-25 keywords of all themes ÷ all those
  words (Dieng et al. 2020; BERTopic paper, Grootendorst 2022: 1 = no word shared).
- ``npmi_coherence``: mean NPMI over the pairs of each theme's top-10 keywords, with
  probabilities from document co-occurrence in the corpus itself (-1..1; BERTopic paper,
  Table 1, uses the same measure: BBC, BERTopic-MiniLM 0.170).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import combinations

OUTLIER = -1
_TOKEN = re.compile(r"(?u)\b[^\W\d_][^\W\d_]+\b")


def agreement(labels: Sequence, topics: Sequence[int]) -> dict:
    """NMI and ARI of ``topics`` against ``labels`` (outliers count as one more group)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "nmi": round(float(normalized_mutual_info_score(labels, topics)), 4),
        "ari": round(float(adjusted_rand_score(labels, topics)), 4),
    }


def topic_diversity(topic_words: Sequence[Sequence[str]], top_n: int = 25) -> float:
    words = [w for topic in topic_words for w in list(topic)[:top_n]]
    if not words:
        return 0.0
    return round(len(set(words)) / len(words), 4)


def npmi_coherence(
    topic_words: Sequence[Sequence[str]], documents: Sequence[str], top_n: int = 10
) -> float:
    """Mean NPMI of each theme's top words, averaged over themes. A pair that never
    occurs together scores -1; a pair that always does scores 1."""
    wanted = {w for topic in topic_words for w in list(topic)[:top_n]}
    if not wanted:
        return 0.0
    doc_sets = []
    for doc in documents:
        tokens = set(_TOKEN.findall(doc.lower())) & wanted
        if tokens:
            doc_sets.append(tokens)
    n = len(documents)
    count: dict[str, int] = {}
    for tokens in doc_sets:
        for w in tokens:
            count[w] = count.get(w, 0) + 1
    scores = []
    for topic in topic_words:
        words = list(topic)[:top_n]
        pair_scores = []
        for a, b in combinations(words, 2):
            both = sum(1 for tokens in doc_sets if a in tokens and b in tokens)
            if both == 0 or not count.get(a) or not count.get(b):
                pair_scores.append(-1.0)
                continue
            p_ab = both / n
            if p_ab == 1.0:
                pair_scores.append(1.0)
                continue
            pmi = math.log(p_ab / ((count[a] / n) * (count[b] / n)))
            pair_scores.append(pmi / -math.log(p_ab))
        if pair_scores:
            scores.append(sum(pair_scores) / len(pair_scores))
    return round(sum(scores) / len(scores), 4) if scores else 0.0
