"""Workshop pack export benchmark: time and peak memory to export a 20-page pack as PDF.

    .venv/bin/python bench/pack.py                  # a pack of at least 20 pages, PDF
    .venv/bin/python bench/pack.py --pages 40 --repeat 5
    .venv/bin/python bench/pack.py --format html

Prints ONE JSON object. A throw-away SQLite database in a temporary folder (removed
afterwards) gets a project of written stories made from the BBC paragraphs corpus, approved,
transcribed, and analysed by the real theme engine — all in a child process, so that the
figures below are those of a process that only exports, as the web server does. The pack is
drafted from the themes and filled with quotes until it prints to at least `--pages` pages.

Reported: `first_export_s` (a fresh process: WeasyPrint, Pango and matplotlib load),
`median_export_s` of `--repeat` further exports (target: under 5 s for 20 pages),
`pages`, `peak_rss_mb` (this process, which only exported) and its `rss_before_mb`."""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "fixtures" / "corpus"
ROLES = ["service_user", "staff", "volunteer", "family", "partner"]


def setup_django(tmp: str, *, migrate: bool) -> None:
    default_var = Path(os.environ.get("STORYLOOM_VAR_DIR", ROOT / "var"))
    os.environ.setdefault("THEMES_MODEL_DIR", str(default_var / "models" / "potion-base-8M"))
    os.environ["STORYLOOM_VAR_DIR"] = tmp
    os.environ["PRIVATE_MEDIA_ROOT"] = str(Path(tmp) / "private")
    os.environ["MEDIA_ROOT"] = str(Path(tmp) / "media")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)  # tasks queue in the database: nothing runs inline
    os.environ["DJANGO_SETTINGS_MODULE"] = "cms.settings"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _paragraphs(stories: int) -> list[list[str]]:
    by_article: dict[str, list[str]] = {}
    with open(CORPUS / "bbc_paragraphs.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_article.setdefault(row["article_id"], []).append(row["text"])
            if len(by_article) > stories:
                break
    return [lines[:5] for lines in list(by_article.values())[:stories]]


def prepare(tmp: str, *, stories: int, pages: int) -> None:
    """In the child process: the project, its themes, and a pack of at least `pages`."""
    setup_django(tmp, migrate=True)
    from django.contrib.auth.models import Group, User

    from cms.roles import Role
    from cms.services import project_add_member
    from stories import services
    from stories.importing import project_create
    from stories.models import CONSENT_SCOPES
    from themes import services as theme_services
    from transcription import services as transcription
    from workshops import export, selectors
    from workshops import pack as packs
    from workshops import services as workshop_services

    steward = User.objects.create_user("steward")
    steward.groups.add(Group.objects.get(name="Data stewards"))
    facilitator = User.objects.create_user("facilitator")
    reporter = User.objects.create_user("reporter")
    project = project_create(slug="bench", title="Bench", organisation="Bench", user=steward)
    project_add_member(project=project, user=facilitator, role=Role.FACILITATOR)
    project_add_member(project=project, user=reporter, role=Role.REPORTER)
    for index, lines in enumerate(_paragraphs(stories)):
        teller = services.storyteller_get_or_create(
            project=project, pseudonym=f"Teller {index}", user=reporter
        )
        story = services.story_create(
            project=project,
            reporter=reporter,
            story=services.StoryInput(
                title=f"Story {index}", storyteller=teller, storyteller_role=ROLES[index % 5]
            ),
            consent=services.ConsentInput(scopes=set(CONSENT_SCOPES)),
            text="\n\n".join(lines),
        )
        services.story_approve(story=story, user=steward)
        transcription.job_run(job_id=transcription.job_enqueue(story=story).pk)
    run = theme_services.theme_run_start(project=project, user=facilitator, enqueue=False)
    theme_services.theme_run_execute(run_id=run.pk)
    workshop = workshop_services.workshop_create(
        project=project, user=facilitator, title="Bench workshop", draft=True
    )
    quotable = list(selectors.quotable_segments(project=project).values_list("pk", flat=True))
    while True:
        version = selectors.latest_version(workshop)
        pack = packs.resolve_pack(workshop=workshop, version=version, qr_codes=True)
        html = export.render_html(pack)
        import weasyprint

        printed = len(weasyprint.HTML(string=html).render().pages)
        if printed >= pages or not quotable:
            break
        raw = list(version.body.raw_data)
        for _ in range(10):
            if quotable:
                raw.append({"type": "quote", "value": {"quote": quotable.pop(), "notes": ""}})
        version.body = raw
        version.save_revision(user=facilitator)
    print(json.dumps({"workshop": workshop.pk, "pages": printed}))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="at least this many pages")
    parser.add_argument("--stories", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=["pdf", "html"], default="pdf")
    parser.add_argument("--prepare", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, stories=args.stories, pages=args.pages)
        return

    with tempfile.TemporaryDirectory(prefix="storyloom-bench-pack-") as tmp:
        start = time.perf_counter()
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--prepare",
                tmp,
                "--stories",
                str(args.stories),
                "--pages",
                str(args.pages),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            sys.stderr.write(child.stderr)
            sys.exit(child.returncode)
        prepared = json.loads(child.stdout.strip().splitlines()[-1])
        prepare_s = time.perf_counter() - start

        setup_django(tmp, migrate=False)
        from workshops import services
        from workshops.models import WorkshopPage

        workshop = WorkshopPage.objects.get(pk=prepared["workshop"])
        rss_before = rss_mb()
        timings = []
        for _ in range(args.repeat + 1):
            start = time.perf_counter()
            result = services.pack_export(workshop=workshop, fmt=args.format)
            timings.append(time.perf_counter() - start)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = {
            "format": args.format,
            "pages": prepared["pages"],
            "stories": args.stories,
            "quotes": sum(
                len(s.data.get("quotes", [])) + ("quote" in s.data) for s in result.pack.sections
            ),
            "bytes": len(result.content),
            "prepare_s": round(prepare_s, 1),
            "first_export_s": round(timings[0], 2),
            "median_export_s": round(statistics.median(timings[1:]), 2),
            "target_s": 5.0,
            "rss_before_mb": round(rss_before, 1),
            "peak_rss_mb": round(peak, 1),
        }
        print(json.dumps(out))


if __name__ == "__main__":
    main()
