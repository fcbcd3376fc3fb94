"""Report runs driven by Celery (issue 7): the coordinator fans out one slice per county to a
real worker over Redis, the last slice completes the run; the previous version stays served
until the new one is complete; changes enqueue a debounced recompute after commit; a
redelivered slice replaces what it wrote; `compute_reports` runs the same code."""

import datetime
import os
import time

import pytest
from django.core.management import call_command

from assessments import catalogue, compute, recompute, selectors
from assessments.models import RecomputeRequest, ReportRow, ReportRun, ReportSlice, RunStatus
from eldercare.accounts.scope import SYSTEM
from eldercare.celery import app
from institutions import services as registry
from tests.factories import at, make_home, make_tree

REDIS_URL = os.environ.get("REDIS_URL", "")
D = datetime.date
COUNTY, OTHER = "370306000000", "370307000000"


def _home(name, region, seed, **extra):
    from institutions.credit_code import check_character

    body = f"52{region[:6]}{seed:0>9}"[:17]
    return make_home(
        name=name, region=region, credit_code=body + check_character(body), opened_on=D(2020, 1, 1), **extra
    )


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set: no Redis to run a real Celery worker against")
@pytest.mark.django_db(transaction=True)
def test_fan_out_per_county_on_a_real_worker_and_the_previous_version_is_served_until_complete():
    from celery.contrib.testing.worker import start_worker

    make_tree()
    catalogue.install()
    _home("甲", "370306001000", "1", internal_unit="infirmary")
    _home("乙", "370306100000", "2")
    _home("丙", "370307001000", "3")
    year = datetime.date.today().year - 1
    first = compute.run_inline(ReportRun.objects.create(year=year, evaluated_on=D(year, 12, 31)))
    assert selectors.latest_run(year, COUNTY) == first

    from assessments import services

    app.conf.task_always_eager = False
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
        run = services.request_run(year, root_code=None, actor=SYSTEM, reason="manual")
        # Queued, not computed: readers still get the complete previous version.
        assert selectors.latest_run(year, COUNTY) == first
        with start_worker(
            app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10
        ):
            deadline = time.monotonic() + 60
            while True:
                run.refresh_from_db()
                if run.status in (RunStatus.COMPLETE, RunStatus.FAILED):
                    break
                assert time.monotonic() < deadline, f"run stuck at {run.status} {run.progress}%"
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True
    assert run.status == RunStatus.COMPLETE, run.error
    assert run.slices_total == 2 and ReportSlice.objects.filter(run=run, done=True).count() == 2
    assert selectors.latest_run(year, COUNTY) == run and run.progress == 100
    # One picture: both counties' rows and the rolled-up city/province rows.
    row = ReportRow.objects.get(run=run, indicator_id="YL_MED_COVERAGE", region_id="370300000000")
    assert (row.numerator, row.denominator) == (1, 3)
    assert run.fingerprint == first.fingerprint


@pytest.mark.django_db
def test_a_redelivered_slice_replaces_its_rows(regions):
    _home("甲", "370306001000", "1")
    run = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on=D(2025, 12, 31))
    counties = compute.start(run)
    compute.compute_slice(run, counties[0])
    n = ReportRow.objects.filter(run=run).count()
    compute.compute_slice(run, counties[0])  # the worker died after writing; the task runs again
    assert ReportRow.objects.filter(run=run).count() == n
    assert compute.slice_done(run.pk)
    compute.finish(run)
    compute.finish(run)  # a second "last slice" does nothing
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETE


