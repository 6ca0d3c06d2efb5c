"""Theme engine benchmark: speed at 10k segments, incremental assignment, memory, quality.

    .venv/bin/python bench/themes.py                  # 10,000 BBC paragraphs + articles quality
    .venv/bin/python bench/themes.py --segments 2000 --embedding tfidf
    .venv/bin/python bench/themes.py --segments 100000 --no-articles   # 100k, engine only
    .venv/bin/python bench/themes.py --store          # + the real run path, stored in SQLite

Prints ONE JSON object. Runs the engine as a worker would: ``warm()`` first (numba
compiles once per process), then the timed runs. Nothing is downloaded. ``--store`` uses a
throw-away SQLite database in a temporary folder (removed afterwards).
"""

import argparse
import csv
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
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
STORIES = 200  # --store: the paragraphs are spread over about this many stories
WARMUP_SEGMENTS = 300  # --store: the warm-up run's project


def read(name):
    with open(CORPUS / name, newline="") as fh:
        return list(csv.DictReader(fh))


def _perturb(text: str, rng: random.Random) -> str:
    """A near copy: two neighbouring words swapped and one word dropped (when there are
    enough), so that repeated paragraphs are not identical documents."""
    words = text.split()
    if len(words) >= 4:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        del words[rng.randrange(len(words))]
    out = " ".join(words)
    return out if out != text else f"{text} ({rng.randrange(1000)})"


def corpus_rows(count: int, seed: int) -> list[dict]:
    """The first `count` paragraphs; beyond the corpus, further copies with the articles in
    a shuffled order and every paragraph slightly perturbed (deterministic for a seed)."""
    paragraphs = read("bbc_paragraphs.csv")
    if count <= len(paragraphs):
        return paragraphs[:count]
    by_article = defaultdict(list)
    for row in paragraphs:
        by_article[row["article_id"]].append(row)
    rows, copy = list(paragraphs), 1
    while len(rows) < count:
        rng = random.Random(f"{seed}:{copy}")
        articles = sorted(by_article)
        rng.shuffle(articles)
        for article in articles:
            for row in by_article[article]:
                rows.append(
                    {
                        "id": f"{row['id']}~{copy}",
                        "article_id": f"{article}~{copy}",
                        "category": row["category"],
                        "text": _perturb(row["text"], rng),
                    }
                )
        copy += 1
    return rows[:count]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- --store: the real run path, with a database -------------------------------------------


class TimedEngine:
    """The worker's engine, with the time spent in fit and assign recorded."""

    def __init__(self, engine):
        self.engine = engine
        self.fit_s = 0.0
        self.fit_documents = 0
        self.assign_s = 0.0

    def fit(self, documents, **kwargs):
        start = time.perf_counter()
        try:
            return self.engine.fit(documents, **kwargs)
        finally:
            self.fit_s += time.perf_counter() - start
            self.fit_documents = len(documents)

    def assign(self, documents, fitted):
        start = time.perf_counter()
        try:
            return self.engine.assign(documents, fitted)
        finally:
            self.assign_s += time.perf_counter() - start


