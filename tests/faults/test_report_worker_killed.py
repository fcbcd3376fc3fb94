"""Fault: the Celery pool process computing a report slice is SIGKILLed half-way through its
write (issue 8; SECURITY.md "Reliability"; ADR 0006/0013).

A real `celery -A eldercare worker --pool prefork --concurrency 1` subprocess runs the report
against the test database. The fault-injection point `assessments.compute._fault_delay`
(PORTAL_FAULT_SLICE_DELAY, set only in the worker's environment) holds the slice inside its
transaction after its bulk insert; the test sees that transaction in `pg_stat_activity`
("idle in transaction" with an xid: rows written, not committed) and SIGKILLs the pool child.

Expected, and asserted: while the child is dead and the task is being redone, readers get the
previous complete version (`selectors.latest_run`), never the new run; the half-written rows
were rolled back with the dead connection; the task is redelivered (acks_late +
task_reject_on_worker_lost: the main process requeues it and a fresh pool child runs it) and the
run completes with exactly as many rows as the previous version, none duplicated.

The other case — the whole worker (main process and child) SIGKILLed, as `docker kill` or the
OOM killer would — leaves the message unacknowledged in Redis until the visibility timeout (2 h)
has passed: see bench/faults/worker_main_killed.py and docs/benchmarks.md "Fault injection".
"""

import datetime
import re

import pytest
from django.db.models import Count

from assessments import catalogue, compute, selectors, services
from assessments.models import ReportRow, ReportRun, ReportSlice, RunStatus
from eldercare.accounts.scope import SYSTEM
from tests.factories import make_home, make_tree

from .conftest import backends, needs_postgres, needs_redis, pg_admin, wait_for

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    needs_redis,
    needs_postgres,
    pytest.mark.django_db(transaction=True),
]

D = datetime.date
COUNTY = "370306000000"
SLICE_DELAY = 3  # seconds the slice sits in its open transaction (each attempt)


def _home(name, region, seed, **extra):
    from institutions.credit_code import check_character

    body = f"52{region[:6]}{seed:0>9}"[:17]
    return make_home(
        name=name, region=region, credit_code=body + check_character(body), opened_on=D(2020, 1, 1), **extra
    )


def _slices(log: str, what: str) -> set[str]:
    return set(re.findall(r"Task assessments\.compute_slice\[([0-9a-f-]+)\] " + what, log))


def test_a_killed_pool_process_leaves_the_previous_report_served_and_the_redelivered_slice_completes(
    broker_live, celery_worker_process
):
    make_tree()
    catalogue.install()
    _home("甲敬老院", "370306001000", "1", internal_unit="infirmary")
    _home("乙敬老院", "370306100000", "2")
    year = datetime.date.today().year - 1
    first = compute.run_inline(ReportRun.objects.create(year=year, evaluated_on=D(year, 12, 31)))
    first_rows = ReportRow.objects.filter(run=first).count()
    assert first.status == RunStatus.COMPLETE and first_rows > 0

    admin = pg_admin()
    worker = celery_worker_process(PORTAL_FAULT_SLICE_DELAY=SLICE_DELAY)
    try:
        run = services.request_run(year, root_code=None, actor=SYSTEM, reason="manual")

        def slice_mid_write():
            return [
                b
                for b in backends(admin, worker.app_name)
                if b["state"] == "idle in transaction" and b["wrote"] and b["in_state_s"] > 0.3
            ]

        stuck = wait_for(slice_mid_write, 40, "the slice to sit in its open transaction")
        assert "assessments.compute_slice" in worker.log()
        # Rows are written but not committed: nobody sees them, readers get the previous version.
        assert ReportRow.objects.filter(run=run).count() == 0
        assert selectors.latest_run(year, COUNTY) == first

        in_flight = _slices(worker.log(), "received") - _slices(worker.log(), "succeeded")
        assert len(in_flight) == 1, worker.log()[-3000:]
        killed = worker.kill_pool_child()

        # The dead client's backend rolls back and goes away; a fresh pool child takes over.
        wait_for(
            lambda: stuck[0]["pid"] not in {b["pid"] for b in backends(admin, worker.app_name)},
            10,
            "the killed child's backend to end",
        )
        wait_for(
            lambda: worker.pool_children() and killed not in worker.pool_children(), 15, "a new pool child"
        )
        run.refresh_from_db()
        assert run.status != RunStatus.COMPLETE
        assert selectors.latest_run(year, COUNTY) == first  # still the previous, complete version
        assert ReportRow.objects.filter(run=first).count() == first_rows  # and still whole

        # Redelivered and redone (the new attempt is delayed too): until the switch, the
        # previous version is what every read returns.
        half_seen = 0

        def finished():
            nonlocal half_seen
            current = ReportRun.objects.get(pk=run.pk)
            served = selectors.latest_run(year, COUNTY)
            if current.status != RunStatus.COMPLETE:
                assert served == first, f"an incomplete run was served: {served} ({current.status})"
                half_seen += ReportRow.objects.filter(run=run).exists()
            return current.status in (RunStatus.COMPLETE, RunStatus.FAILED) and current

        done = wait_for(finished, 40, "the redelivered slice to complete the run", interval=0.2)
    finally:
        admin.close()

    log = worker.log()
    assert done.status == RunStatus.COMPLETE, done.error
    (task_id,) = in_flight
    # The killed task: received, lost with its process, redelivered, then done once.
    assert log.count(f"compute_slice[{task_id}] received") == 2, log[-3000:]
    assert log.count(f"compute_slice[{task_id}] succeeded") == 1, log[-3000:]
    assert "exited with 'signal 9 (SIGKILL)'" in log and "WorkerLostError" in log, log[-3000:]
    assert selectors.latest_run(year, COUNTY) == done
    assert ReportSlice.objects.filter(run=done, done=True).count() == done.slices_total == 2  # two counties
    # Exactly one copy of every row: as many as the previous version, no (indicator, region) twice.
    assert ReportRow.objects.filter(run=done).count() == first_rows
    dupes = (
        ReportRow.objects.filter(run=done)
        .values("indicator_id", "region_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not dupes.exists()
    assert done.fingerprint == first.fingerprint
    print(
        f"killed pool pid {killed}; rows {first_rows}; polls seeing committed-but-unswitched rows: {half_seen}"
    )
