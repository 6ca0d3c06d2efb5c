"""Load benchmark: pages under 20 users, large uploads while others browse, the job queue.

    .venv/bin/python bench/load.py                              # 10,000 stories, 60 s a page
    .venv/bin/python bench/load.py --stories 500 --duration 10  # a quick look
    .venv/bin/python bench/load.py --scenarios pages --pages my_stories,themes
    .venv/bin/python bench/load.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Prints ONE JSON object. Everything runs on this machine, on loopback only, and stops by
itself: a throw-away database (SQLite in a temporary folder, or a new PostgreSQL database
made on the server `--database-url` names and dropped afterwards) with one project of
`--stories` stories (see bench/load/dataset.py), gunicorn with 2 sync workers (DEBUG off,
static files from WhiteNoise) and Locust (bench/load/locustfile.py) as the load, then
task workers (`manage.py db_worker`) for the queue. Every process it starts is stopped on
the way out, Ctrl-C and errors included; the temporary folder is removed (`--keep` keeps it).

Scenarios (`--scenarios`, default all three):
- pages: for each page, `--users` users for `--duration` seconds: requests/s, p50/p95,
  error rate, 5xx; SQL queries per page (one request through Django's test client);
  the web workers' memory and CPU.
- uploads: `--uploads` stories of `--upload-mb` MB each through the capture form at once,
  while others browse and play a recording and a clip with Range requests: no 5xx, the
  web workers' memory growth.
- queue: `--jobs` transcription jobs (written stories, which are split, not transcribed)
  enqueued through the service, then drained by N workers for each N in `--workers`.
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "load"))
VENV_BIN = Path(sys.executable).parent
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
CACHE = ROOT / "var" / "bench-cache"
# The code measured: a copy of the working tree taken at the start (see snapshot_source).
SRC = ROOT

# bakerydemo's blog index, 2 gunicorn sync workers, wrk -t2 -c16, on this machine (issue 9).
REFERENCE = {"site": "wagtail/bakerydemo blog index", "rps": [57, 62], "single_ms": 34, "sql": 40}
TARGETS = {
    "p95_ms": 300,
    "http_5xx": 0,
    "rps_per_page": 2 * REFERENCE["rps"][0],  # at least 2x bakerydemo (57-62 req/s)
    "worker_rss_mb": 120,
    "upload_rss_growth_mb": 100,
}
SCENARIOS = ("pages", "uploads", "queue")


# --- Processes: every one started here is stopped on the way out -------------------------


class Processes:
    def __init__(self):
        self.running: list[subprocess.Popen] = []

    def start(self, args, *, log: Path | None = None, **kwargs) -> subprocess.Popen:
        out = log.open("ab") if log else subprocess.DEVNULL
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
        if log:
            out.close()
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen, *, grace: float = 10.0) -> None:
        """The process and everything it started (its own process group)."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything it left behind
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process, grace=5.0)


PROCESSES = Processes()


def progress(message: str) -> None:
    """A line on stderr while the run goes on (stdout is kept for the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.__stderr__, flush=True)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- Django, a throw-away database -------------------------------------------------------


def snapshot_source(tmp: Path) -> Path:
    """A copy of the working tree's files (tracked and untracked, less what git ignores),
    so that the server, the workers and this process all run the code as it was at the
    start, however long the run and whatever is edited meanwhile."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    src = tmp / "src"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not name.startswith("bench/"):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, src / name)
    return src