def setup_django(tmp: str) -> None:
    """Django on a throw-away SQLite database under `tmp`, migrated once."""
    default_var = Path(os.environ.get("STORYLOOM_VAR_DIR", ROOT / "var"))
    os.environ.setdefault("THEMES_MODEL_DIR", str(default_var / "models" / "potion-base-8M"))
    os.environ["STORYLOOM_VAR_DIR"] = tmp
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)  # tasks queue in the database: nothing runs inline
    os.environ["DJANGO_SETTINGS_MODULE"] = "cms.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_project(rows: list[dict], *, slug: str, steward, stories: int) -> dict:
    """A project whose approved written stories (consent: everything, "analyse" included)
    hold `rows` as the segments of their current transcripts, made through the real
    services: story_create, story_approve, and the transcription job that splits text."""
    from cms.roles import Role
    from stories.services import ConsentInput, StoryInput, story_approve, story_create
    from tests import factories
    from transcription import services as transcription

    project = factories.project(title=f"Bench {slug}", slug=slug)
    reporter = factories.user_with_role(Role.REPORTER, project, f"reporter-{slug}")
    by_article = defaultdict(list)
    for row in rows:
        by_article[row["article_id"]].append(row["text"])
    articles = list(by_article.values())
    per_story = max(1, len(rows) // stories)
    groups, current = [], []
    for paragraphs in articles:
        current.extend(paragraphs)
        if len(current) >= per_story:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    tellers = [factories.storyteller(project, reporter, f"Teller {n}") for n in range(40)]
    roles = ["service_user", "staff", "volunteer"]
    made = []
    for number, paragraphs in enumerate(groups):
        made.append(
            add_story(
                project,
                reporter,
                steward,
                paragraphs,
                title=f"Story {number}",
                teller=tellers[number % len(tellers)],
                role=roles[number % len(roles)],
                approve=story_approve,
                create=story_create,
                inputs=(ConsentInput, StoryInput),
                transcription=transcription,
            )
        )
    return {"project": project, "reporter": reporter, "stories": made}


def add_story(project, reporter, steward, paragraphs, *, title, teller, role, **services):
    ConsentInput, StoryInput = services["inputs"]
    from stories.models import CONSENT_SCOPES

    story = services["create"](
        project=project,
        reporter=reporter,
        story=StoryInput(title=title, storyteller=teller, storyteller_role=role),
        consent=ConsentInput(scopes=set(CONSENT_SCOPES)),
        text="\n\n".join(paragraphs),
    )
    services["approve"](story=story, user=steward)
    transcription = services["transcription"]
    job = transcription.job_enqueue(story=story)
    transcription.job_run(job_id=job.pk)
    return story


def timed_run(project, engine) -> dict:
    """One run through the worker's path: theme_run_start (no queue) then
    theme_run_execute, timed end to end; the engine's fit is timed inside it."""
    from themes import services

    run = services.theme_run_start(project=project, user=None, enqueue=False)
    timed = TimedEngine(engine)
    start = time.perf_counter()
    run = services.theme_run_execute(run_id=run.pk, engine=timed)
    total = time.perf_counter() - start
    return {
        "status": run.status,
        "error": run.error or None,
        "end_to_end_s": round(total, 2),
        "engine_fit_s": round(timed.fit_s, 2),
        # reading segments + passages + storing themes, assignments, stats, matching
        "read_and_store_s": round(total - timed.fit_s, 2),
        "segments": run.segment_count,
        "passages": run.passage_count,
        "stories": run.story_count,
        "themes": run.theme_count,
        "segments_in_no_theme": run.outlier_count,
        "assignments": _assignments(run),
        "method": (run.parameters or {}).get("method"),
    }


def _assignments(run) -> int:
    from themes.models import ThemeAssignment

    return ThemeAssignment.objects.filter(theme__run=run).count()


def bench_store(args, rows: list[dict], spare: list[dict]) -> dict:
    out = {}
    with tempfile.TemporaryDirectory(prefix="storyloom-bench-") as tmp:
        start = time.perf_counter()
        setup_django(tmp)
        from tests import factories
        from themes import services

        steward = factories.steward("bench-steward")
        out["migrate_s"] = round(time.perf_counter() - start, 2)
        engine = services.get_engine()  # the worker's cached engine

        start = time.perf_counter()
        small = make_project(rows[:WARMUP_SEGMENTS], slug="warm-up", steward=steward, stories=10)
        big = make_project(rows, slug="bench", steward=steward, stories=STORIES)
        out["setup_s"] = round(time.perf_counter() - start, 2)  # not part of any timing

        out["warm_up_run"] = timed_run(small["project"], engine)
        runs = [timed_run(big["project"], engine) for _ in range(args.repeat)]
        out["runs"] = runs  # the first is a first run; later ones match the previous run
        out["median_end_to_end_s"] = statistics.median(r["end_to_end_s"] for r in runs)
        out["median_read_and_store_s"] = statistics.median(r["read_and_store_s"] for r in runs)
        out["target_s"] = 30

        # A new story, approved and split after the run (set-up not timed), then placed
        # in the current themes through the worker's incremental path.
        new = spare or rows[-20:]
        article = new[0]["article_id"]
        paragraphs = [r["text"] for r in new if r["article_id"] == article]
        from stories.services import ConsentInput, StoryInput, story_approve, story_create
        from transcription import services as transcription

        story = add_story(
            big["project"],
            big["reporter"],
            steward,
            paragraphs,
            title="New story",
            teller=factories.storyteller(big["project"], big["reporter"], "Newcomer"),
            role="service_user",
            approve=story_approve,
            create=story_create,
            inputs=(ConsentInput, StoryInput),
            transcription=transcription,
        )
        timed = TimedEngine(engine)
        start = time.perf_counter()
        placed = services.story_assign_incremental(story_id=story.pk, engine=timed)
        out["assign_new_story"] = {
            "segments": story.segments.count(),
            "placed": placed,
            "seconds": round(time.perf_counter() - start, 4),
            "engine_assign_s": round(timed.assign_s, 4),
            "target_s": 1,
        }
        from django.db import connections

        connections.close_all()
    return out


# --- main ----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--embedding", default=os.environ.get("THEMES_EMBEDDING", "potion"))
    parser.add_argument(
        "--store", action="store_true", help="also time the real run path with a database"
    )
    parser.add_argument("--repeat", type=int, default=3, help="--store: timed runs (median)")
    parser.add_argument("--no-articles", action="store_true", help="skip the articles quality")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--sample-above",
        type=int,
        default=engines.SAMPLE_ABOVE,
        help="cluster a sample of corpora larger than this (the engine's default)",
    )
    parser.add_argument(
        "--by-story", action="store_true", help="stratify that sample by article (story)"
    )
    args = parser.parse_args()
    if args.store:
        os.environ["THEMES_EMBEDDING"] = args.embedding
    out = {"embedding": args.embedding, "cpus": os.cpu_count()}

    start = time.perf_counter()
    engines.warm(args.embedding)
    out["warm_s"] = round(time.perf_counter() - start, 2)
    engine = engines.get_engine(args.embedding)
    engine.sample_above = args.sample_above
    engine.sample_size = min(engine.sample_size, args.sample_above)

    # --- N segments, engine only, in this warm process
    fit_rows = corpus_rows(args.segments, args.seed)
    all_paragraphs = read("bbc_paragraphs.csv")
    rest = all_paragraphs[len(fit_rows) :]
    texts = [r["text"] for r in fit_rows]
    if not engine.embedder.fitted_on_corpus:
        start = time.perf_counter()
        engine.embed(texts)
        out["embed_only_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    groups = [r["article_id"] for r in fit_rows] if args.by_story else None
    result = engine.fit(texts, seed=args.seed, groups=groups)
    fit_s = time.perf_counter() - start
    out["segments"] = {
        "count": len(texts),
        "distinct_texts": len(set(texts)),
        "fit_s": round(fit_s, 2),  # embed + reduce + cluster + outliers + represent
        "target_s": 30,
        "themes": len(result.themes),
        "outliers": result.n_outliers,
        "method": result.parameters.get("method"),
        "hdbscan_min_cluster_size": result.parameters.get("hdbscan_min_cluster_size"),
        "sampled": result.parameters.get("sampled"),  # None: every passage was clustered
        "placed": result.parameters.get("placed"),
        "stratified_by_story": result.parameters.get("stratified_by_group"),
        "largest_theme": max((t.size for t in result.themes), default=0),
        "peak_rss_mb_so_far": peak_rss_mb(),
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
    del result

    # --- quality on the 2,225 articles, no k given
    if not args.no_articles:
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
            "npmi_coherence": npmi_coherence(words, docs),  # top 10 words, doc co-occurrence
            "topic_diversity": topic_diversity(words),  # top 25 words
            "paper_bbc": PAPER_BBC,
            "labels": [t.label for t in fitted.themes],
        }
        out["engine_version"] = fitted.engine_version
        out["model_version"] = fitted.model_version

    # --- the real run path: read segments, passages, fit, store (a database)
    if args.store:
        out["store"] = bench_store(args, fit_rows, rest)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
