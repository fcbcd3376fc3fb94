"""Fault injection (issue 8, "Faults"): shared helpers.

- `CeleryWorker` starts a real `celery -A eldercare worker --pool prefork --concurrency 1`
  subprocess against the test database (pytest-django's `test_<name>`; the tests use
  `django_db(transaction=True)` so what they write is committed and visible to it) and the
  Redis of REDIS_URL, finds its pool child and SIGKILLs it.
- `pg_admin()` is a second PostgreSQL connection (psycopg2, autocommit) for what a test must do
  beside Django's own connection: watch `pg_stat_activity`, hold a lock, terminate a backend.
- `purge_broker()` empties the default queue and the Redis transport's unacked bookkeeping, so a
  message left by an earlier killed run can never reach this run's worker.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]

needs_redis = pytest.mark.skipif(
    not REDIS_URL, reason="REDIS_URL not set: no Redis to run a real Celery worker against"
)
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (pg_stat_activity, locks, a second process)"
)


def db_url() -> str:
    """The test database as a URL a subprocess can use (after pytest-django created it)."""
    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def pg_admin():
    import psycopg2

    s = connection.settings_dict
    conn = psycopg2.connect(
        dbname=s["NAME"],
        user=s["USER"] or "postgres",
        password=s.get("PASSWORD") or None,
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        application_name="portal-fault-admin",
    )
    conn.autocommit = True
    return conn


def backends(admin, application_name: str) -> list[dict]:
    """The server processes serving `application_name` on the test database."""
    with admin.cursor() as cur:
        cur.execute(
            """SELECT pid, state, wait_event_type, backend_xid IS NOT NULL AS wrote,
                      EXTRACT(EPOCH FROM now() - state_change) AS in_state_s, left(query, 200)
               FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s""",
            [application_name],
        )
        cols = ["pid", "state", "wait", "wrote", "in_state_s", "query"]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def purge_broker() -> None:
    """Empty the default queue and the transport's unacked hash on REDIS_URL's database."""
    import redis

    from eldercare.celery import app

    client = redis.Redis.from_url(REDIS_URL)
    client.delete(app.conf.task_default_queue, "unacked", "unacked_index", "unacked_mutex")
    client.close()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # fields: state, ppid, ...
            out.append(int(stat.parent.name))
    return sorted(out)


def _generator():
    spec = importlib.util.spec_from_file_location("gen_institutions", ROOT / "bench" / "gen_institutions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_sheet(tmp_path, rows: int):
    """bench/gen_institutions.py's county (9 townships × 30 villages) installed, a CSV of `rows`
    valid institutions, and a county user maintaining both families."""
    from eldercare.regions import codes
    from eldercare.regions.models import Region
    from tests.factories import make_user

    gen = _generator()
    Region.objects.bulk_create(
        [
            Region(code=c, name=n, level=codes.level_of(c), parent_id=p)
            for c, n, p in gen.region_tree("370306")
        ]
    )
    user = make_user("county1", "health", "370306000000")
    from eldercare.accounts import services
    from eldercare.accounts.scope import SYSTEM

    services.user_set_roles(actor=SYSTEM, user=user, roles={"health", "civil"})
    user.refresh_from_db()
    path = tmp_path / "institutions.csv"
    gen.write(rows, path)
    return user, path.read_bytes()


class CeleryWorker:
    """`celery -A eldercare worker --pool prefork --concurrency 1` against the test database."""

    def __init__(self, log_path: Path, **env):
        self.app_name = f"portal-fault-worker-{uuid.uuid4().hex[:8]}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": db_url(),
            "REDIS_URL": REDIS_URL,
            # base settings with a broker: tasks a task sends go to Redis (not eager, as the test
            # settings would have it); DEBUG off as in production.
            "DJANGO_SETTINGS_MODULE": "eldercare.settings.local",
            "DEBUG": "false",
            "PORTAL_REPORTS_AUTO_RECOMPUTE": "false",
            # libpq: every connection of the worker is named, so the test finds its backends.
            "PGAPPNAME": self.app_name,
            "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in env.items()},
        }
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> CeleryWorker:
        self._log = self.log_path.open("wb")
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "eldercare",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{self.app_name}@%h",
        ]
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(
            lambda: " ready." in self.log() or self.proc.poll() is not None, timeout, "the worker to start"
        )
        assert self.proc.poll() is None, f"the worker exited:\n{self.log()[-3000:]}"
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pool_children(self) -> list[int]:
        return _children(self.pid)

    def kill_pool_child(self) -> int:
        children = self.pool_children()
        assert len(children) == 1, f"expected one pool process under {self.pid}, found {children}"
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown: the process group we started
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        # The test database is flushed (and later dropped) after the test: no worker connection
        # may outlive it.
        admin = pg_admin()
        try:
            wait_for(lambda: not backends(admin, self.app_name), 10, "the worker's connections to close")
        except AssertionError:
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                    [self.app_name],
                )
        finally:
            admin.close()


@pytest.fixture
def celery_worker_process(tmp_path):
    """A factory: `start(**env)` returns a started CeleryWorker, stopped after the test."""
    workers: list[CeleryWorker] = []

    def start(**env) -> CeleryWorker:
        worker = CeleryWorker(tmp_path / f"worker{len(workers)}.log", **env)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
        print(f"--- {worker.log_path.name} (tail) ---\n{worker.log()[-4000:]}")  # shown on failure
    purge_broker()


@pytest.fixture
def broker_live():
    """The in-process app publishes to REDIS_URL (not eagerly) for the test's duration."""
    from eldercare.celery import app

    purge_broker()
    app.conf.task_always_eager = False
    try:
        yield app
    finally:
        app.conf.task_always_eager = True