def _hash_files(paths) -> str:
    """Files of the copied tree by content (their copies are new each run), others (the
    installed packages') by size and time."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_relative_to(SRC):
            digest.update(f"{path.relative_to(SRC)}:".encode() + path.read_bytes())
        else:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def server_env(tmp: Path, database_url: str | None) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "STATIC_ROOT")
    }
    default_var = Path(os.environ.get("STORYLOOM_VAR_DIR", ROOT / "var"))
    env.update(
        DJANGO_SETTINGS_MODULE="cms.settings",
        STORYLOOM_VAR_DIR=str(tmp / "var"),
        MEDIA_ROOT=str(tmp / "var" / "media"),
        PRIVATE_MEDIA_ROOT=str(tmp / "var" / "private"),
        FILE_UPLOAD_TEMP_DIR=str(tmp / "uploads"),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LOG_LEVEL="WARNING",
        THEMES_MODEL_DIR=os.environ.get(
            "THEMES_MODEL_DIR", str(default_var / "models" / "potion-base-8M")
        ),
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    (tmp / "uploads").mkdir(parents=True, exist_ok=True)
    return env


def create_pg_database(url: str) -> tuple[str, str]:
    """A new, empty database on the server `url` names; returns its URL and name."""
    import psycopg

    name = f"storyloom_load_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_pg_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(env: dict, *, sqlite: bool) -> dict:
    """Django in this process on the throw-away database, migrated (SQLite: a migrated
    empty database is kept in var/bench-cache/ and copied, keyed by the migrations), and
    static files collected (also kept there, keyed by the static files)."""
    os.environ.update(env)
    for name in ("DATABASE_URL", "REDIS_URL", "STATIC_ROOT"):
        if name not in env:
            os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    timings = {}
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    files = [Path(sys.modules[m.__module__].__file__) for m in loader.disk_migrations.values()]
    key = _hash_files(files)
    cached = CACHE / f"migrated-{key}.sqlite3"
    db_file = Path(settings.DATABASES["default"]["NAME"]) if sqlite else None
    if sqlite and cached.exists():
        shutil.copyfile(cached, db_file)
        timings["migrate"] = "from cache"
    else:
        call_command("migrate", verbosity=0, interactive=False)
        if sqlite:
            connection.close()
            partial = cached.with_suffix(f".{os.getpid()}")
            shutil.copyfile(db_file, partial)
            os.replace(partial, cached)
            for old in CACHE.glob("migrated-*.sqlite3"):
                if old != cached and old.stat().st_mtime < time.time() - 3600:
                    old.unlink(missing_ok=True)
    timings["migrate_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    sources = [
        Path(storage.path(path))
        for finder in finders.get_finders()
        for path, storage in finder.list([])
    ]
    static = CACHE / f"static-{_hash_files(sources)}"
    if not (static / "staticfiles.json").exists():
        partial = CACHE / f"static-partial-{os.getpid()}"
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=SRC,
            env={**env, "STATIC_ROOT": str(partial)},
            check=True,
        )
        shutil.rmtree(static, ignore_errors=True)
        os.replace(partial, static)
        for old in CACHE.glob("static-*"):
            if old != static and old.is_dir() and old.stat().st_mtime < time.time() - 3600:
                shutil.rmtree(old, ignore_errors=True)
    timings["collectstatic_s"] = round(time.perf_counter() - start, 2)
    env["STATIC_ROOT"] = str(static)
    from django.test.utils import override_settings

    override_settings(STATIC_ROOT=str(static)).enable()  # resets the static files storage
    return timings


def make_session(user_id: int) -> str:
    """A logged-in session for the user, as the login page would leave it."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(pk=user_id)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save(must_create=True)
    return session.session_key


# --- The pages --------------------------------------------------------------------------


def page_plan(data, *, reporters_in_use: int) -> dict:
    """Each page with the user it is for; the reporter's pages in one variant per reporter."""
    from django.urls import NoReverseMatch, reverse

    sessions = {name: make_session(uid) for name, uid in data.users.items()}
    reporter_sessions = [(uid, make_session(uid)) for uid in data.reporters[:reporters_in_use]]
    slug, project_id = data.project_slug, data.project_id

    def one(url, role):
        return {"role": role, "variants": [{"url": url, "session": sessions[role]}]}

    pages = {
        "my_stories": {
            "role": "reporter",
            "variants": [
                {"url": reverse("stories:my_stories", args=[slug]), "session": s}
                for _, s in reporter_sessions
            ],
        },
        "story_status": {
            "role": "reporter",
            "variants": [
                {
                    "url": reverse("stories:story_status", args=[data.story_by_reporter[uid]]),
                    "session": s,
                }
                for uid, s in reporter_sessions
            ],
        },
        "admin_stories": one("/admin/stories/", "steward"),
        "themes": one(reverse("themes_admin:project", args=[project_id]), "facilitator"),
        "clips": one(reverse("transcription:clips", args=[slug]), "facilitator"),
    }
    optional = {
        "workshops": lambda: one(reverse("workshops:index"), "facilitator"),
        "workshop_pack": lambda: one(
            reverse("workshops:detail", args=[data.workshop_id]), "facilitator"
        ),
        "actions_dashboard": lambda: one(reverse("actions_admin:report"), "manager"),
        "action": lambda: one(reverse("actions_admin:detail", args=[data.action_id]), "manager"),
    }
    for name, build in optional.items():
        if name.startswith("workshop_pack") and not data.workshop_id:
            continue
        if name == "action" and not data.action_id:
            continue
        with contextlib.suppress(NoReverseMatch):
            pages[name] = build()
    return pages


