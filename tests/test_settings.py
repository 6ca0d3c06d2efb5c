"""cms/settings.py under the environments a site will give it.

Each load runs in a fresh Python process with exactly the environment given here (nothing
inherited from the test run), so these tests see what `manage.py` would see on a server.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database

REPO = Path(__file__).resolve().parents[1]
QUEUES = ["default", "transcription", "themes"]

LOADER = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "cms.settings"
from django.conf import settings
if json.loads(sys.argv[2]):
    import django
    django.setup()
from django.core.files.storage import storages
names = json.loads(sys.argv[1])
out = {name: getattr(settings, name, None) for name in names}
private = storages["private"]
out["_private_storage"] = {
    "class": type(private).__module__ + "." + type(private).__qualname__,
    "base_url": getattr(private, "base_url", None),
    "location": str(getattr(private, "location", "")),
}
try:
    private.url("recording.flac")
    out["_private_url"] = "HAS A URL"
except ValueError as e:
    out["_private_url"] = "refused: " + str(e)
if json.loads(sys.argv[2]):
    from django.core.management import call_command
    call_command("check", fail_level="ERROR")
    out["_check"] = "ok"
print("SETTINGS-JSON " + json.dumps(out, default=str))
"""


def clean_env(var_dir, **extra):
    """A bare environment: only what a process needs to start, plus `extra`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "STORYLOOM_VAR_DIR": str(var_dir),
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run_settings(env, names=(), *, check=False):
    return subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(list(names)), json.dumps(check)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load_settings(env, *names, check=False):
    """The named settings (JSON-ish) from a fresh process, failing with its stderr."""
    done = run_settings(env, names, check=check)
    assert done.returncode == 0, f"settings did not load:\n{done.stderr[-3000:]}"
    line = next(x for x in done.stdout.splitlines() if x.startswith("SETTINGS-JSON "))
    return json.loads(line.removeprefix("SETTINGS-JSON "))


@pytest.fixture
def var_dir(tmp_path):
    return tmp_path / "var"


def test_the_default_database_is_sqlite_in_the_var_folder(var_dir):
    s = load_settings(clean_env(var_dir), "DATABASES", "INSTALLED_APPS")

    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]) == var_dir / "storyloom.sqlite3"
    assert "django.contrib.postgres" not in s["INSTALLED_APPS"]


def test_database_url_switches_to_postgresql(var_dir):
    env = clean_env(var_dir, DATABASE_URL="postgres://story:s3cret@db.internal:5433/storyloom")
    s = load_settings(env, "DATABASES", "INSTALLED_APPS")

    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == (
        "db.internal",
        5433,
        "storyloom",
        "story",
    )
    assert "django.contrib.postgres" in s["INSTALLED_APPS"]


@pytest.mark.slow
def test_without_redis_tasks_go_to_the_database_queue(var_dir):
    s = load_settings(clean_env(var_dir), "TASKS", "RQ_QUEUES", "INSTALLED_APPS", check=True)

    assert s["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert s["TASKS"]["default"]["QUEUES"] == QUEUES
    assert s["RQ_QUEUES"] is None
    assert "django_tasks_db" in s["INSTALLED_APPS"]
    assert "django_rq" not in s["INSTALLED_APPS"]
    assert s["_check"] == "ok"  # the system checks (task backends included) pass


@pytest.mark.slow
def test_redis_url_switches_tasks_to_rq_with_all_three_queues(var_dir):
    url = "redis://redis.internal:6379/2"
    env = clean_env(var_dir, REDIS_URL=url)
    s = load_settings(env, "TASKS", "RQ_QUEUES", "INSTALLED_APPS", check=True)

    assert s["TASKS"]["default"]["BACKEND"] == "cms.task_backends.RQBackend"
    assert s["TASKS"]["default"]["QUEUES"] == QUEUES
    assert sorted(s["RQ_QUEUES"]) == sorted(QUEUES)
    assert all(queue["URL"] == url for queue in s["RQ_QUEUES"].values())
    assert "django_rq" in s["INSTALLED_APPS"]
    # RQBackend's own check: django_rq installed, every queue configured for it.
    assert s["_check"] == "ok"


def test_the_secret_key_is_made_once_kept_private_and_reused(var_dir):
    first = load_settings(clean_env(var_dir), "SECRET_KEY")["SECRET_KEY"]
    second = load_settings(clean_env(var_dir), "SECRET_KEY")["SECRET_KEY"]

    key_file = var_dir / "secret_key"
    assert len(first) >= 50
    assert first == second == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in var_dir.iterdir() if "secret" in p.name] == ["secret_key"]


def test_django_secret_key_overrides_the_kept_key(var_dir):
    kept = load_settings(clean_env(var_dir), "SECRET_KEY")["SECRET_KEY"]
    given = "a-key-from-the-environment-" + "x" * 40

    s = load_settings(clean_env(var_dir, DJANGO_SECRET_KEY=given), "SECRET_KEY")

    assert s["SECRET_KEY"] == given
    assert (var_dir / "secret_key").read_text().strip() == kept


def test_processes_starting_together_share_one_secret_key(var_dir):
    """gunicorn workers and a task worker may all start before any key exists."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER, json.dumps(["SECRET_KEY"]), "false"],
            cwd=REPO,
            env=clean_env(var_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    keys = set()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        line = next(x for x in out.splitlines() if x.startswith("SETTINGS-JSON "))
        keys.add(json.loads(line.removeprefix("SETTINGS-JSON "))["SECRET_KEY"])

    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert sorted(p.name for p in var_dir.iterdir() if "secret" in p.name) == ["secret_key"]


@pytest.mark.parametrize("private", ["media/private", "media"])
def test_private_media_inside_public_media_is_refused(tmp_path, var_dir, private):
    env = clean_env(var_dir, MEDIA_ROOT=tmp_path / "media", PRIVATE_MEDIA_ROOT=tmp_path / private)

    done = run_settings(env)

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "PRIVATE_MEDIA_ROOT must not lie inside MEDIA_ROOT" in done.stderr


def test_private_media_beside_public_media_is_accepted(tmp_path, var_dir):
    """A name that merely starts the same ("media-private") is not inside "media"."""
    env = clean_env(
        var_dir, MEDIA_ROOT=tmp_path / "media", PRIVATE_MEDIA_ROOT=tmp_path / "media-private"
    )

    s = load_settings(env, "PRIVATE_MEDIA_ROOT")

    assert Path(s["PRIVATE_MEDIA_ROOT"]) == tmp_path / "media-private"
    assert Path(s["_private_storage"]["location"]) == tmp_path / "media-private"


def test_private_files_have_no_url_at_all(tmp_path, var_dir):
    env = clean_env(var_dir, PRIVATE_MEDIA_ROOT=tmp_path / "private")

    s = load_settings(env, "MEDIA_URL", "STORAGES")

    assert s["_private_storage"]["base_url"] is None
    assert s["_private_url"].startswith("refused")  # never MEDIA_URL + name
    options = s["STORAGES"]["private"]["OPTIONS"]
    assert options["file_permissions_mode"] == 0o600
    assert options["directory_permissions_mode"] == 0o700
    assert Path(s["_private_storage"]["location"]) == tmp_path / "private"


def test_private_files_have_no_url_in_the_test_run_either():
    """The storage the rest of the suite uses is the same kind (no MEDIA_URL fallback)."""
    from django.core.files.storage import storages

    private = storages["private"]
    assert private.base_url is None
    with pytest.raises(ValueError):
        private.url("recording.flac")


def test_the_upload_limit_is_2_gb_unless_configured(var_dir):
    default = load_settings(clean_env(var_dir), "STORYLOOM_MAX_UPLOAD_BYTES")
    configured = load_settings(
        clean_env(var_dir, STORYLOOM_MAX_UPLOAD_BYTES=5_000_000), "STORYLOOM_MAX_UPLOAD_BYTES"
    )

    assert default["STORYLOOM_MAX_UPLOAD_BYTES"] == 2 * 1024**3
    assert configured["STORYLOOM_MAX_UPLOAD_BYTES"] == 5_000_000


def test_production_switches(var_dir):
    env = clean_env(
        var_dir,
        DJANGO_ALLOWED_HOSTS="stories.example.org, admin.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://stories.example.org",
        DJANGO_SECURE_COOKIES="true",
        DJANGO_BEHIND_TLS_PROXY="1",
    )
    names = ("DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")
    names += ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER")

    s = load_settings(env, *names)
    plain = load_settings(clean_env(var_dir), *names)

    assert s["DEBUG"] is False and plain["DEBUG"] is False
    assert s["ALLOWED_HOSTS"] == ["stories.example.org", "admin.example.org"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://stories.example.org"]
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert plain["SESSION_COOKIE_SECURE"] is False
    assert plain["SECURE_PROXY_SSL_HEADER"] is None


def _manage_check(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_SECRET_KEY": "x9!" + "k" * 10 + "Qp3$" + "z7" * 20,
    "DJANGO_ALLOWED_HOSTS": "stories.example.org",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_BEHIND_TLS_PROXY": "1",
    "EMAIL_HOST": "smtp.example.org",
}


def test_check_deploy_is_clean_with_production_settings(var_dir):
    done = _manage_check(clean_env(var_dir, **PRODUCTION), "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "no issues" in done.stdout


def test_debug_with_a_public_host_stops_the_site(var_dir):
    env = clean_env(var_dir, DJANGO_DEBUG="1", DJANGO_ALLOWED_HOSTS="stories.example.org")
    done = _manage_check(env)

    assert done.returncode != 0
    assert "storyloom.E002" in done.stderr and "stories.example.org" in done.stderr
    assert _manage_check(clean_env(var_dir, DJANGO_DEBUG="1")).returncode == 0


def test_uploads_without_a_size_limit_stop_the_site(var_dir):
    done = _manage_check(clean_env(var_dir, STORYLOOM_MAX_UPLOAD_BYTES="0"))

    assert done.returncode != 0 and "storyloom.E003" in done.stderr


def test_private_media_with_a_url_or_a_public_acl_fails_the_check(settings):
    from cms.checks import private_media_is_not_public

    assert private_media_is_not_public() == []
    private = settings.STORAGES["private"]
    for options in ({"base_url": "/media/private/"}, {"default_acl": "public-read"}):
        settings.STORAGES = {**settings.STORAGES, "private": {**private, "OPTIONS": options}}
        assert [e.id for e in private_media_is_not_public()] == ["storyloom.E001"]


def test_private_media_inside_the_static_folder_stops_the_site(tmp_path, var_dir):
    env = clean_env(
        var_dir,
        STATIC_ROOT=str(tmp_path / "static"),
        PRIVATE_MEDIA_ROOT=str(tmp_path / "static" / "private"),
    )
    done = _manage_check(env)

    assert done.returncode != 0
    assert "storyloom.E001" in done.stderr and "STATIC_ROOT" in done.stderr
