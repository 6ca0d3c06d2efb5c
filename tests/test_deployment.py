"""docker-compose.yml and the Dockerfile agree with what cms/settings.py reads.

There is no Docker engine on the build machines, so the compose file is checked by
parsing it (and by `docker compose config` where the compose plugin exists), and the
environment it gives the app is loaded by the real settings in a fresh process.
"""

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
import yaml
from django.conf import settings

from tests.test_settings import REPO, clean_env, load_settings

pytestmark = pytest.mark.no_database

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
APP_SERVICES = ("web", "worker", "migrate", "scheduler")
# Variables only docker compose itself uses (never passed to the app under their own name).
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "WEB_BIND"}
ESSENTIAL = {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "MEDIA_ROOT", "PRIVATE_MEDIA_ROOT"}
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k" * 60,
    "POSTGRES_PASSWORD": "a-database-password",
    "DJANGO_ALLOWED_HOSTS": "stories.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://stories.example.org",
    "EMAIL_HOST": "smtp.example.org",
}


def settings_variables():
    """Every environment variable cms/settings.py reads."""
    source = (REPO / "cms" / "settings.py").read_text()
    names = set(
        re.findall(r'(?:os\.environ\.get|env_bool|env_list)\(\s*"([A-Z][A-Z0-9_]*)"', source)
    )
    # dj_database_url.config() reads its variable itself.
    assert "dj_database_url.config(" in source
    names.add(inspect.signature(dj_database_url.config).parameters["env"].default)
    return names


# --- A small implementation of compose's ${VAR} interpolation -----------------------------
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    pass


def interpolate(value, env):
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"]
        present = name in env and (env[name] != "" or not (op or "").startswith(":"))
        if present:
            return env[name]
        if op and op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-"):
            return arg
        return ""

    return INTERPOLATION.sub(replace, value)