def count_queries(pages: dict) -> dict:
    """SQL queries for one request of each page: the second, so that per-process caches
    are warm, unless the first took over 10 s. Counted by an execute wrapper (Django's
    CaptureQueriesContext keeps only the last 9,000)."""
    from django.db import connection
    from django.test import Client

    out = {}
    for name, page in pages.items():
        variant = page["variants"][0]
        client = Client(SERVER_NAME="127.0.0.1")
        client.cookies["sessionid"] = variant["session"]
        for attempt in range(2):
            shapes = Counter()

            def counted(execute, sql, params, many, context, shapes=shapes):
                shapes[_shape(sql)] += 1
                return execute(sql, params, many, context)

            start = time.perf_counter()
            with connection.execute_wrapper(counted):
                response = client.get(variant["url"])
            if attempt == 0 and time.perf_counter() - start > 10:
                break
        out[name] = {
            "status": response.status_code,
            "sql_queries": sum(shapes.values()),
            # The queries run most often (literals blanked): an N+1 shows up here.
            "sql_repeated": [
                {"times": n, "sql": _brief(sql)} for sql, n in shapes.most_common(3) if n > 5
            ],
        }
    return out


def _brief(sql: str) -> str:
    """The statement's verb and what follows FROM: the columns say little."""
    at = sql.find(" FROM ")
    return (f"{sql.split(' ', 1)[0]} ...{sql[at:]}" if at > 0 else sql)[:300]


def _shape(sql: str) -> str:
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    return re.sub(r"\(\?(, \?)*\)", "(?...)", sql)


# --- The web server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, tmp: Path, *, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = PROCESSES.start(
        [
            str(VENV_BIN / "gunicorn"),
            "cms.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "600",
        ],
        log=tmp / "gunicorn.log",
        cwd=SRC,
        env=env,
    )
    host = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {_tail(tmp / 'gunicorn.log')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            if len(web_workers(process)) >= workers:
                return process, host
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start: {_tail(tmp / 'gunicorn.log')}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def web_workers(master: subprocess.Popen) -> list:
    import psutil

    try:
        return psutil.Process(master.pid).children()
    except psutil.NoSuchProcess:
        return []


def workers_rss_mb(master) -> list[float]:
    import psutil

    out = []
    for worker in web_workers(master):
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(round(worker.memory_info().rss / 2**20, 1))
    return sorted(out)


def workers_cpu_s(master) -> float:
    import psutil

    total = 0.0
    for worker in web_workers(master):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = worker.cpu_times()
            total += times.user + times.system
    return total


def single_request_ms(host: str, variant: dict, *, repeat: int = 5) -> tuple[float, int]:
    """Median time of `repeat` requests one after another (after one to warm up; fewer
    for a page that takes seconds)."""
    import http.client

    parts = urlsplit(host)
    times, status = [], 0
    began = time.perf_counter()
    for n in range(repeat + 1):
        if len(times) >= 1 and time.perf_counter() - began > 15:
            break  # a slow page: one timed request is enough
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        start = time.perf_counter()
        conn.request("GET", variant["url"], headers={"Cookie": f"sessionid={variant['session']}"})
        response = conn.getresponse()
        response.read()
        status = response.status
        conn.close()
        if n:
            times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1), status


