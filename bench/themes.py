"""Theme engine benchmark: speed at 10k segments, incremental assignment, memory, quality.

    .venv/bin/python bench/themes.py                  # 10,000 BBC paragraphs + articles quality
    .venv/bin/python bench/themes.py --segments 2000 --embedding tfidf

Prints ONE JSON object. Runs the engine as a worker would: ``warm()`` first (numba
compiles once per process), then the timed runs. Nothing is downloaded.
"""

import argparse
import csv
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "fixtures" / "corpus"

from themes import engines  # noqa: E402
from themes.quality import agreement, npmi_coherence, topic_diversity  # noqa: E402

PAPER_BBC = {  # Grootendorst 2022, BERTopic paper, Table 1 (BBC News)
    "BERTopic-MiniLM": {"npmi": 0.170, "diversity": 0.802},
    "BERTopic-MPNET": {"npmi": 0.167, "diversity": 0.794},
}


def store_result(result, texts):
    """Hook for the storing step (ThemeRun/Theme/ThemeAssignment rows). The lead wires the
    themes service in here; ``--store`` times it as part of the end-to-end figure."""
    raise NotImplementedError("The storing step is not wired into the benchmark yet.")


def read(name):
    with open(CORPUS / name, newline="") as fh:
        return list(csv.DictReader(fh))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--embedding", default=os.environ.get("THEMES_EMBEDDING", "potion"))
    parser.add_argument("--store", action="store_true", help="also time store_result()")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    out = {"embedding": args.embedding, "cpus": os.cpu_count()}

    start = time.perf_counter()
    engines.warm(args.embedding)
    out["warm_s"] = round(time.perf_counter() - start, 2)
    engine = engines.get_engine(args.embedding)

    # --- 10k segments end to end, in this warm process
    paragraphs = read("bbc_paragraphs.csv")
    fit_rows, rest = paragraphs[: args.segments], paragraphs[args.segments :]
    texts = [r["text"] for r in fit_rows]
    if not engine.embedder.fitted_on_corpus:
        start = time.perf_counter()
        engine.embed(texts)
        out["embed_only_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    result = engine.fit(texts, seed=args.seed)
    fit_s = time.perf_counter() - start
    store_s = None
    if args.store:
        start = time.perf_counter()
        store_result(result, texts)
        store_s = round(time.perf_counter() - start, 2)
    out["segments"] = {
        "count": len(texts),
        "fit_s": round(fit_s, 2),  # embed + reduce + cluster + outliers + represent
        "store_s": store_s,  # null unless --store
        "end_to_end_s": round(fit_s + (store_s or 0), 2),
        "target_s": 30,
        "themes": len(result.themes),
        "outliers": result.n_outliers,
        "method": result.parameters.get("method"),
        **agreement([r["category"] for r in fit_rows], result.topics),
    }

    # --- a new story's segments, placed without a refit
    story_id = rest[0]["article_id"] if rest else fit_rows[-1]["article_id"]
    story = [r["text"] for r in (rest or fit_rows) if r["article_id"] == story_id]
    start = time.perf_counter()
    placed = engine.assign(story, result.state)
    out["assign_new_story"] = {
        "segments": len(story),
        "seconds": round(time.perf_counter() - start, 4),
        "target_s": 1,
        "placed": sum(1 for p in placed if p),
    }

    # --- quality on the 2,225 articles, no k given
    articles = read("bbc_articles.csv")
    docs = [r["text"] for r in articles]
    start = time.perf_counter()
    fitted = engine.fit(docs, seed=args.seed)
    words = [t.top_words for t in fitted.themes]
    out["articles_quality"] = {
        "documents": len(docs),
        "fit_s": round(time.perf_counter() - start, 2),
        "themes": len(fitted.themes),
        "outliers": fitted.n_outliers,
        **agreement([r["category"] for r in articles], fitted.topics),
        "nmi_target": 0.70,
        "npmi_coherence": npmi_coherence(words, docs),  # top 10 words, document co-occurrence
        "topic_diversity": topic_diversity(words),  # top 25 words
        "paper_bbc": PAPER_BBC,
        "labels": [t.label for t in fitted.themes],
    }
    out["engine_version"] = fitted.engine_version
    out["model_version"] = fitted.model_version
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
