"""Storyloom settings: one file, driven by the environment (see README "Configuration")."""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("STORYLOOM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG")


def _secret_key():
    """From the environment, else generated once and kept in var/ (never a shared default)."""
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        # Written whole under a temporary name, then linked into place: processes starting
        # together (gunicorn workers, a task worker) all read the one key that won.
        tmp = VAR_DIR / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "cms",
    "stories",
    "transcription",
    "themes",
    "workshops",
    "actions",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks_db",
    # Two-step login with an authenticator app (django-two-factor-auth on django-otp), and
    # lock-out after failed logins (django-axes).
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "formtools",
    "axes",
    # Resumable uploads from phones (the tus protocol): stories.resumable.
    "rest_framework_tus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A search longer than anyone types is answered 400 before a view builds a query of it.
    "stories.http.SearchLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cms.urls"
WSGI_APPLICATION = "cms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL says otherwise -----------------------
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'storyloom.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    INSTALLED_APPS.append("django.contrib.postgres")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker share the file: wait for the other's write instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks: database queue by default, Redis (RQ) when REDIS_URL is set -------
TASK_QUEUES = ["default", "transcription", "themes"]
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600} for name in TASK_QUEUES}
    TASKS = {
        # django-tasks-rq's backend, but Wagtail's own upkeep on each save stays in-process,
        # so that an admin save never needs Redis (cms/task_backends.py).
        "default": {"BACKEND": "cms.task_backends.RQBackend", "QUEUES": TASK_QUEUES},
    }
else:
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": TASK_QUEUES,
        },
    }

# --- Caches ---------------------------------------------------------------------------
# "default" is per process. "uploads" (per-user upload counts) must be shared by every web
# process: Redis when there is one, else files under var/ (shared by the processes of one
# host; a site with several web hosts and no Redis gets a limit per host).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "uploads": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "storyloom",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache" / "uploads"),
        "OPTIONS": {"MAX_ENTRIES": 10000},
    },
}

# --- Files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Recordings, consent evidence: never under MEDIA_URL, only through a permission-checked view.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))
if PRIVATE_MEDIA_ROOT.resolve().is_relative_to(MEDIA_ROOT.resolve()):
    raise ImproperlyConfigured("PRIVATE_MEDIA_ROOT must not lie inside MEDIA_ROOT.")

# Private media may live on S3-compatible object storage instead (django-storages):
# PRIVATE_STORAGE_BACKEND=storages.backends.s3.S3Storage
# PRIVATE_STORAGE_OPTIONS='{"bucket_name": "storyloom-private", "endpoint_url": "https://..."}'
PRIVATE_STORAGE = {
    "BACKEND": os.environ.get("PRIVATE_STORAGE_BACKEND", "cms.storage.PrivateFileSystemStorage"),
    "OPTIONS": json.loads(os.environ.get("PRIVATE_STORAGE_OPTIONS", "{}")),
}
if PRIVATE_STORAGE["BACKEND"].endswith("FileSystemStorage"):
    PRIVATE_STORAGE["OPTIONS"] = {
        "location": PRIVATE_MEDIA_ROOT,
        "base_url": None,
        "file_permissions_mode": 0o600,
        "directory_permissions_mode": 0o700,
    }
else:
    # Never hand out public or pre-signed URLs for private media.
    PRIVATE_STORAGE["OPTIONS"].setdefault("default_acl", "private")
    PRIVATE_STORAGE["OPTIONS"].setdefault("querystring_auth", True)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": PRIVATE_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads stream to temporary files on disk (never whole in memory), with a size limit.