class MemorySampler(threading.Thread):
    """Samples the web workers' (and their children's) RSS until stopped."""

    def __init__(self, master, interval: float = 0.2):
        super().__init__(daemon=True)
        self.master, self.interval = master, interval
        self.peak: dict[int, float] = {}
        self.children_peak_mb = 0.0
        self.done = threading.Event()

    def run(self):
        import psutil

        while not self.done.is_set():
            for worker in web_workers(self.master):
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss = worker.memory_info().rss / 2**20
                    self.peak[worker.pid] = max(self.peak.get(worker.pid, 0.0), rss)
                    for child in worker.children(recursive=True):
                        with contextlib.suppress(psutil.NoSuchProcess):
                            child_rss = child.memory_info().rss / 2**20
                            self.children_peak_mb = max(self.children_peak_mb, child_rss)
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.join(5)


# --- Locust -----------------------------------------------------------------------------


def run_locust(plan: dict, *, host: str, users: int, seconds: int, tmp: Path, tag: str) -> dict:
    plan = {**plan, "result": str(tmp / f"locust-{tag}.json")}
    plan_path = tmp / f"plan-{tag}.json"
    plan_path.write_text(json.dumps(plan))
    process = PROCESSES.start(
        [
            str(VENV_BIN / "locust"),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--host",
            host,
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        log=tmp / f"locust-{tag}.log",
        cwd=ROOT,
        env={**os.environ, "LOAD_PLAN": str(plan_path)},
    )
    try:
        process.wait(seconds + 120)
    except subprocess.TimeoutExpired:
        pass
    PROCESSES.stop(process)
    try:
        return json.loads(Path(plan["result"]).read_text())
    except (OSError, ValueError):
        raise RuntimeError(f"Locust gave no result: {_tail(tmp / f'locust-{tag}.log')}") from None


def _five_xx(statuses: dict) -> int:
    return sum(n for code, n in statuses.items() if code.startswith("5"))


def scenario_pages(args, data, env, tmp, results: dict) -> dict:
    """Each page on its own fresh server: a slow page's queued requests (a sync worker
    finishes what it accepted, whether or not the client is still waiting) must not
    count against the next page, and each page's memory is its own."""
    pages = page_plan(data, reporters_in_use=args.users)
    if args.pages:
        wanted = args.pages.split(",")
        unknown = set(wanted) - set(pages)
        if unknown:
            raise SystemExit(f"Unknown page(s): {', '.join(sorted(unknown))}. Known: {list(pages)}")
        pages = {name: pages[name] for name in wanted}
    queries = count_queries(pages)
    csrf = secrets.token_hex(16)
    # With --repeat, every page is measured once per round, so that a busier spell of the
    # machine is shared among the pages rather than landing on one.
    for round_number in range(args.repeat):
        for name, page in pages.items():
            result = _measure_page(args, env, tmp, name, page, pages, queries[name], csrf)
            tag = f" (round {round_number + 1})" if args.repeat > 1 else ""
            progress(
                f"{name}{tag}: {result['rps']} req/s, p95 {result['p95_ms']} ms, "
                f"{result['http_5xx']} 5xx"
            )
            if round_number == 0:
                results[name] = result
            if args.repeat > 1:
                results[name].setdefault("rounds", []).append({k: result[k] for k in ROUND_FIGURES})
    if args.repeat > 1:
        for result in results.values():
            _use_medians(result)
    return {
        "users": args.users,
        "seconds_per_page": args.duration,
        "web_workers": args.web_workers,
        "rounds": args.repeat,
        "pages": results,
        "all_targets_met": all(all(r["meets"].values()) for r in results.values()),
    }


ROUND_FIGURES = ("requests", "rps", "p50_ms", "p95_ms", "http_5xx", "server_cpu_ms_per_request")


def _use_medians(result: dict) -> None:
    """The median of each figure over the rounds, and the targets judged on those."""
    rounds = result["rounds"]
    result["median"] = {
        key: statistics.median(r[key] for r in rounds if r[key] is not None)
        if any(r[key] is not None for r in rounds)
        else None
        for key in ("rps", "p50_ms", "p95_ms", "server_cpu_ms_per_request")
    }
    five_xx = sum(r["http_5xx"] for r in rounds)
    p95 = result["median"]["p95_ms"]
    result["meets"].update(
        p95=p95 is not None and p95 < TARGETS["p95_ms"],
        no_5xx=five_xx == 0,
        rps_2x_reference=result["median"]["rps"] >= TARGETS["rps_per_page"],
    )


def _measure_page(args, env, tmp, name, page, pages, queries, csrf) -> dict:
    master, host = start_gunicorn(env, tmp, workers=args.web_workers)
    try:
        single_ms, single_status = single_request_ms(host, page["variants"][0])
        rss_warm = workers_rss_mb(master)
        cpu_before = workers_cpu_s(master)
        sampler = MemorySampler(master, interval=0.5)
        sampler.start()
        run = run_locust(
            {"mode": "pages", "page": name, "pages": pages, "csrf": csrf, "wait": 0},
            host=host,
            users=args.users,
            seconds=args.duration,
            tmp=tmp,
            tag=f"page-{name}",
        )
        sampler.stop()
        cpu = workers_cpu_s(master) - cpu_before
        rss_after = workers_rss_mb(master)
    finally:
        PROCESSES.stop(master)
    result = _page_result(name, page, run, queries, cpu, sampler, single_ms)
    result["http_status_single"] = single_status
    result["worker_rss_mb"] = {
        "after_one_request": rss_warm,
        "peak": sorted(round(v, 1) for v in sampler.peak.values()),
        "after_load": rss_after,
    }
    return result


def _page_result(name, page, run, queries, cpu, sampler, single_ms) -> dict:
    figures = run["entries"].get(name, {})
    statuses = run["statuses"].get(name, {})
    requests = figures.get("requests", 0)
    done = requests > 0  # Locust's figures are 0, not "none", when nothing came back

    def figure(key):
        return figures.get(key) if done else None

    five_xx = _five_xx(statuses)
    peak = round(max(sampler.peak.values(), default=0.0), 1)
    return {
        "url": page["variants"][0]["url"],
        "user": page["role"],
        "sql_queries": queries["sql_queries"],
        "sql_repeated": queries["sql_repeated"],
        "single_request_ms": single_ms,
        "requests": requests,
        "rps": figures.get("rps", 0.0),
        "p50_ms": figure("p50_ms"),
        "p95_ms": figure("p95_ms"),
        "p99_ms": figure("p99_ms"),
        "max_ms": figure("max_ms"),
        "error_rate": round(figures.get("failures", 0) / requests, 4) if done else None,
        "http_5xx": five_xx,
        "statuses": statuses,
        "errors": dict(list(run["errors"].get(name, {}).items())[:3]),
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 1) if done else None,
        "worker_rss_peak_mb": peak,
        "meets": {
            "p95": done and figures["p95_ms"] < TARGETS["p95_ms"],
            "no_5xx": five_xx == 0,
            "rps_2x_reference": (figures.get("rps") or 0) >= TARGETS["rps_per_page"],
            "worker_rss": peak < TARGETS["worker_rss_mb"],
        },
    }


