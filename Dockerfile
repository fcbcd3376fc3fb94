# The portal image: one image for web (gunicorn), worker and beat (docker-compose.yml).
# Production settings; the environment supplies SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
# REDIS_URL (README.md, "Configuration").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=eldercare.settings.production

# A home of its own: gunicorn (>= 25.1) puts its control socket in ~/.gunicorn/.
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --create-home --home-dir /home/portal \
        --shell /usr/sbin/nologin portal

WORKDIR /app

# System libraries for WeasyPrint (the filings' printed documents as PDF,
# eldercare/workflow/documents.py): Pango for layout, fontconfig to find the fonts, and Noto CJK
# so Chinese does not print as boxes. One layer, no recommends, no apt lists left behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so this layer is rebuilt only when pyproject.toml changes. With nothing
# but pyproject.toml in place, `pip install .` installs every dependency plus an empty
# distribution; the code runs from /app (PYTHONPATH), next to templates/, static/ and locale/,
# which settings find through BASE_DIR.
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Static files are collected (hashed and compressed for whitenoise) at build time. Production
# settings refuse to load without SECRET_KEY and ALLOWED_HOSTS: dummy values for this step only,
# never baked into the image's environment. The .mo catalogues are committed, so no gettext here.
RUN SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
        python manage.py collectstatic --noinput \
 && mkdir -p var/media var/uploads \
 && chown portal:portal var/media var/uploads

# The code stays root-owned and read-only to the process; only uploads and media are writable.
USER portal

EXPOSE 8000
ENTRYPOINT ["sh", "/app/docker/entrypoint.sh"]
CMD ["gunicorn", "eldercare.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
