"""Fault script: the *whole* Celery worker (main process and pool child) SIGKILLed in the middle
of a report slice — what `docker kill`, the OOM killer or a host crash does (issue 8).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eldercare_bench_faults \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/faults/worker_main_killed.py

Not a CI test: it needs minutes of wall time and a worker with a shortened visibility timeout.
(The pool child alone SIGKILLed is tests/faults/test_report_worker_killed.py: the main process
requeues the task at once.) Here nobody is left to requeue: the message stays in the Redis
transport's `unacked` hash until the visibility timeout (2 h in settings) has passed.

Phases, each printed with what was observed:
  0. fresh scratch database (dropped and recreated: the name must contain "bench"), migrated;
     Redis database flushed (must not be 0; refused if not empty without --flush); a small region tree with two counties; a complete
     report version computed inline (the "previous" version).
  1. a worker (prefork, concurrency 1, PORTAL_FAULT_SLICE_DELAY) takes the new run; while the
     first slice sits in its open transaction, the worker's whole process group is SIGKILLed.
  2. a new worker with the settings as they are (visibility 2 h), watched for --watch seconds:
     the other county's slice runs, the killed slice is not redelivered, the run stays
     "running" and readers keep the previous version.
  3. the nightly pass (`assessments.nightly_reports`, 02:00) with the stuck run back-dated an
     hour: the stuck run is marked failed and a fresh run completes.
  4. a worker with visibility_timeout=--visibility seconds: the dead worker's message is
     restored and redelivered; its slice sees the run failed and does nothing — a late
     redelivery never resurrects or overwrites anything.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "eldercare.settings.local"
os.environ.setdefault("DEBUG", "false")
os.environ["PORTAL_REPORTS_AUTO_RECOMPUTE"] = "false"
APP_NAME = "portal-fault-bench"
T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", flush=True)


def check_targets() -> tuple[str, str]:
    db, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    name = urlsplit(db).path.lstrip("/")
    if not db.startswith("postgres") or "bench" not in name:
        sys.exit("DATABASE_URL must be a PostgreSQL scratch database whose name contains 'bench'")
    if not redis_url or urlsplit(redis_url).path.strip("/") in ("", "0"):
        sys.exit("REDIS_URL must name a scratch Redis database other than 0 (it is emptied)")
    return db, redis_url


def _pg_args(url: str) -> tuple[list[str], str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    base = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    return base, name


def drop_database(url: str) -> None:
    base, name = _pg_args(url)
    subprocess.run(["dropdb", *base, "--if-exists", "--force", name], check=True, capture_output=True)


def fresh_database(url: str) -> None:
    drop_database(url)
    base, name = _pg_args(url)
    subprocess.run(["createdb", *base, name], check=True)


class Worker:
    def __init__(self, log: Path, visibility: int | None = None, **env):
        self.log_path = log
        code = "from eldercare.celery import app\n"
        if visibility is not None:
            code += f"app.conf.broker_transport_options = {{'visibility_timeout': {visibility}}}\n"
        code += (
            "app.worker_main(['worker', '--pool', 'prefork', '--concurrency', '1', '--loglevel', 'INFO',"
            " '--without-gossip', '--without-mingle', '--without-heartbeat', '-n', 'fault-bench@%h'])\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PGAPPNAME": APP_NAME, **{k: str(v) for k, v in env.items()}},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait(lambda: " ready." in self.log() or self.proc.poll() is not None, 90, "worker ready")
        if self.proc.poll() is not None:
            sys.exit(f"worker exited:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill_group(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # main process and pool child: our own group
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)


def wait(pred, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(interval)
    return value


def _ids(log: str, what: str) -> set[str]:
    import re

    return set(re.findall(r"Task assessments\.compute_slice\[([0-9a-f-]+)\] " + what, log))


def slice_in_transaction() -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND state = 'idle in transaction' AND backend_xid IS NOT NULL "
            "AND now() - state_change > interval '300 ms'",
            [APP_NAME],
        )
        return cur.fetchone()[0] > 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watch", type=int, default=45, help="seconds to watch for a redelivery (phase 2)")
    parser.add_argument("--visibility", type=int, default=20, help="visibility timeout of phase 4's worker")
    parser.add_argument("--delay", type=float, default=5, help="PORTAL_FAULT_SLICE_DELAY of phase 1's worker")
    parser.add_argument("--flush", action="store_true", help="flush REDIS_URL's database even if not empty")
    args = parser.parse_args()
    db, redis_url = check_targets()
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / "portal-fault-bench"
    logs.mkdir(exist_ok=True)

    say("0. fresh scratch database, migrate, flush the Redis scratch database")
    fresh_database(db)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    broker = redis.Redis.from_url(redis_url)
    if broker.dbsize() and not args.flush:
        sys.exit(f"{redis_url} is not empty: is it someone else's? (--flush to empty it anyway)")
    broker.flushdb()

    from assessments import catalogue, compute, selectors, services
    from assessments.models import ReportRun, RunStatus
    from assessments.tasks import nightly_reports
    from eldercare.accounts.scope import SYSTEM
    from institutions.credit_code import check_character
    from tests.factories import make_home, make_tree

    make_tree()
    catalogue.install()
    for seed, (name, region) in enumerate([("甲敬老院", "370306001000"), ("乙敬老院", "370306100000")], 1):
        body = f"52{region[:6]}{seed:0>9}"[:17]
        make_home(
            name=name,
            region=region,
            credit_code=body + check_character(body),
            opened_on=datetime.date(2020, 1, 1),
        )
    year = timezone.localdate().year - 1
    previous = compute.run_inline(
        ReportRun.objects.create(year=year, evaluated_on=datetime.date(year, 12, 31))
    )
    county = "370306000000"
    say(f"   previous version: run #{previous.pk} {previous.status}")

    say("1. worker takes a new run; the whole worker is SIGKILLed while a slice is half written")
    w1 = Worker(logs / "w1.log", PORTAL_FAULT_SLICE_DELAY=args.delay)
    run = services.request_run(year, root_code=None, actor=SYSTEM, reason="manual")
    wait(slice_in_transaction, 60, "a slice in its open transaction")
    w1.kill_group()
    time.sleep(1)
    run.refresh_from_db()
    in_flight = _ids(w1.log(), "received") - _ids(w1.log(), "succeeded")
    say(
        f"   killed (task in flight: {', '.join(in_flight)}); run #{run.pk} {run.status} {run.slices_done}/{run.slices_total} slices; "
        f"latest_run = #{selectors.latest_run(year, county).pk}; "
        f"Redis: queue {broker.llen('celery')}, unacked {broker.hlen('unacked')}"
    )

    say(f"2. a new worker with the settings' visibility timeout (2 h), watched {args.watch} s")
    w2 = Worker(logs / "w2.log")
    time.sleep(args.watch)
    run.refresh_from_db()
    say(
        f"   run #{run.pk} {run.status} {run.slices_done}/{run.slices_total} slices; "
        f"latest_run = #{selectors.latest_run(year, county).pk}; unacked {broker.hlen('unacked')}; "
        f"the other slice done by it: {bool(_ids(w2.log(), 'succeeded'))}, "
        f"the killed one redelivered to it: {bool(_ids(w2.log(), 'received') & in_flight)}"
    )

    say("3. the nightly pass, with the stuck run back-dated an hour")
    ReportRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=61))
    new_ids = nightly_reports()  # in this process; the runs it requests go to w2
    fresh = wait(
        lambda: (r := ReportRun.objects.get(pk=new_ids[0])).status == RunStatus.COMPLETE and r,
        120,
        "nightly run",
    )
    run.refresh_from_db()
    say(
        f"   stuck run #{run.pk} {run.status} ({run.error}); nightly run #{fresh.pk} {fresh.status}; "
        f"latest_run = #{selectors.latest_run(year, county).pk}"
    )
    w2.stop()

    say(f"4. a worker with visibility_timeout={args.visibility} s: the dead worker's message comes back")
    w3 = Worker(logs / "w3.log", visibility=args.visibility)
    t = time.monotonic()
    wait(
        lambda: "compute_slice[" in w3.log() and "succeeded" in w3.log(), args.visibility + 120, "redelivery"
    )
    took = time.monotonic() - t
    time.sleep(1)  # the ack follows the "succeeded" line
    run.refresh_from_db()
    line = next(x for x in w3.log().splitlines() if "compute_slice[" in x and "succeeded" in x)
    same = _ids(w3.log(), "succeeded") == in_flight
    say(
        f"   redelivered {took:.0f} s after the worker was ready (the killed task: {same}): "
        f"{line.split('] ', 1)[-1][:120]}; stuck run #{run.pk} "
        f"still {run.status}; latest_run = #{selectors.latest_run(year, county).pk}; unacked {broker.hlen('unacked')}"
    )
    w3.stop()
    broker.flushdb()
    from django.db import connection

    connection.close()
    drop_database(db)
    say(f"done (scratch database dropped); worker logs in {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