# --- Uploads ----------------------------------------------------------------------------


def upload_body(path: Path, *, megabytes: int, boundary: str) -> int:
    """The capture form, filled in, with a WAV of `megabytes` MB: one file on disk that
    every uploader streams."""
    from datetime import date

    from dataset import write_wav_to

    from stories.consent import SCRIPT_VERSION
    from stories.models import CONSENT_SCOPES

    fields = {
        "title": "A long story",
        "storyteller_new": "Uploader",
        "storyteller_role": "service_user",
        "language": "en",
        "recorded_on": date.today().isoformat(),
        "visibility": "team",
        "story_type": "upload",
        "consent_method": "written",
        "script_version": SCRIPT_VERSION,
        **{f"consent_{scope}": "on" for scope in CONSENT_SCOPES},
    }
    seconds = megabytes * 1_000_000 / 32_000
    with path.open("wb") as out:
        for name, value in fields.items():
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="media_file"; '
            f'filename="story.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode()
        )
        write_wav_to(out, seconds=seconds)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return path.stat().st_size


def scenario_uploads(args, data, env, tmp) -> dict:
    from django.urls import reverse

    from stories.models import StoryPage

    boundary = f"----storyloom-bench-{secrets.token_hex(8)}"
    body = tmp / "upload-body.bin"
    start = time.perf_counter()
    size = upload_body(body, megabytes=args.upload_mb, boundary=boundary)
    made_s = round(time.perf_counter() - start, 1)
    pages = page_plan(data, reporters_in_use=max(args.uploads, 1))
    pages.pop("my_stories", None)  # 1/reporters of every story, unpaginated: see its own figures
    targets = [
        {"url": reverse("stories:capture", args=[data.project_slug]), "session": make_session(uid)}
        for uid in data.reporters[: args.uploads]
    ]
    owner = make_session(data.reporters[0])
    facilitator = make_session(data.users["facilitator"])
    ranges = [
        {
            "name": "recording_range",
            "url": reverse("stories:recording", args=[data.recording_id]),
            "session": owner,
            "size": data.recording_bytes,
        }
    ]
    if data.clip_id:
        from transcription.models import Clip

        clip = Clip.objects.get(pk=data.clip_id)
        ranges.append(
            {
                "name": "clip_range",
                "url": reverse("transcription:clip_media", args=[clip.pk]),
                "session": facilitator,
                "size": clip.file.size,
            }
        )
    before = StoryPage.objects.count()
    master, host = start_gunicorn(env, tmp, workers=args.web_workers)
    try:
        for page in pages.values():  # one request each, so that the baseline is warm
            single_request_ms(host, page["variants"][0], repeat=1)
        baseline = {w.pid: round(w.memory_info().rss / 2**20, 1) for w in web_workers(master)}
        sampler = MemorySampler(master)
        sampler.start()
        start = time.perf_counter()
        run = run_locust(
            {
                "mode": "uploads",
                "pages": pages,
                "csrf": secrets.token_hex(16),
                "uploaders": args.uploads,
                "browsers": args.upload_browsers,
                "rangers": args.upload_rangers,
                "upload": {"targets": targets, "body": str(body), "boundary": boundary},
                "range": ranges,
                "wait": 0,
            },
            host=host,
            users=args.uploads + args.upload_browsers + args.upload_rangers,
            seconds=args.upload_timeout,
            tmp=tmp,
            tag="uploads",
        )
        wall = round(time.perf_counter() - start, 1)
        sampler.stop()
        after = workers_rss_mb(master)
    finally:
        PROCESSES.stop(master)
    body.unlink(missing_ok=True)
    growth = {pid: round(sampler.peak.get(pid, base) - base, 1) for pid, base in baseline.items()}
    statuses = {name: dict(counter) for name, counter in run["statuses"].items()}
    five_xx = sum(_five_xx(s) for s in statuses.values())
    leftovers = [p.name for p in (tmp / "uploads").iterdir()]
    max_growth = max(growth.values(), default=0.0)
    return {
        "uploads": args.uploads,
        "upload_bytes": size,
        "body_made_s": made_s,
        "wall_s": wall,
        "uploads_answered": run["uploads"]["answered"],
        "uploads_stored": run["uploads"]["ok"],
        "stories_added": StoryPage.objects.count() - before,
        "requests": {
            name: {
                k: v
                for k, v in figures.items()
                if k in ("requests", "rps", "p50_ms", "p95_ms", "max_ms")
            }
            for name, figures in run["entries"].items()
        },
        "statuses": statuses,
        "errors": {name: dict(list(c.items())[:3]) for name, c in run["errors"].items()},
        "http_5xx": five_xx,
        "worker_rss_mb": {
            "before": sorted(baseline.values()),
            "peak": sorted(round(v, 1) for v in sampler.peak.values()),
            "after": after,
        },
        "worker_rss_growth_mb": max_growth,
        "upload_checker_peak_rss_mb": round(sampler.children_peak_mb, 1),
        "temporary_upload_files_left": len(leftovers),
        "meets": {
            "no_5xx": five_xx == 0,
            "all_stored": run["uploads"]["ok"] == args.uploads,
            "rss_growth": max_growth < TARGETS["upload_rss_growth_mb"],
        },
    }