def variables_used(value):
    if isinstance(value, dict):
        return set().union(*(variables_used(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(variables_used(v) for v in value)) if value else set()
    if isinstance(value, str):
        return {m["name"] or m["bare"] for m in INTERPOLATION.finditer(value) if not m["escaped"]}
    return set()


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def production(compose):
    """The compose file as docker compose would see it with a typical .env."""
    return interpolate(compose, PRODUCTION_ENV)


def environment(service):
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def command(service):
    cmd = service["command"]
    return cmd.split() if isinstance(cmd, str) else list(cmd)


def volume_at(service, target):
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            if rest.split(":")[0] == target:
                return source
        elif volume.get("target") == target:
            return volume.get("source")
    return None


# --- The services ----------------------------------------------------------------------
def test_the_production_services_exist(services):
    assert {"web", "worker", "db", "redis", "migrate"} <= set(services)
    assert re.fullmatch(r"postgres:1[56](\b.*)?", services["db"]["image"])
    assert re.fullmatch(r"redis:7(\b.*)?", services["redis"]["image"])
    assert services["db"]["healthcheck"]["test"] and services["redis"]["healthcheck"]["test"]


def test_web_and_worker_run_the_same_image_built_from_the_dockerfile(services):
    images = {services[name]["image"] for name in APP_SERVICES}
    builds = {str(services[name]["build"]) for name in APP_SERVICES}
    assert len(images) == 1 and builds == {"."}
    assert DOCKERFILE.exists()


def test_web_is_gunicorn_on_the_loopback_address_by_default(services, production):
    cmd = command(services["web"])
    assert cmd[:2] == ["gunicorn", "cms.wsgi"]
    assert "--bind=0.0.0.0:8000" in cmd  # inside the container; the host side is below
    (port,) = production["services"]["web"]["ports"]
    assert port == "127.0.0.1:8000:8000"
    # The database and Redis are reachable only from the other containers.
    assert "ports" not in services["db"] and "ports" not in services["redis"]


def test_the_schema_is_migrated_before_web_and_workers_start(services):
    assert command(services["migrate"]) == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"


def test_the_worker_is_the_rq_worker_for_every_task_queue(services):
    cmd = command(services["worker"])
    assert cmd[:3] == ["python", "manage.py", "rqworker"]
    queues = []
    for arg in cmd[3:]:
        if arg.startswith("-"):
            break
        queues.append(arg)
    assert sorted(queues) == sorted(settings.TASK_QUEUES)
    assert cmd[cmd.index("--job-class") + 1] == "django_tasks_rq.Job"


def test_the_scheduler_calls_the_daily_jobs_every_hour(services):
    script = command(services["scheduler"])[-1]
    assert "manage.py daily" in script and "sleep 3600" in script


def test_workers_can_be_scaled(services):
    """`docker compose up --scale worker=3` needs no fixed name and no published port."""
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]


# --- Environment and volumes -----------------------------------------------------------
def test_every_app_variable_is_one_the_settings_read(services):
    known = settings_variables()
    assert not COMPOSE_ONLY & known
    for name in APP_SERVICES:
        env = environment(services[name])
        assert set(env) <= known, f"{name}: settings.py never reads {set(env) - known}"
        for key, value in env.items():
            # DJANGO_ALLOWED_HOSTS: ${DJANGO_ALLOWED_HOSTS:-...}, never another name.
            if m := re.fullmatch(r"\$\{([A-Z0-9_]+)[^}]*\}", str(value)):
                assert m[1] == key, f"{name}: {key} is set from ${{{m[1]}}}"
    unknown = variables_used(services) - known - COMPOSE_ONLY
    assert not unknown, f"docker-compose.yml uses variables nothing reads: {unknown}"


def test_the_essential_variables_are_set_for_web_and_worker(services, production):
    for name in APP_SERVICES:
        env = environment(services[name])
        assert ESSENTIAL <= set(env), f"{name} lacks {ESSENTIAL - set(env)}"
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        resolved = environment(production["services"][name])
        assert resolved["DATABASE_URL"].startswith("postgres://storyloom:a-database-password@db")
        assert resolved["REDIS_URL"].startswith("redis://redis:6379")
        assert not any("$" in str(value) for value in resolved.values())


def test_the_secrets_must_be_given(compose):
    for missing in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        with pytest.raises(MissingVariable, match=missing):
            interpolate(compose, env)
    with pytest.raises(MissingVariable, match="DJANGO_SECRET_KEY"):
        interpolate(compose, {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""})


def test_debug_is_never_turned_on(services, production):
    for name, service in production["services"].items():
        value = str(environment(service).get("DJANGO_DEBUG", "")).strip().lower()
        assert value in {"", "0", "false", "no", "off"}, f"{name} turns DJANGO_DEBUG on"
    assert "DJANGO_DEBUG" not in variables_used(services)


def test_private_media_is_one_volume_shared_by_web_and_worker_only(compose, services):
    private_volume = None
    for name in APP_SERVICES:
        root = environment(services[name])["PRIVATE_MEDIA_ROOT"]
        media = environment(services[name])["MEDIA_ROOT"]
        assert not Path(root).is_relative_to(media)
        source = volume_at(services[name], root)
        assert source in compose["volumes"], f"{name}: {root} is not a named volume"
        assert private_volume in (None, source)
        private_volume = source
        assert volume_at(services[name], media) in compose["volumes"]
        assert volume_at(services[name], environment(services[name])["STORYLOOM_VAR_DIR"])
    for name in set(services) - set(APP_SERVICES):
        mounted = [str(v) for v in services[name].get("volumes", [])]
        assert not any(v.split(":")[0] == private_volume for v in mounted), name


@pytest.mark.slow
def test_the_settings_load_from_the_compose_environment(tmp_path, production):
    """What web and worker get from compose is a working production configuration."""
    # The settings create STORYLOOM_VAR_DIR: keep it off this machine's /data.
    web = environment(production["services"]["web"])
    assert web.pop("STORYLOOM_VAR_DIR") == "/data/var"
    env = clean_env(tmp_path / "var", **web)

    s = load_settings(
        env,
        "DEBUG",
        "DATABASES",
        "TASKS",
        "RQ_QUEUES",
        "PRIVATE_MEDIA_ROOT",
        "SESSION_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "ALLOWED_HOSTS",
        check=True,
    )
    assert s["DEBUG"] is False
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert s["DATABASES"]["default"]["HOST"] == "db"
    assert s["TASKS"]["default"]["BACKEND"] == "cms.task_backends.RQBackend"
    assert sorted(s["RQ_QUEUES"]) == sorted(settings.TASK_QUEUES)
    assert s["PRIVATE_MEDIA_ROOT"] == "/data/private"
    assert s["_private_storage"]["base_url"] is None
    assert s["SESSION_COOKIE_SECURE"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["ALLOWED_HOSTS"] == ["stories.example.org"]
    assert s["_check"] == "ok"

    # Django's deployment checklist finds no errors (HSTS and the HTTPS redirect are the
    # TLS proxy's job, and only warnings).
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_docker_compose_config_accepts_the_file(tmp_path, production):
    """The real `docker compose config` where the plugin exists; our reading of it always."""
    assert production["services"]["web"]["image"] == "storyloom:latest"
    docker = shutil.which("docker")
    if docker is None:
        return
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30
    )
    if version.returncode != 0:  # the client without the compose plugin (as here)
        return
    env = {**clean_env(tmp_path / "var"), **PRODUCTION_ENV}
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--format", "json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    env.pop("DJANGO_SECRET_KEY")
    refused = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY" in refused.stderr


# --- The image ---------------------------------------------------------------------------
def dockerfile_instructions():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [line.split(None, 1) for line in lines if line and not line.startswith("#")]


def test_the_dockerfile_builds_a_non_root_image_with_espeak_ng():
    instructions = dockerfile_instructions()
    first = {op.upper(): arg for op, arg in reversed(instructions)}
    runs = " ".join(arg for op, arg in instructions if op.upper() == "RUN")

    assert first["FROM"].startswith("python:3.13-slim-bookworm")
    assert re.search(r"apt-get install\b[^&]*\bespeak-ng\b", runs)
    assert re.search(r"pip install \.(\s|$)", runs)
    assert "collectstatic" in runs
    users = [arg.strip() for op, arg in instructions if op.upper() == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_the_image_environment_is_read_by_the_settings():
    known = settings_variables()
    env_names = set()
    for op, arg in dockerfile_instructions():
        if op.upper() == "ENV":
            env_names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", arg))
    app_names = {n for n in env_names if not n.startswith(("PYTHON", "PIP_"))}
    app_names.discard("DJANGO_SETTINGS_MODULE")
    assert app_names and app_names <= known, app_names - known


def test_secrets_and_local_data_stay_out_of_the_image():
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", "var", ".git"} <= ignored
