#!/bin/sh
# Entrypoint of the portal image (Dockerfile). The web service sets PORTAL_MIGRATE=1 and so
# applies migrations before gunicorn starts; gunicorn binds its port only after that, which is
# what the web health check (docker-compose.yml) waits for before worker and beat start.
# Worker and beat leave PORTAL_MIGRATE unset: exactly one process migrates.
set -eu

if [ "${PORTAL_MIGRATE:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi

# exec: the command becomes PID 1 and receives SIGTERM from `docker compose stop` directly.
exec "$@"