# --- The job queue ----------------------------------------------------------------------


def scenario_queue(args, data, env, tmp) -> dict:
    from django.db import close_old_connections
    from django_tasks_db.models import DBTaskResult

    from stories.models import StoryPage
    from transcription import services
    from transcription.models import JobStatus, TranscriptionJob

    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    ids = list(data.queue_story_ids)
    runs = []
    # Tasks queued by earlier scenarios (the uploads' real transcriptions: Whisper on hours
    # of audio) are not part of this measurement: the queue starts empty.
    cleared, _ = DBTaskResult.objects.all().delete()
    # What starting a worker costs on its own: Django set up, an empty queue, exit.
    start = time.perf_counter()
    empty = PROCESSES.start(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--queue-name",
            "transcription",
            "--batch",
            "--no-startup-delay",
            "-v",
            "0",
        ],
        log=tmp / "worker-empty.log",
        cwd=SRC,
        env=env,
    )
    with contextlib.suppress(subprocess.TimeoutExpired):
        empty.wait(120)
    PROCESSES.stop(empty)
    worker_start_s = round(time.perf_counter() - start, 2)
    for n_workers in counts:
        batch, ids = ids[: args.jobs], ids[args.jobs :]
        if len(batch) < args.jobs:
            runs.append({"workers": n_workers, "error": "not enough stories prepared"})
            continue
        stories = StoryPage.objects.in_bulk(batch)
        start = time.perf_counter()
        job_ids = [services.job_enqueue(story=stories[pk]).pk for pk in batch]
        enqueue_s = time.perf_counter() - start
        jobs = TranscriptionJob.objects.filter(pk__in=job_ids)
        start = time.perf_counter()
        workers = [
            PROCESSES.start(
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    "--queue-name",
                    "transcription",
                    "--batch",
                    "--no-startup-delay",
                    "--worker-id",
                    f"bench-{n_workers}-{i}",
                    "-v",
                    "0",
                ],
                log=tmp / f"worker-{n_workers}-{i}.log",
                cwd=SRC,
                env=env,
            )
            for i in range(n_workers)
        ]
        first_done = None
        deadline = time.monotonic() + args.queue_timeout
        done = 0
        while time.monotonic() < deadline:
            done = jobs.filter(status=JobStatus.DONE).count()
            if done and first_done is None:
                first_done = time.perf_counter() - start
            if done >= len(job_ids) or all(w.poll() is not None for w in workers):
                break
            time.sleep(0.2)
        drain_s = time.perf_counter() - start
        # None: still running when the queue was drained (or the time was up).
        exits = [w.poll() for w in workers]
        for worker in workers:
            PROCESSES.stop(worker)
        done = jobs.filter(status=JobStatus.DONE).count()
        close_old_connections()
        runs.append(
            {
                "workers": n_workers,
                "jobs": len(job_ids),
                "enqueue_s": round(enqueue_s, 2),
                "enqueue_per_s": round(len(job_ids) / enqueue_s, 1),
                "drain_s": round(drain_s, 2),
                "first_job_done_s": round(first_done, 2) if first_done else None,
                "jobs_done": done,
                "jobs_per_s": round(done / drain_s, 1) if drain_s else None,
                "jobs_per_s_after_first": round(done / (drain_s - first_done), 1)
                if first_done and drain_s > first_done
                else None,
                "failed": jobs.filter(status=JobStatus.FAILED).count(),
                "timed_out": done < len(job_ids),
                "worker_exit_codes": exits,
            }
        )
        progress(f"queue, {n_workers} worker(s): {done} jobs in {drain_s:.0f} s")
        if any(code not in (None, 0) for code in exits):
            runs[-1]["worker_log_tail"] = _tail(tmp / f"worker-{n_workers}-0.log", 5)
    return {
        "job": "split a written story (no Whisper)",
        "tasks_cleared_before": cleared,
        "worker_start_and_exit_empty_s": worker_start_s,
        "runs": runs,
    }


