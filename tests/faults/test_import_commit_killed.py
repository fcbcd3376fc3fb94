"""Fault: the worker committing a spreadsheet import is SIGKILLed in the middle of the commit
(issue 8; SECURITY.md "imports are all-or-nothing and idempotent"; ADR 0009).

No code hook is needed: the engine's commit (`eldercare/sheets/engine.py` commit_batch) is one
transaction that COPYs the institutions and their versions and then writes its audit events.
The test holds `LOCK TABLE audit_auditevent IN SHARE MODE` from a second connection, so the
commit — run by a real prefork worker subprocess, as commits of big files are — stops at its
first audit INSERT with every registry row written and not committed. There the pool child is
SIGKILLed.

Asserted: nothing of the killed attempt is ever visible (no institution, no version, the batch
still "committing", no commit audit); the task is redelivered (reject_on_worker_lost) and the
new attempt — same stored plan — commits everything exactly once when the lock is released.

The worker's connections carry `client_connection_check_interval` (PGOPTIONS): a backend
waiting on a lock does not otherwise notice that its client died, and would keep the killed
attempt's row lock on the batch until the lock it waits for is granted. A killed process in
the middle of COPY (no lock wait) is noticed at once without it.
"""

import re

import pytest

from eldercare.audit.models import AuditEvent
from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution, InstitutionVersion

from .conftest import backends, generated_sheet, needs_postgres, needs_redis, pg_admin, wait_for

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    needs_redis,
    needs_postgres,
    pytest.mark.django_db(transaction=True),
]

ROWS = 2000
S = ImportBatch.Status


def _is_waiting_on_the_audit_lock(b):
    return b["wait"] == "Lock" and "audit_auditevent" in (b["query"] or "")


def test_a_worker_killed_mid_commit_writes_nothing_and_the_redelivered_commit_writes_everything(
    settings, tmp_path, broker_live, celery_worker_process
):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    user, data = generated_sheet(tmp_path, ROWS)
    batch = engine.start_import(
        actor=user, kind="institutions", data=data, filename="机构.csv", dry_run=True, inline=True
    )
    assert batch.status == S.VALIDATED and batch.created == ROWS, (batch.status, batch.message)
    # As for a big file (> 20,000 rows): the commit goes to a worker.
    batch = engine.confirm(actor=user, batch=batch, inline=False)
    assert batch.status == S.COMMITTING

    admin = pg_admin()
    locker = pg_admin()
    locker.autocommit = False
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE audit_auditevent IN SHARE MODE")  # held until rollback()
        worker = celery_worker_process(
            PORTAL_UPLOAD_ROOT=settings.PORTAL_UPLOAD_ROOT,
            PGOPTIONS="-c client_connection_check_interval=250",
        )

        def commit_blocked():
            return [b for b in backends(admin, worker.app_name) if _is_waiting_on_the_audit_lock(b)]

        (first,) = wait_for(commit_blocked, 40, "the commit to reach its audit INSERT")
        assert Institution.objects.count() == 0  # COPYed, not committed: invisible
        killed = worker.kill_pool_child()

        # The killed attempt's transaction dies with its connection (rolled back) ...
        wait_for(
            lambda: first["pid"] not in {b["pid"] for b in backends(admin, worker.app_name)},
            15,
            "the killed attempt's backend to end",
        )
        # ... and the redelivered task runs the same commit again, up to the same point.
        (second,) = wait_for(commit_blocked, 30, "the redelivered commit to reach the same point")
        assert second["pid"] != first["pid"] and killed not in worker.pool_children()
        # Nothing of the killed attempt exists; the batch is still to be committed.
        assert Institution.objects.count() == 0
        assert InstitutionVersion.objects.count() == 0
        assert ImportBatch.objects.get(pk=batch.pk).status == S.COMMITTING
        assert not AuditEvent.objects.filter(detail__step="committed").exists()
    finally:
        locker.rollback()  # release the audit table
        locker.close()
        admin.close()

    done = wait_for(
        lambda: (b := ImportBatch.objects.get(pk=batch.pk)).status not in (S.COMMITTING,) and b,
        40,
        "the redelivered commit to finish",
    )
    assert done.status == S.COMMITTED, (done.status, done.message)
    # Everything, once.
    assert Institution.objects.count() == ROWS
    assert Institution.objects.values("credit_code").distinct().count() == ROWS
    assert InstitutionVersion.objects.values("institution_id").distinct().count() == ROWS
    commits = AuditEvent.objects.filter(
        object_type="sheets.importbatch", object_id=str(batch.pk), detail__step="committed"
    )
    assert commits.count() == 1 and commits.get().detail["created"] == ROWS
    assert (
        AuditEvent.objects.filter(object_type="institutions.institution", detail__batch=batch.pk).count() == 1
    )
    log = worker.log()
    assert len(re.findall(r"Task sheets\.commit_batch\[[0-9a-f-]+\] received", log)) == 2, log[-3000:]
    assert len(re.findall(r"Task sheets\.commit_batch\[[0-9a-f-]+\] succeeded", log)) == 1, log[-3000:]
    assert "exited with 'signal 9 (SIGKILL)'" in log
