#!/usr/bin/env bash
# Restore drill (issue 8; docs/operations.md "Restore drill"): prove that a nightly-style dump
# of a portal database restores into a fresh database that the application accepts.
#
#   bin/restore_drill.sh                 # PostgreSQL at 127.0.0.1:5432 as postgres (PG* variables change it)
#   KEEP=1 bin/restore_drill.sh          # keep both databases and the dump for inspection
#   DRILL_SELF_TEST=1 bin/restore_drill.sh   # break the restored copy on purpose: must exit 1
#
# 1. a scratch source database (eldercare_drill_src): migrate + load_demo (PORTAL_ALLOW_DEMO=1)
# 2. pg_dump --format=custom (as backup.sh does), pg_restore --list
# 3. a fresh database (eldercare_drill_dst): pg_restore --no-owner --exit-on-error
# 4. smoke test against the restored one: manage.py check, migrate --check, row counts of every
#    domain table equal to the source's, the audit trail's append-only trigger present, and
#    Django test-client requests as demo users (home page, API list with the right count,
#    a resident's ID number decrypting with the deployment's keys)
# 5. both databases dropped (unless KEEP=1); exit 1 on any mismatch.
#
# Only databases whose names contain "drill" are created or dropped. Runs without Redis: the
# demo's tasks run in-process (REDIS_URL is unset for the drill).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
SRC=${DRILL_SRC:-eldercare_drill_src}
DST=${DRILL_DST:-eldercare_drill_dst}
KEEP=${KEEP:-0}
for db in "$SRC" "$DST"; do
  case "$db" in *drill*) ;; *) echo "refusing: database name '$db' does not contain 'drill'" >&2; exit 2 ;; esac
done
unset REDIS_URL
export DJANGO_SETTINGS_MODULE=eldercare.settings.local
WORK=$(mktemp -d)
DUMP="$WORK/portal-drill.dump"
url() { echo "postgres://${PGUSER}${PGPASSWORD:+:$PGPASSWORD}@${PGHOST}:${PGPORT}/$1"; }
step() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
manage() { local db=$1; shift; DATABASE_URL="$(url "$db")" "$PY" manage.py "$@"; }

cleanup() {
  if [ "$KEEP" = "1" ]; then
    step "kept: databases $SRC, $DST and $DUMP"
  else
    dropdb --if-exists --force "$SRC" 2>/dev/null || true
    dropdb --if-exists --force "$DST" 2>/dev/null || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

started=$(date +%s)
dropdb --if-exists --force "$SRC" 2>/dev/null
dropdb --if-exists --force "$DST" 2>/dev/null

step "1. source: createdb $SRC, migrate, load_demo"
createdb "$SRC"
manage "$SRC" migrate --noinput -v 0
PORTAL_ALLOW_DEMO=1 manage "$SRC" load_demo --quiet-logins >"$WORK/load_demo.log" 2>&1 \
  || { cat "$WORK/load_demo.log"; exit 1; }

step "2. pg_dump --format=custom"
t=$(date +%s)
pg_dump -d "$SRC" --format=custom --compress=6 -f "$DUMP"
pg_restore --list "$DUMP" >/dev/null
step "   $(du -h "$DUMP" | cut -f1) in $(($(date +%s) - t)) s; $(pg_restore --list "$DUMP" | grep -c ' TABLE DATA ') tables with data"

step "3. restore into a fresh database $DST"
t=$(date +%s)
createdb "$DST"
pg_restore -d "$DST" --no-owner --exit-on-error "$DUMP"
step "   restored in $(($(date +%s) - t)) s"
if [ "${DRILL_SELF_TEST:-0}" = "1" ]; then
  # Prove the drill notices a bad restore: lose one row in the restored copy.
  psql -d "$DST" -qAtc "DELETE FROM contracts_visit WHERE id = (SELECT min(id) FROM contracts_visit)"
  step "   DRILL_SELF_TEST: one contracts_visit row deleted from $DST; the drill must fail"
fi

step "4. smoke test against $DST"
fail=0
DEBUG=false manage "$DST" check --fail-level ERROR >/dev/null || { echo "FAIL: manage.py check"; fail=1; }
manage "$DST" migrate --check >/dev/null || { echo "FAIL: unapplied migrations after restore"; fail=1; }

tables="regions_region accounts_user institutions_institution institutions_institutionversion
  workflow_filing workflow_filingstep workflow_attachment contracts_contract contracts_visit
  subsidies_application subsidies_decision
  subsidies_installment subsidies_payment subsidies_resident assessments_townshipreport
  assessments_reportrun assessments_reportrow
  audit_auditevent django_celery_beat_periodictask"
counts() {
  local db=$1 sql="SELECT concat_ws('|'" t
  for t in $tables; do sql+=", '$t=' || (SELECT count(*) FROM $t)"; done
  sql+=", 'audit_max_at=' || (SELECT coalesce(max(at)::text, '-') FROM audit_auditevent)"
  sql+=", 'append_only_trigger=' || (SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_auditevent_append_only'))"
  psql -d "$db" -v ON_ERROR_STOP=1 -Atc "$sql" | tr '|' '\n'
}
counts "$SRC" >"$WORK/src.counts"
counts "$DST" >"$WORK/dst.counts"
if ! diff -u "$WORK/src.counts" "$WORK/dst.counts"; then
  echo "FAIL: row counts differ between $SRC and $DST"; fail=1
fi
grep -qx 'append_only_trigger=1' "$WORK/dst.counts" || { echo "FAIL: audit append-only trigger missing"; fail=1; }
grep -q '^institutions_institution=0$' "$WORK/dst.counts" && { echo "FAIL: no institutions restored"; fail=1; }
paste -sd' ' "$WORK/dst.counts" | fold -s -w 100 | sed 's/^/   /'

# The application on the restored data: pages and API as demo users, personal data readable.
DEBUG=false ALLOWED_HOSTS=testserver manage "$DST" shell --verbosity 0 -c '
import sys
from django.test import Client
from eldercare.accounts.models import User
from institutions.models import Institution
from subsidies import idcard
from subsidies.models import Resident

problems = []
c = Client()
c.force_login(User.objects.get(username="health01"))
for url in ("/", "/institutions/", "/filings/", "/reports/"):
    status = c.get(url).status_code
    if status != 200:
        problems.append(f"{url} answered {status}")
api = c.get("/api/v1/institutions/")
expected = Institution.objects.for_user(User.objects.get(username="health01")).count()
got = api.json().get("count") if api.status_code == 200 else None
if got != expected:
    problems.append(f"API list: {api.status_code}, count {got} instead of {expected}")
town = Client()
town.force_login(User.objects.get(username="township01"))
if town.get("/").status_code != 200:
    problems.append("township01 home page")
residents = list(Resident.objects.only("id_cipher")[:50])
if not all(idcard.is_valid(idcard.decrypt(r.id_cipher)) for r in residents):
    problems.append("a resident ID number does not decrypt with the current keys")
if problems:
    print("\n".join("FAIL: " + p for p in problems))
else:
    print(f"   pages and API 200 as health01/township01, API count {expected} = scoped institutions, "
          f"{len(residents)} resident ID numbers decrypted")
sys.exit(1 if problems else 0)
' || fail=1

if [ "$fail" != 0 ]; then
  step "restore drill FAILED after $(($(date +%s) - started)) s"
  exit 1
fi
step "restore drill passed in $(($(date +%s) - started)) s"