@pytest.mark.django_db
def test_changes_enqueue_one_debounced_recompute_after_commit(
    regions, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = True
    at(monkeypatch, D(2026, 6, 1))
    sent = []
    monkeypatch.setattr(recompute, "_eager", lambda: False)
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append((name, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        home = _home("甲", "370306001000", "1")
    with django_capture_on_commit_callbacks(execute=True):
        registry.institution_change(actor=SYSTEM, institution=home, changes={"beds_eldercare": 90})
    with django_capture_on_commit_callbacks(execute=True):
        registry.institution_change(
            actor=SYSTEM, institution=home, changes={"beds_nursing": 10}, effective=D(2025, 3, 1)
        )
    reqs = sorted(RecomputeRequest.objects.values_list("county_code", "year"))
    assert reqs == [
        (COUNTY, 2020),
        (COUNTY, 2021),
        (COUNTY, 2022),
        (COUNTY, 2023),
        (COUNTY, 2024),
        (COUNTY, 2025),
        (COUNTY, 2026),
    ]
    assert sent and sent[0][0] == "assessments.run_due_recomputes"
    assert recompute.run_due() == []  # not due yet: the debounce window is still open
    later = recompute.timezone.now() + datetime.timedelta(seconds=settings.PORTAL_REPORT_DEBOUNCE_SECONDS + 1)
    runs = recompute.run_due(now=later)
    assert len(runs) == 7 and not RecomputeRequest.objects.exists()
    assert set(ReportRun.objects.values_list("root_id", flat=True)) == {COUNTY}


@pytest.mark.django_db
def test_rolled_back_change_asks_for_nothing(regions, settings, django_capture_on_commit_callbacks):
    from django.db import transaction

    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = True
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            _home("甲", "370306001000", "1")
            raise RuntimeError("abort")
    assert not RecomputeRequest.objects.exists()


@pytest.mark.django_db
def test_compute_reports_command_runs_the_same_computation(regions, capsys):
    _home("甲", "370306001000", "1", internal_unit="infirmary")
    call_command("compute_reports", "--year", "2025", "--region", COUNTY)
    out = capsys.readouterr().out
    run = ReportRun.objects.get()
    assert run.status == RunStatus.COMPLETE and f"#{run.pk}" in out and "2025" in out
    assert ReportRow.objects.get(run=run, indicator_id="YL_MED_COVERAGE", region_id=COUNTY).numerator == 1


@pytest.mark.django_db
def test_compute_reports_refuses_a_future_year_and_an_unknown_region(regions):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="尚未开始"):
        call_command("compute_reports", "--year", str(datetime.date.today().year + 1))
    with pytest.raises(CommandError, match="不存在"):
        call_command("compute_reports", "--year", "2025", "--region", "370399000000")


@pytest.mark.django_db
def test_a_duplicate_coordinator_delivery_does_not_materialise_twice(regions, monkeypatch):
    from assessments import tasks

    _home("甲", "370306001000", "1")
    run = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on=D(2025, 12, 31))
    sent = []
    monkeypatch.setattr(
        tasks, "group", lambda sigs: type("G", (), {"apply_async": lambda self: sent.append(list(sigs))})()
    )
    assert tasks.compute_run(run.pk) == 1
    facts = run.facts.count()
    assert tasks.compute_run(run.pk) == 1  # redelivered: the open slice again, no new facts
    assert run.facts.count() == facts and len(sent) == 2
    tasks.compute_slice.apply(args=(run.pk, COUNTY))
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETE
    assert tasks.compute_run(run.pk) == 0


@pytest.mark.django_db
def test_lost_messages_are_dispatched_again(regions, monkeypatch):
    from assessments import tasks

    pending = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on=D(2025, 12, 31))
    ReportRun.objects.filter(pk=pending.pk).update(
        created_at=recompute.timezone.now() - datetime.timedelta(minutes=5)
    )
    fresh = ReportRun.objects.create(year=2024, root_id=COUNTY, evaluated_on=D(2024, 12, 31))
    sent = []
    monkeypatch.setattr(tasks.compute_run, "apply_async", lambda args: sent.append(args[0]))
    assert tasks.redispatch_stale() == [pending.pk] and sent == [pending.pk]
    assert fresh.pk not in sent


@pytest.mark.django_db
def test_a_transient_database_error_is_retried_without_failing_the_run(regions, monkeypatch):
    from django.db import OperationalError

    from assessments import tasks

    _home("甲", "370306001000", "1")
    run = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on=D(2025, 12, 31))
    compute.claim(run)
    compute.start(run)
    calls = {"n": 0}
    real = compute.compute_slice

    def flaky(r, county):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(r, county)

    monkeypatch.setattr(compute, "compute_slice", flaky)
    result = tasks.compute_slice.apply(args=(run.pk, COUNTY), throw=False)  # eager: the retry runs inline
    run.refresh_from_db()
    assert calls["n"] == 2 and result.successful() and run.status == RunStatus.COMPLETE


@pytest.mark.django_db
def test_a_failed_run_tells_users_nothing_internal(regions, monkeypatch):
    run = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on=D(2025, 12, 31))
    monkeypatch.setattr(
        compute, "materialise", lambda r: (_ for _ in ()).throw(RuntimeError('relation "x" does not exist'))
    )
    with pytest.raises(RuntimeError):
        compute.run_inline(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "relation" not in run.error and "系统日志" in run.error