STORYLOOM_MAX_UPLOAD_BYTES = int(os.environ.get("STORYLOOM_MAX_UPLOAD_BYTES", 2 * 1024**3))
FILE_UPLOAD_HANDLERS = [
    "stories.uploads.SizeLimitUploadHandler",
    # Django's TemporaryFileUploadHandler, with temporary names that take nothing from the
    # uploader's file name.
    "stories.uploads.SafeTemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None
FILE_UPLOAD_PERMISSIONS = 0o600
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# How often one person may send a story through the story form: this many per window
# (0: no limit). Counted in the "uploads" cache, which every web process shares.
STORYLOOM_UPLOADS_PER_WINDOW = int(os.environ.get("STORYLOOM_UPLOADS_PER_WINDOW", 30))
STORYLOOM_UPLOAD_WINDOW_MINUTES = int(os.environ.get("STORYLOOM_UPLOAD_WINDOW_MINUTES", 10))
STORYLOOM_UPLOAD_RATE_CACHE = "uploads"
# Resumable uploads (tus, served by drf-tus in stories.resumable): the phone sends the
# recording in pieces of this size, each read whole into memory, so it stays below Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB). What has arrived lies under PRIVATE_MEDIA_ROOT; an
# upload not finished and used within UPLOAD_EXPIRES is removed by the daily job.
STORYLOOM_UPLOAD_CHUNK_BYTES = int(os.environ.get("STORYLOOM_UPLOAD_CHUNK_BYTES", 1024**2))
REST_FRAMEWORK_TUS = {
    "UPLOAD_MODEL": "stories.ResumableUpload",
    "SAVE_HANDLER_CLASS": "stories.resumable.KeepInPrivateFolder",
    "UPLOAD_EXPIRES": timedelta(days=1),
    "MAX_FILE_SIZE": STORYLOOM_MAX_UPLOAD_BYTES,
}
# Media probing runs in a separate process with these limits.
STORYLOOM_PROBE_TIMEOUT_S = int(os.environ.get("STORYLOOM_PROBE_TIMEOUT_S", 30))
STORYLOOM_PROBE_MEMORY_BYTES = int(os.environ.get("STORYLOOM_PROBE_MEMORY_BYTES", 1024**3))

# --- Transcription (used by workers) -----------------------------------------------------
WHISPER_MODEL = os.environ.get("WHISPER_MODEL", "base")
WHISPER_COMPUTE_TYPE = os.environ.get("WHISPER_COMPUTE_TYPE", "int8")
WHISPER_BEAM_SIZE = int(os.environ.get("WHISPER_BEAM_SIZE", 5))
WHISPER_CPU_THREADS = int(os.environ.get("WHISPER_CPU_THREADS", 0))  # 0 = all cores
TRANSCRIPTION_MAX_DURATION_S = int(os.environ.get("TRANSCRIPTION_MAX_DURATION_S", 4 * 3600))
# Long recordings are transcribed in windows: 5 minutes keeps a worker's peak memory near
# 0.66 GB (10-minute windows: 1.0 GB) with the same words (see bench/README.md).
TRANSCRIPTION_WINDOW_S = int(os.environ.get("TRANSCRIPTION_WINDOW_S", 300))
# Decoding and re-encoding run in a separate process with this memory limit.
TRANSCRIPTION_DECODE_MEMORY_BYTES = int(
    os.environ.get("TRANSCRIPTION_DECODE_MEMORY_BYTES", 1024**3)
)
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are local folders; never fetch

# --- Themes (used by workers) ------------------------------------------------------------
# Embeddings for theme finding: "potion" (potion-base-8M, installed by `make venv`),
# "minilm" (all-MiniLM-L6-v2; needs torch) or "tfidf" (scikit-learn only; weaker).
THEMES_EMBEDDING = os.environ.get("THEMES_EMBEDDING", "potion")
THEMES_MODEL_DIR = Path(os.environ.get("THEMES_MODEL_DIR", VAR_DIR / "models" / "potion-base-8M"))

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Wagtail's page preview is an iframe of the same site, so frames stay allowed from it.
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = ["security.W019"]
if env_bool("DJANGO_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
# Browsers remember to use HTTPS only for a site served over HTTPS (secure cookies on).
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
# Joining the browsers' preload list is hard to undo, so it is the operator's choice
# (DJANGO_HSTS_PRELOAD=1), and `check --deploy` does not nag about it.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD")
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After AXES_FAILURE_LIMIT wrong passwords for one user name from one address, logins for it
# from there are refused for a while; the page says so without saying whether the account
# exists. Attempts are kept in the database, so every web process sees them.
AXES_FAILURE_LIMIT = int(os.environ.get("STORYLOOM_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("STORYLOOM_LOGIN_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "cms/locked_out.html"
AXES_VERBOSE = False
# Password reset: at most this many an hour for one e-mail address from one network address,
# and for one account; past that, the same "check your e-mail" page and no mail
# (cms.password_reset).
WAGTAILADMIN_USER_PASSWORD_RESET_FORM = "cms.password_reset.RateLimitedPasswordResetForm"
STORYLOOM_PASSWORD_RESETS_PER_HOUR = int(os.environ.get("STORYLOOM_PASSWORD_RESETS_PER_HOUR", 5))
# Two-step login: the login page (django-two-factor-auth's, at /admin/login/) asks anyone
# who has set up an authenticator app (Account → Two-step login) for its code as well.
TWO_FACTOR_PATCH_ADMIN = False
OTP_TOTP_ISSUER = os.environ.get("STORYLOOM_2FA_ISSUER", "Storyloom")

LOGIN_URL = "wagtailadmin_login"
LOGIN_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# Mail (Django 6.1 MAILERS). Without EMAIL_HOST, mail is written to the console log.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": EMAIL_HOST,
                "port": int(os.environ.get("EMAIL_PORT", 587)),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
del EMAIL_HOST  # deprecated in Django 6.1 in favour of MAILERS
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "storyloom@localhost")

# --- Wagtail ----------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Storyloom"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_WORKFLOW_ENABLED = True
WAGTAIL_MODERATION_ENABLED = True
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILADMIN_COMMENTS_ENABLED = False
# No gravatar: nothing leaves the server.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILEMBEDS_FINDERS = []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "filters": {"hide_page_paths": {"()": "cms.log_filters.HidePagePaths"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Wagtail logs page titles at INFO; story titles stay out of the server logs.
        "wagtail": {"level": "WARNING"},
        # "Not Found: /project/stories/<slug made from the title>/": the slug is hidden.
        "django.request": {"filters": ["hide_page_paths"]},
    },
}
