# Storyloom: one image for the web server (gunicorn) and the task workers (RQ).
# Built by docker-compose.yml; see README "Running in production".
FROM python:3.13-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=cms.settings \
    STORYLOOM_VAR_DIR=/data/var \
    MEDIA_ROOT=/data/media \
    PRIVATE_MEDIA_ROOT=/data/private \
    STATIC_ROOT=/app/staticfiles

# espeak-ng voices the demo stories (seed_demo); Pango (and a font) lets WeasyPrint print
# workshop packs. PyAV's wheel brings its own FFmpeg.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# A user without privileges owns the data folders; the named volumes inherit that owner.
RUN groupadd --system --gid 10001 storyloom \
    && useradd --system --uid 10001 --gid storyloom --create-home --home-dir /home/storyloom storyloom \
    && mkdir -p /app /data/var /data/media /data/private \
    && chown storyloom:storyloom /data/var /data/media /data/private \
    && chmod 0700 /data/private

WORKDIR /app

# Dependencies first (pinned in pyproject.toml), so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install . && pip install --no-deps bertopic==0.17.4

# The themes embedding model, checked by SHA-256, kept in the image (not in the volume).
ENV THEMES_MODEL_DIR=/app/models/potion-base-8M
COPY scripts/install_embedding_model.py scripts/
COPY themes/__init__.py themes/embeddings.py themes/
RUN python scripts/install_embedding_model.py && rm -rf /app/models/.potion-base-8M.lock

COPY . .

# Static files are collected into the image; WhiteNoise serves them from gunicorn.
# The key below exists only for this build step; the containers get DJANGO_SECRET_KEY.
RUN DJANGO_SECRET_KEY=collectstatic-only STORYLOOM_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-var

USER storyloom
EXPOSE 8000

CMD ["gunicorn", "cms.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "600", \
     "--worker-tmp-dir", "/dev/shm", "--forwarded-allow-ips", "*", "--access-logfile", "-"]
