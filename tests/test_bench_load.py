"""bench/load.py: its command line, and its machinery end to end on a tiny project (the
figures themselves are the bench's business, run by hand: see bench/README.md)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LOAD = Path(__file__).resolve().parents[1] / "bench" / "load.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("bench_load", LOAD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.no_database
def test_help_names_the_scenarios_and_starts_nothing():
    result = subprocess.run(
        [sys.executable, str(LOAD), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for words in ("--stories", "--duration", "--database-url", "pages", "uploads", "queue"):
        assert words in result.stdout


@pytest.mark.no_database
def test_defaults_are_the_issues_figures():
    args = _load_module().parse_args(["--scenarios", "queue"])
    assert (args.stories, args.users, args.web_workers) == (10_000, 20, 2)
    assert (args.uploads, args.upload_mb, args.jobs) == (10, 200, 1000)
    assert args.scenarios == ["queue"]


@pytest.mark.no_database
@pytest.mark.parametrize(
    "argv",
    [["--scenarios", "pages,soak"], ["--database-url", "mysql://x@127.0.0.1/db"]],
)
def test_bad_arguments_are_refused_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        _load_module().parse_args(argv)
    assert stopped.value.code == 2
    assert "error:" in capsys.readouterr().err


def _processes_under(folder: Path) -> list[str]:
    """Processes whose environment points into `folder` (the bench gives every process it
    starts its temporary folder: STORYLOOM_VAR_DIR, LOAD_PLAN)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            environ = process.environ()
        except (psutil.Error, OSError):
            continue
        if any(str(folder) in environ.get(k, "") for k in ("STORYLOOM_VAR_DIR", "LOAD_PLAN")):
            found.append(f"{process.info['pid']} {process.info['name']}")
    return found


@pytest.mark.slow
@pytest.mark.no_database
def test_a_tiny_run_measures_pages_and_uploads_and_leaves_nothing_behind(tmp_path):
    """A small project, one page under two users for two seconds, then two small uploads
    while others browse and play with Range requests: one JSON object on stdout, every
    request answered without a 5xx, and no server or Locust left running. (The queue
    scenario is left out to keep this under a minute.)"""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            str(LOAD),
            *("--stories", "60", "--reporters", "2", "--recording-seconds", "30"),
            *("--scenarios", "pages,uploads", "--pages", "themes"),
            *("--users", "2", "--duration", "2"),
            *("--uploads", "2", "--upload-mb", "1", "--upload-browsers", "1"),
            *("--upload-rangers", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)

    assert out["dataset"]["stories"] == 60
    assert out["dataset"]["themes"] == 20
    page = out["pages"]["pages"]["themes"]
    assert page["requests"] > 0
    assert page["statuses"] == {"200": page["requests"]}, page["errors"]
    assert page["http_5xx"] == 0 and page["error_rate"] == 0
    assert page["sql_queries"] > 0 and page["p95_ms"] is not None
    assert set(page["meets"]) == {"p95", "no_5xx", "rps_2x_reference", "worker_rss"}

    uploads = out["uploads"]
    assert uploads["uploads_stored"] == uploads["stories_added"] == 2, uploads["errors"]
    assert uploads["http_5xx"] == 0, uploads["statuses"]
    played = {k: v for k, v in uploads["statuses"].items() if k.endswith("_range")}
    assert played and all(set(codes) == {"206"} for codes in played.values()), played
    assert uploads["temporary_upload_files_left"] == 0

    # Everything it started has stopped, and its temporary folder is gone.
    assert _processes_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