# --- main -------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stories", type=int, default=10_000, help="stories in the project")
    parser.add_argument("--reporters", type=int, default=20, help="reporters sharing them")
    parser.add_argument("--users", type=int, default=20, help="concurrent users per page")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per page")
    parser.add_argument("--pages", default="", help="comma-separated page names (default all)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the pages (medians printed)"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--uploads", type=int, default=10, help="concurrent uploads")
    parser.add_argument("--upload-mb", type=int, default=200, help="size of each upload")
    parser.add_argument("--upload-browsers", type=int, default=8)
    parser.add_argument("--upload-rangers", type=int, default=2)
    parser.add_argument("--upload-timeout", type=int, default=600, help="seconds at most")
    parser.add_argument("--recording-seconds", type=float, default=300, help="Range target")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per queue run")
    parser.add_argument("--workers", default="1,2,4", help="task workers for each queue run")
    parser.add_argument("--queue-timeout", type=int, default=600, help="seconds per queue run")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgres://user@host:port/db): a new database is made "
        "there and dropped afterwards; default SQLite in a temporary folder",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    args.scenarios = scenarios
    if {"pages", "uploads"} & set(scenarios) and not (VENV_BIN / "locust").exists():
        parser.error(
            "Locust is not installed in this environment: .venv/bin/pip install '.[bench]'"
        )
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL URL")
    return args


def main(argv=None):
    global SRC
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="storyloom-load-"))
    # Only the JSON goes to stdout: anything else printed here (mail written to the console
    # while the stories are made, for one) goes to a log in the temporary folder.
    stdout, log = sys.stdout, (tmp / "bench.log").open("w")
    sys.stdout = log
    pg = None
    out = {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "config": {k: v for k, v in vars(args).items() if k != "database_url"},
        "reference": REFERENCE,
        "targets": TARGETS,
    }
    try:
        database_url = None
        if args.database_url:
            database_url, name = create_pg_database(args.database_url)
            pg = (args.database_url, name)
        SRC = snapshot_source(tmp)
        sys.path.insert(0, str(SRC))
        env = server_env(tmp, database_url)
        out["database"] = "postgresql" if pg else "sqlite"
        out["setup"] = setup_django(env, sqlite=not pg)
        from dataset import build

        start = time.perf_counter()
        queue_stories = args.jobs * len(args.workers.split(",")) if "queue" in args.scenarios else 0
        data = build(
            stories=args.stories,
            reporters=args.reporters,
            recording_seconds=args.recording_seconds,
            queue_stories=queue_stories,
            work_dir=tmp,
        )
        out["setup"]["dataset_s"] = round(time.perf_counter() - start, 1)
        progress(f"dataset: {data.stories} stories in {out['setup']['dataset_s']} s")
        out["dataset"] = {
            "stories": data.stories,
            "approved_with_transcripts": data.approved,
            "reporters": len(data.reporters),
            "segments": data.segments,
            "themes": data.themes,
            "clips": data.clips,
            "workshop": data.workshop_id is not None,
            "actions": data.action_id is not None,
            "timings": data.timings,
        }
        if "pages" in args.scenarios:
            out["pages"] = {"pages": {}}
            out["pages"] = scenario_pages(args, data, env, tmp, out["pages"]["pages"])
        if "uploads" in args.scenarios:
            out["uploads"] = scenario_uploads(args, data, env, tmp)
            progress(f"uploads: {out['uploads']['uploads_stored']} stored")
        if "queue" in args.scenarios:
            out["queue"] = scenario_queue(args, data, env, tmp)
    except BaseException as error:
        # What was measured so far is still printed, with what stopped the run.
        out["error"] = f"{type(error).__name__}: {error}"
        failed = error
    else:
        failed = None
    finally:
        PROCESSES.stop_all()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if pg:
            with contextlib.suppress(Exception):
                drop_pg_database(*pg)
        sys.stdout = stdout
        log.close()
        if args.keep:
            print(f"kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    if failed is not None:
        print(f"stopped: {out['error']} (log: {tmp / 'bench.log'})", file=sys.stderr)
        raise SystemExit(130 if isinstance(failed, KeyboardInterrupt) else 1)


if __name__ == "__main__":
    main()
