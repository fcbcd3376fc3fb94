#!/usr/bin/env bash
# Fault script: PostgreSQL restarted under a running portal (issue 8; SECURITY.md "It
# reconnects after PostgreSQL restarts (CONN_HEALTH_CHECKS)").
#
#   bench/faults/pg_restart.sh terminate   # safe: kills only the portal's own server connections
#   bench/faults/pg_restart.sh restart     # restarts the WHOLE cluster: only on a machine of your own
#
# gunicorn (2 sync workers, CONN_MAX_AGE=60, CONN_HEALTH_CHECKS on, as in production) serves a
# scratch database (migrated, demo data); a client loop on loopback asks the API list every
# 50 ms with a token for --seconds. After 5 s the database goes away under it:
#   terminate  pg_terminate_backend() of every connection gunicorn holds (the client-side
#              effect of a restart, without touching anybody else's sessions);
#   restart    pg_ctlcluster <version> <cluster> restart -m fast (every session on the cluster
#              is cut: other people's test runs fail — never on a shared machine).
# Then it prints the status codes before, during and after, and exits 1 if any request failed
# once the database accepted connections again (what CONN_HEALTH_CHECKS is for).
#
# Variables: DATABASE_URL (scratch database; the name must contain "bench"; default
# postgres://postgres@127.0.0.1:5432/eldercare_bench_pgrestart), PORT (8790), SECONDS_TOTAL (15),
# PG_CLUSTER ("15 main"). The scratch database is dropped at the end. Results:
# docs/benchmarks.md "Fault injection".
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-terminate}
case "$MODE" in terminate | restart) ;; *) echo "usage: $0 terminate|restart" >&2; exit 2 ;; esac
PY=${PY:-.venv/bin/python}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/eldercare_bench_pgrestart}
case "$DATABASE_URL" in *bench*) ;; *) echo "DATABASE_URL must name a scratch database containing 'bench'" >&2; exit 2 ;; esac
PORT=${PORT:-8790}
SECONDS_TOTAL=${SECONDS_TOTAL:-15}
PG_CLUSTER=${PG_CLUSTER:-15 main}
APP_NAME=portal-pgrestart-bench
WORK=$(mktemp -d)
unset REDIS_URL                         # tasks in-process: this is about the database only
export DJANGO_SETTINGS_MODULE=eldercare.settings.local DEBUG=false PGAPPNAME=$APP_NAME
export ALLOWED_HOSTS=127.0.0.1,localhost

"$PY" - <<'EOF'
import os, sys
sys.path.insert(0, "bench")
from _pg import ensure_postgres_database
ensure_postgres_database(os.environ["DATABASE_URL"])
EOF
"$PY" manage.py migrate --noinput -v 0
PORTAL_ALLOW_DEMO=1 "$PY" manage.py load_demo --quiet-logins >"$WORK/demo.log" 2>&1

.venv/bin/gunicorn eldercare.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --timeout 30 \
  --env DJANGO_SETTINGS_MODULE=eldercare.settings.local --access-logfile "$WORK/access.log" \
  --error-logfile "$WORK/error.log" >>"$WORK/gunicorn.log" 2>&1 &
GUNICORN=$!
finish() {
  kill "$GUNICORN" 2>/dev/null || true
  wait "$GUNICORN" 2>/dev/null || true
  dropdb --if-exists --force "$(basename "${DATABASE_URL%%\?*}")" 2>/dev/null || true
  echo "logs (Django's tracebacks of the failed requests): $WORK"
}
trap finish EXIT
for _ in $(seq 1 60); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/accounts/login/" && break; sleep 0.5; done

PORT=$PORT SECONDS_TOTAL=$SECONDS_TOTAL MODE=$MODE PG_CLUSTER=$PG_CLUSTER APP_NAME=$APP_NAME "$PY" - <<'EOF'
import json, os, subprocess, threading, time, urllib.error, urllib.parse, urllib.request
from collections import Counter

import psycopg2

base = f"http://127.0.0.1:{os.environ['PORT']}"
body = urllib.parse.urlencode({"username": "health01", "password": "Yiyang@2026"}).encode()
token = json.load(urllib.request.urlopen(base + "/api/v1/auth/token/", body))["token"]
url = os.environ["DATABASE_URL"]
log, t0 = [], time.monotonic()
fault = {}


def client():
    while (start := time.monotonic() - t0) < float(os.environ["SECONDS_TOTAL"]):
        req = urllib.request.Request(base + "/api/v1/institutions/", headers={"Authorization": f"Token {token}"})
        try:
            status = urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            status = type(exc).__name__
        log.append((start, time.monotonic() - t0, status))
        time.sleep(0.05)


def database_ready():
    try:
        psycopg2.connect(url, application_name="portal-pgrestart-probe").close()
        return True
    except psycopg2.OperationalError:
        return False


thread = threading.Thread(target=client)
thread.start()
time.sleep(5)
fault["at"] = time.monotonic() - t0
if os.environ["MODE"] == "restart":
    version, cluster = os.environ["PG_CLUSTER"].split()
    subprocess.run(["pg_ctlcluster", version, cluster, "restart", "-m", "fast"], check=True)
else:
    with psycopg2.connect(url, application_name="portal-pgrestart-probe") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                    [os.environ["APP_NAME"]])
        fault["terminated"] = cur.fetchone()[0]
while not database_ready():
    time.sleep(0.05)
fault["ready"] = time.monotonic() - t0
thread.join()

before = Counter(s for _, end, s in log if end < fault["at"])
during = Counter(s for start, end, s in log if end >= fault["at"] and start < fault["ready"])  # in flight
after = Counter(s for start, _, s in log if start >= fault["ready"])
print(f"mode {os.environ['MODE']}: fault at {fault['at']:.2f} s, database accepting again at {fault['ready']:.2f} s"
      + (f", {fault['terminated']} gunicorn connections terminated" if "terminated" in fault else ""))
print(f"  finished before the fault:       {dict(before)}")
print(f"  in flight while the database went: {dict(during)}")
print(f"  started after it was back:         {dict(after)}")
bad = sum(n for s, n in after.items() if s != 200)
print("  OK: every request after the database was back succeeded" if not bad
      else f"  FAIL: {bad} requests failed after the database was back")
raise SystemExit(1 if bad else 0)
EOF
