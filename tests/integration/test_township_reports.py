"""Township reports (issue 7, DOMAIN.md §7): DHIS2's data approval plus what its users asked for —
draft → submit → accept (locked) → reopen with a reason → 「有修订」 → re-accept; only accepted
values count; numbers ≥ 0 within their field's bounds and a numerator never above its
denominator; township scope; bulk accept, each audited; two officers accepting at once give one
acceptance; the reporting calendar's reminders, each sent once (time travel with
tests.factories.at); and the `township_reports` sheet kind with real files.

Fixtures (real files in tests/fixtures/sheets/, made by
tests/fixtures/make_township_report_fixtures.py — its docstring says how):
- township_reports_township.xlsx — 丝绸路街道's own 乡镇年报 (openpyxl): merged title row, 填报单位/
  填报日期 row, synonym headers (乡镇（街道）, 年份, 60岁以上老年人数, 签约老年人数 …) in their own
  order with the unknown 序号 and 备注, 2024 and 2025, "1,200", full-width "９００", "2个", a blank
  满意度, a blank row and a 合计 row.
- township_reports_county_gbk.csv — the county's 2025 summary in GBK with CRLF: title and 填报单位
  rows, 北郊镇 by its 9-digit prefix, "2025年", "8,260", a blank line and a 填表人 footer.
- township_reports_county.xls / .ods — the same table as old Excel (xlwt) and LibreOffice save it.
The CSV sheets built inline below are GBK too, with a title and a 填报单位 row (data from row 4)."""

import datetime
import io
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, connections

from assessments import catalogue, recompute
from assessments import township_reports as svc
from assessments.models import ReminderSent, ReportingPeriod, ReportStatus, TownshipReport
from eldercare.audit.models import Action, AuditEvent
from eldercare.core.models import Notification
from eldercare.sheets import engine, kinds
from eldercare.sheets.models import ImportBatch
from tests.factories import IMPORT_SUMMARY_KEYS, RegionFactory, at, csrf_client

pytestmark = pytest.mark.django_db
S = ImportBatch.Status
D = datetime.date
FIX = Path(__file__).parents[1] / "fixtures" / "sheets"
SILK, BEIJIAO, COUNTY, NEIGHBOUR = "370306001000", "370306100000", "370306000000", "370307001000"
FULL = {
    "pop60": 1200,
    "fd_signed60": 900,
    "pop65": 950,
    "health_managed65": 720,
    "villages": 2,
    "villages_with_center": 2,
    "satisfaction": 93.5,
}
HEADER = "区划代码,年度,60岁以上常住老年人数,家庭医生签约60岁以上老年人数,65岁以上常住老年人数,65岁以上老年人健康管理人数,行政村数,建有养老服务中心的行政村数,老年人满意度"


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, monkeypatch):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = False  # the recompute is the lead's; touch is checked apart
    at(monkeypatch, D(2026, 1, 20))


@pytest.fixture
def touched(monkeypatch):
    calls = []
    monkeypatch.setattr(recompute, "touch", lambda county, year: calls.append((county, year)))
    return calls


@pytest.fixture
def users(make_user):
    return {
        "silk": make_user("silk_town", "township", SILK),
        "beijiao": make_user("bj_town", "township", BEIJIAO),
        "civil": make_user("civil1", "civil", COUNTY),
        "health": make_user("health1", "health", COUNTY),
        "neighbour": make_user("nb_civil", "civil", "370307000000"),
    }


def report(code=SILK, year=2025) -> TownshipReport:
    return TownshipReport.objects.get(region_id=code, year=year)


def submitted(user, code, values=FULL, year=2025) -> TownshipReport:
    r = svc.report_save(actor=user, region=code, year=year, values=values)
    return svc.report_submit(actor=user, report=r)


def transitions(r) -> list[str]:
    return [
        e.detail["action"]
        for e in AuditEvent.objects.filter(
            object_type="assessments.townshipreport", object_id=str(r.pk), action=Action.TRANSITION
        ).order_by("at", "id")
    ]


# -- the flow -------------------------------------------------------------------------------------
def test_draft_submit_accept_lock_reopen_marker_reaccept(users, touched, django_capture_on_commit_callbacks):
    silk, civil = users["silk"], users["civil"]
    r = svc.report_save(
        actor=silk, region=SILK, year=2025, values={"pop60": "1,200", "fd_signed60": "９００"}
    )
    assert (r.status, r.values) == (ReportStatus.DRAFT, {"pop60": 1200, "fd_signed60": 900})
    assert (
        AuditEvent.objects.filter(object_type="assessments.townshipreport", action=Action.CREATE).count() == 1
    )
    r = svc.report_save(actor=silk, region=SILK, year=2025, values={k: str(v) for k, v in FULL.items()})
    assert r.values == FULL and r.accepted_values is None and not r.changed_since_accepted

    with django_capture_on_commit_callbacks(execute=True):
        r = svc.report_submit(actor=silk, report=r)
    assert (r.status, r.submitted_by) == (ReportStatus.SUBMITTED, silk)
    # the county's officers are told
    assert set(Notification.objects.filter(title__contains="待审核").values_list("user", flat=True)) == {
        users["civil"].pk,
        users["health"].pk,
    }
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_save(actor=silk, region=SILK, year=2025, values={"pop60": 1300})
    assert refused.value.status == 409 and "已提交待审核" in refused.value.message

    with django_capture_on_commit_callbacks(execute=True):
        outcome = svc.report_accept(actor=civil, reports=[r])
    assert [a.pk for a in outcome.accepted] == [r.pk] and not outcome.skipped
    r.refresh_from_db()
    assert (r.status, r.accepted_values, r.accepted_by, r.acceptances) == (
        ReportStatus.ACCEPTED,
        FULL,
        civil,
        1,
    )
    assert r.previous_accepted_values is None and not r.changed_since_accepted
    assert touched == [(COUNTY, 2025)]
    assert Notification.objects.filter(user=silk, title__contains="已审核").exists()

    # locked
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_save(actor=silk, region=SILK, year=2025, values={"pop60": 1300})
    assert refused.value.code == "locked" and "已审核锁定，如需更正请县级退回" in refused.value.message
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_save(actor=civil, region=SILK, year=2025, values={"pop60": 1300})
    assert refused.value.code == "locked"
    # reopen needs a county officer and a reason
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_reopen(actor=silk, report=r, reason="错了")
    assert refused.value.status == 403
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_reopen(actor=civil, report=r, reason="  ")
    assert refused.value.status == 400
    with django_capture_on_commit_callbacks(execute=True):
        r = svc.report_reopen(actor=civil, report=r, reason="60岁以上人数应按公安户籍数核对")
    assert (r.status, r.reopened_reason) == (ReportStatus.REOPENED, "60岁以上人数应按公安户籍数核对")
    assert touched == [(COUNTY, 2025), (COUNTY, 2025)]
    assert Notification.objects.filter(user=silk, body__contains="公安户籍").exists()
    # the last accepted values keep counting; nothing changed yet
    r.refresh_from_db()
    assert r.accepted_values == FULL and not r.changed_since_accepted

    r = svc.report_save(actor=silk, region=SILK, year=2025, values={"pop60": 1250})
    r.refresh_from_db()
    assert r.changed_since_accepted and r.accepted_values == FULL and r.values["pop60"] == 1250
    r = svc.report_submit(actor=silk, report=r)
    assert r.changed_since_accepted  # submitted, still differs from what counts
    svc.report_accept(actor=users["health"], reports=[r])
    r.refresh_from_db()
    assert (r.status, r.acceptances, r.accepted_by) == (ReportStatus.ACCEPTED, 2, users["health"])
    assert r.accepted_values["pop60"] == 1250 and r.previous_accepted_values == FULL
    assert r.changed_since_accepted  # 「有修订」 after a re-acceptance that changed the figures
    assert transitions(r) == ["submit", "accept", "reopen", "submit", "accept"]
    event = AuditEvent.objects.filter(
        object_type="assessments.townshipreport", object_id=str(r.pk), action=Action.UPDATE
    ).latest("id")
    assert event.changes == {"pop60": [1200, 1250]}


def test_accepting_again_or_unsubmitted_is_refused(users):
    civil = users["civil"]
    r = submitted(users["silk"], SILK)
    svc.report_accept(actor=civil, reports=[r])
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_accept(actor=users["health"], reports=[r], strict=True)
    assert refused.value.status == 409 and "已被他人审核" in refused.value.message
    draft = svc.report_save(actor=users["beijiao"], region=BEIJIAO, year=2025, values={"pop60": 10})
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_accept(actor=civil, reports=[draft], strict=True)
    assert refused.value.code == "state" and "尚未提交" in refused.value.message
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_submit(actor=users["silk"], report=report())
    assert refused.value.code == "state"
    assert report().acceptances == 1


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values, field, fragment",
    [
        (
            {"pop60": 1000, "fd_signed60": 1200},
            "fd_signed60",
            "“家庭医生签约60岁以上老年人数”（1,200）不能大于“60岁以上常住老年人数”（1,000）",
        ),
        ({"pop65": 10, "health_managed65": 11}, "health_managed65", "不能大于“65岁以上常住老年人数”"),
        ({"villages": 5, "villages_with_center": 6}, "villages_with_center", "不能大于“行政村数”"),
        ({"pop60": -1}, "pop60", "“60岁以上常住老年人数”不能为负数"),
        ({"pop60": "12.5"}, "pop60", "“60岁以上常住老年人数”应为整数"),
        ({"pop60": "十二"}, "pop60", "“60岁以上常住老年人数”“十二”不是数字"),
        ({"satisfaction": 120}, "satisfaction", "“老年人满意度”不能大于100"),
        ({"satisfaction": "93.55"}, "satisfaction", "“老年人满意度”最多保留1位小数"),
        ({"nonsense": 1}, "values", "未知的填报项"),
    ],
)
def test_figures_are_checked_with_the_column_named(users, values, field, fragment):
    with pytest.raises(ValidationError) as exc:
        svc.report_save(actor=users["silk"], region=SILK, year=2025, values=values)
    assert fragment in " ".join(exc.value.message_dict[field])
    assert not TownshipReport.objects.exists()  # nothing written


def test_a_submission_gives_both_figures_of_a_pair(users):
    r = svc.report_save(actor=users["silk"], region=SILK, year=2025, values={"fd_signed60": 100})
    assert r.status == ReportStatus.DRAFT  # a draft may be half-filled
    with pytest.raises(ValidationError) as exc:
        svc.report_submit(actor=users["silk"], report=r)
    assert exc.value.message_dict["pop60"] == [
        "填写了“家庭医生签约60岁以上老年人数”，须同时填写“60岁以上常住老年人数”。"
    ]
    assert report().status == ReportStatus.DRAFT


def test_numbers_as_typed(users):
    r = svc.report_save(
        actor=users["silk"],
        region=SILK,
        year=2025,
        values={"pop60": "１，２００人", "fd_signed60": " 900 ", "satisfaction": "92分", "villages": 3.0},
    )
    assert r.values == {"pop60": 1200, "fd_signed60": 900, "villages": 3, "satisfaction": 92}
    assert svc.as_decimal({"satisfaction": 92.5}, "satisfaction") == Decimal("92.5")
    # null (or a blank form input) clears; a missing key keeps with partial
    r = svc.report_save(actor=users["silk"], region=SILK, year=2025, values={"satisfaction": None})
    assert "satisfaction" not in r.values and r.values["villages"] == 3


def test_year_and_level(users):
    with pytest.raises(ValidationError) as exc:
        svc.report_save(actor=users["civil"], region=COUNTY, year=2025, values={})
    assert "乡镇（街道）" in exc.value.message_dict["region"][0]
    with pytest.raises(ValidationError) as exc:
        svc.report_save(actor=users["silk"], region=SILK, year=2027, values={})
    assert "年度 2027 不合理" in exc.value.message_dict["year"][0]


# -- scope ----------------------------------------------------------------------------------------
def test_township_scope(users):
    silk = users["silk"]
    with pytest.raises(PermissionDenied):
        svc.report_save(actor=silk, region=BEIJIAO, year=2025, values={"pop60": 1})
    with pytest.raises(PermissionDenied):
        svc.report_save(actor=users["neighbour"], region=SILK, year=2025, values={"pop60": 1})
    r = submitted(users["beijiao"], BEIJIAO, {"pop60": 100, "fd_signed60": 50})
    with pytest.raises(PermissionDenied):
        svc.report_submit(actor=silk, report=r)
    with pytest.raises(svc.ReportRefused) as refused:
        svc.report_accept(actor=silk, reports=[r])
    assert refused.value.status == 403
    with pytest.raises(PermissionDenied):
        svc.report_accept(actor=users["neighbour"], reports=[r])
    # a county user may enter (e.g. from paper) for any township of the county
    svc.report_save(actor=users["civil"], region=SILK, year=2025, values={"pop60": 1})
    from eldercare.accounts.scope import for_user

    assert list(for_user(TownshipReport, silk).values_list("region_id", flat=True)) == [SILK]


# -- bulk accept, concurrency ---------------------------------------------------------------------
def test_bulk_accept_each_audited(users, touched, regions):
    RegionFactory(code="370306002000", name="青年路街道", parent_id=COUNTY)
    civil = users["civil"]
    a = submitted(users["silk"], SILK)
    b = submitted(users["beijiao"], BEIJIAO, {"pop60": 8260, "fd_signed60": 6015})
    c = svc.report_save(actor=civil, region="370306002000", year=2025, values={"pop60": 10})  # a draft
    outcome = svc.report_accept(actor=civil, reports=[a.pk, b.pk, c.pk])
    assert sorted(r.pk for r in outcome.accepted) == sorted([a.pk, b.pk])
    assert [(r.pk, "尚未提交" in m) for r, m in outcome.skipped] == [(c.pk, True)]
    assert set(TownshipReport.objects.filter(status=ReportStatus.ACCEPTED).values_list("pk", flat=True)) == {
        a.pk,
        b.pk,
    }
    for r in (a, b):
        assert transitions(r) == ["submit", "accept"]
    assert touched == [(COUNTY, 2025)]  # one county-year, touched once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across two connections: PostgreSQL")
def test_two_officers_accepting_at_once_give_one_acceptance(make_user, monkeypatch, settings):
    catalogue.install()  # a transaction=True test's flush removed the shipped fields
    from tests.factories import make_tree

    make_tree()
    town = make_user("silk_town", "township", SILK)
    officers = [make_user("civil1", "civil", COUNTY), make_user("health1", "health", COUNTY)]
    r = submitted(town, SILK)
    real = svc._accept

    def slow(*args, **kw):
        time.sleep(0.5)  # hold the row lock while the other officer's request arrives
        return real(*args, **kw)

    monkeypatch.setattr(svc, "_accept", slow)
    barrier = threading.Barrier(2)
    results, pids = [], set()

    def run(actor):
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pids.add(cur.fetchone()[0])
            barrier.wait()
            out = svc.report_accept(actor=actor, reports=[r.pk], strict=True)
            results.append(("ok", len(out.accepted)))
        except svc.ReportRefused as exc:
            results.append(("refused", exc.message))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(o,)) for o in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(pids) == 2
    assert sorted(kind for kind, _ in results) == ["ok", "refused"], results
    assert "已被他人审核" in next(m for kind, m in results if kind == "refused")
    r.refresh_from_db()
    assert (r.status, r.acceptances) == (ReportStatus.ACCEPTED, 1)
    assert transitions(r) == ["submit", "accept"]


# -- the calendar and reminders -------------------------------------------------------------------
def test_due_date_defaults_to_31_january_and_can_be_set(users):
    assert svc.due_date(2025) == (D(2026, 1, 31), True)
    with pytest.raises(PermissionDenied):
        svc.period_set(actor=users["silk"], year=2025, due_on=D(2026, 2, 28))
    svc.period_set(actor=users["health"], year=2025, due_on=D(2026, 2, 28), note="春节顺延")
    assert svc.due_date(2025) == (D(2026, 2, 28), False)
    assert AuditEvent.objects.filter(object_type="assessments.reportingperiod").count() == 1


def test_not_yet_reported_lists_townships_without_a_submitted_report(users):
    assert [o.region.code for o in svc.not_yet_reported("370306", 2025)] == [SILK, BEIJIAO]
    submitted(users["beijiao"], BEIJIAO, {"pop60": 1, "fd_signed60": 1})
    svc.report_save(actor=users["silk"], region=SILK, year=2025, values={"pop60": 1})
    assert [(o.region.code, o.reason) for o in svc.not_yet_reported("370306", 2025)] == [
        (SILK, "已填写，尚未提交")
    ]


def notices(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("title", flat=True))


def test_reminders_before_and_after_the_due_date_each_once(users, monkeypatch):
    silk, beijiao, civil = users["silk"], users["beijiao"], users["civil"]
    submitted(beijiao, BEIJIAO, {"pop60": 1, "fd_signed60": 1})  # 北郊镇 has reported: never reminded
    sent = []

    def day(d):
        at(monkeypatch, d, hour=7)
        before = Notification.objects.count()
        svc.remind()
        svc.remind()  # a repeated (redelivered) run sends nothing twice
        sent.append((d, Notification.objects.count() - before))

    day(D(2026, 1, 23))  # 8 days before 31 January: nothing yet
    assert notices(silk) == []
    day(D(2026, 1, 24))  # 7 days before
    assert notices(silk) == ["2025年度乡镇年报将于2026-01-31截止（还有7天）"]
    day(D(2026, 1, 25))
    day(D(2026, 1, 30))  # 1 day before
    assert notices(silk)[-1] == "2025年度乡镇年报将于2026-01-31截止（还有1天）"
    day(D(2026, 1, 31))
    day(D(2026, 2, 1))  # overdue, week 1: the township, and the county's officers once
    assert notices(silk)[-1] == "2025年度乡镇年报已逾期1天（截止日期2026-01-31）"
    assert notices(civil) == ["2025年度乡镇年报逾期未报：共1个乡镇（街道）"]
    assert notices(users["health"]) == notices(civil)
    for d in range(2, 8):
        day(D(2026, 2, d))
    day(D(2026, 2, 8))  # week 2
    assert notices(silk)[-1] == "2025年度乡镇年报已逾期8天（截止日期2026-01-31）"
    assert len(notices(civil)) == 2
    # the neighbouring county's officer hears of 邻县城关街道 (no report either)
    assert [n for d, n in sent if n] == [1, 1, 4, 4]
    assert notices(users["neighbour"]) == ["2025年度乡镇年报逾期未报：共1个乡镇（街道）"] * 2
    assert notices(beijiao) == []
    assert Notification.objects.filter(user=silk).first().link == f"/reports/township/{SILK}/2025/"
    assert set(ReminderSent.objects.filter(region_id__in=[SILK, COUNTY]).values_list("kind", flat=True)) == {
        "before-7@20260131",
        "before-1@20260131",
        "overdue-w1@20260131",
        "overdue-w2@20260131",
        "summary-w1@20260131",
        "summary-w2@20260131",
    }
    # once reported, the reminders stop
    submitted(silk, SILK)
    so_far = len(notices(silk)), len(notices(civil))
    day(D(2026, 2, 15))
    assert (len(notices(silk)), len(notices(civil))) == so_far
    assert len(notices(users["neighbour"])) == 3  # 邻县 still has not reported


def test_reminders_follow_a_set_due_date_and_the_beat_task(users, monkeypatch):
    from celery.schedules import crontab
    from django.conf import settings

    from assessments import township_tasks

    ReportingPeriod.objects.create(year=2025, due_on=D(2026, 3, 10))
    at(monkeypatch, D(2026, 1, 24), hour=7)
    assert township_tasks.remind_township_reports.apply().get() == {
        "townships": 0,
        "notices": 0,
        "summaries": 0,
    }
    at(monkeypatch, D(2026, 3, 3), hour=7)
    assert township_tasks.remind_township_reports.apply().get()["notices"] == 2  # both townships
    assert township_tasks.remind_township_reports.apply().get()["notices"] == 0
    # a deadline moved is announced afresh
    ReportingPeriod.objects.filter(year=2025).update(due_on=D(2026, 3, 9))
    assert township_tasks.remind_township_reports.apply().get()["notices"] == 2
    entry = settings.CELERY_BEAT_SCHEDULE["township-report-reminders"]
    assert entry["task"] == "assessments.remind_township_reports"
    assert entry["schedule"] == crontab(hour=7, minute=0)
    from eldercare.celery import app

    app.loader.import_default_modules()
    assert "assessments.remind_township_reports" in app.tasks


# -- the sheet kind -------------------------------------------------------------------------------
def sheet(*rows, header=HEADER) -> bytes:
    lines = ["乡镇年报", "填报单位：周村区卫生健康局,,,填报日期：2026年1月20日", header, *rows]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def run(user, data, name="乡镇年报.csv", **kw):
    return engine.start_import(actor=user, kind="township_reports", data=data, filename=name, **kw)


def result(batch):
    return ImportBatch.objects.get(pk=batch.pk).get_result()


def assert_errors(batch, expected):
    """`expected`: [(row, column, fragment)] — exactly those places, each with its fragment."""
    errors = result(batch)["errors"]
    assert batch.status == S.INVALID, errors
    assert {(e["row"], e["column"]) for e in errors} == {(r, c) for r, c, _f in expected}, errors
    for row, column, fragment in expected:
        messages = [e["message"] for e in errors if (e["row"], e["column"]) == (row, column)]
        assert any(fragment in m for m in messages), (row, column, fragment, messages)


def test_township_upload_is_staged_then_the_county_acceptance_accepts(users, touched):
    silk, civil = users["silk"], users["civil"]
    data = (FIX / "township_reports_township.xlsx").read_bytes()
    b = run(silk, data, name="年报.xlsx")
    assert b.status == S.PENDING, result(b)["errors"]
    summary = b.summary()
    assert set(summary) == IMPORT_SUMMARY_KEYS and summary["kind"] == "township_reports"
    assert summary["pending_acceptance"] and not summary["committed"]
    # title + 填报单位, the blank row, the 合计 row
    assert (b.rows_total, b.created, b.updated, b.unchanged, b.skipped) == (2, 2, 0, 0, 4)
    warnings = {(w["row"], w["column"]) for w in result(b)["warnings"]}
    assert {(3, "序号"), (3, "备注"), (4, None)} == warnings  # 2024 has no 满意度
    assert not TownshipReport.objects.exists()  # nothing until a county user accepts
    # the upload counts as reported for the calendar
    assert [o.region.code for o in svc.not_yet_reported("370306", 2025)] == [BEIJIAO]

    preview = csrf_client(civil).get(f"/imports/{b.pk}/").content.decode()  # what the county accepts
    assert "丝绸路街道 · 2025年度" in preview and "60岁以上常住老年人数" in preview and "1,200" in preview
    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert (b.status, b.decided_by) == (S.COMMITTED, civil)
    r2025, r2024 = report(SILK, 2025), report(SILK, 2024)
    assert r2025.values == FULL
    assert r2024.values == {
        "pop60": 1180,
        "fd_signed60": 850,
        "pop65": 930,
        "health_managed65": 700,
        "villages": 2,
        "villages_with_center": 1,
    }
    for r in (r2024, r2025):
        assert (r.status, r.accepted_values, r.accepted_by, r.submitted_by, r.acceptances) == (
            ReportStatus.ACCEPTED,
            r.values,
            civil,
            silk,
            1,
        )
        assert transitions(r) == ["submit", "accept"]
    accept_event = AuditEvent.objects.filter(
        object_type="assessments.townshipreport", object_id=str(r2025.pk), detail__action="accept"
    ).get()
    assert accept_event.actor == civil  # the batch's acceptance is the county's acceptance
    assert sorted(touched) == [(COUNTY, 2024), (COUNTY, 2025)]

    stamps = dict(TownshipReport.objects.values_list("pk", "updated_at"))
    again = run(silk, data, name="年报.xlsx")
    assert (again.status, again.created, again.updated, again.unchanged) == (S.PENDING, 0, 0, 2)
    engine.accept(actor=civil, batch=again)
    assert dict(TownshipReport.objects.values_list("pk", "updated_at")) == stamps


def test_county_upload_takes_effect_at_once_in_every_format(users):
    civil = users["civil"]
    b = run(civil, (FIX / "township_reports_county_gbk.csv").read_bytes())
    assert (b.status, b.created, b.skipped, b.staged) == (S.COMMITTED, 2, 4, False), result(b)["errors"]
    assert report(SILK).values == FULL
    bj = report(BEIJIAO)
    assert bj.values["pop60"] == 8260 and bj.values["satisfaction"] == 91
    assert (bj.status, bj.accepted_by, bj.submitted_by) == (ReportStatus.ACCEPTED, civil, civil)
    assert [w["message"] for w in result(b)["warnings"]] == ["表尾说明行，未导入。"]
    for name in ("township_reports_county.xls", "township_reports_county.ods"):
        same = run(civil, (FIX / name).read_bytes(), name=name)
        assert (same.status, same.created, same.updated, same.unchanged) == (S.COMMITTED, 0, 0, 2), (
            name,
            result(same)["errors"],
        )


def test_an_upload_over_a_locked_report_is_a_row_error(users):
    civil, silk = users["civil"], users["silk"]
    run(civil, (FIX / "township_reports_county_gbk.csv").read_bytes())
    b = run(silk, sheet(f"{SILK},2025,1300"))
    assert_errors(b, [(4, None, "该乡镇该年度数据已审核锁定")])
    b = run(civil, sheet(f"{BEIJIAO},2025,8300"))
    assert_errors(b, [(4, None, "该乡镇该年度数据已审核锁定")])
    # restating the locked figures is no change at all
    same = run(silk, sheet(f"{SILK},2025年,1200,900"))
    assert (same.status, same.unchanged) == (S.PENDING, 1)


def test_blank_leaves_a_figure_and_clear_removes_it(users):
    civil = users["civil"]
    run(civil, (FIX / "township_reports_county_gbk.csv").read_bytes())
    svc.report_reopen(actor=civil, report=report(SILK), reason="满意度调查作废")
    b = run(
        civil,
        sheet(f"{SILK},2025,,,,,,,清空", "370306100,2025,,,,,,,"),
        dry_run=True,
    )
    assert (b.status, b.updated, b.unchanged) == (S.VALIDATED, 1, 1), result(b)["errors"]
    assert {e["row"]: e["message"] for e in result(b)["errors"]} == {}
    # 北郊镇 (accepted, nothing stated) is unchanged; a row stating nothing at all is no error
    ops = {op["region"]: op for op in result(b)["ops"]}
    assert ops[BEIJIAO]["op"] == "unchanged"
    op = ops[SILK]
    assert op["diff"] == {"satisfaction": [93.5, None]} and op["status"] == ["reopened", "accepted"]
    changes = kinds.get("township_reports").describer(civil, [op]).changes(op)
    assert [(c["field"], c["old"]) for c in changes] == [("老年人满意度", "93.5"), ("状态", "已退回修订")]
    assert changes[1]["new"] == "已审核锁定"
    engine.confirm(actor=civil, batch=b)
    r = report(SILK)
    assert "satisfaction" not in r.values and r.values["pop60"] == 1200
    assert (r.status, r.acceptances, r.previous_accepted_values) == (ReportStatus.ACCEPTED, 2, FULL)
    assert r.changed_since_accepted


def test_sheet_rows_are_checked_and_located(users, regions):
    silk, civil = users["silk"], users["civil"]
    b = run(
        silk,
        sheet(
            f"{SILK},2025,1000,1200",  # 4: numerator above denominator
            f"{BEIJIAO},2025,10",  # 5: another township
            f"{SILK},2025,10",  # 6: duplicate of row 4
            f"{SILK},2024,-1,,,,,,120",  # 7: negative, satisfaction above 100
            f"{SILK},2027,1",  # 8: a year still to come
            f"{SILK},2023,10,,,,,,93.55",  # 9: too many decimals
            f"{SILK},2022,,5",  # 10: numerator without its denominator
            "4.5E+11,2025,1",  # 11: a code Excel turned into a number
        ),
    )
    assert_errors(
        b,
        [
            (
                4,
                "家庭医生签约60岁以上老年人数",
                "“家庭医生签约60岁以上老年人数”（1,200）不能大于“60岁以上常住老年人数”（1,000）",
            ),
            (5, "区划代码", "只能填报本乡镇（街道）的数据"),
            (6, "年度", "与第4行重复"),
            (7, "60岁以上常住老年人数", "不能为负数"),
            (7, "老年人满意度", "“老年人满意度”不能大于100"),
            (8, "年度", "年度 2027 不合理"),
            (9, "老年人满意度", "最多保留1位小数"),
            (10, "60岁以上常住老年人数", "须同时填写“60岁以上常住老年人数”"),
            (11, "区划代码", "科学计数法"),
        ],
    )
    assert not TownshipReport.objects.exists()
    b = run(
        civil, sheet(f"{COUNTY},2025,1", f"{NEIGHBOUR},2025,1", "370306001001,2025,1", "370306009000,2025,1")
    )
    assert_errors(
        b,
        [
            (4, "区划代码", "是县级区划；乡镇年报须按乡镇（街道）填报"),
            (5, "区划代码", "不在您的管辖范围内"),
            (6, "区划代码", "是村（社区）级区划"),
            (7, "区划代码", "找不到区划代码为 370306009000 的乡镇（街道）"),
        ],
    )
    b = run(civil, "乡镇年报\r\n区划代码,60岁以上常住老年人数\r\n".encode("gbk"))
    assert_errors(b, [(2, "年度", "缺少必填列“年度”")])


def test_an_upload_cannot_change_a_submitted_report(users):
    silk = users["silk"]
    submitted(silk, SILK, {"pop60": 1000, "fd_signed60": 900})
    b = run(silk, sheet(f"{SILK},2025,1100"))
    assert b.status == S.INVALID
    assert any("已提交待审核" in e["message"] for e in result(b)["errors"])
    assert report().values == {"pop60": 1000, "fd_signed60": 900}
    assert run(silk, sheet(f"{SILK},2025,1000,900")).status != S.INVALID  # restating it is fine


def test_a_staged_batch_goes_stale_when_the_report_is_accepted_meanwhile(users):
    silk, civil = users["silk"], users["civil"]
    r = svc.report_save(actor=silk, region=SILK, year=2025, values={"pop60": 1000, "fd_signed60": 900})
    b = run(silk, sheet(f"{SILK},2025,1100"))
    assert (b.status, b.updated) == (S.PENDING, 1)
    r = svc.report_submit(actor=silk, report=r)
    svc.report_accept(actor=civil, reports=[r])  # within the same clock tick: the status tells
    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert b.status == S.STALE and "已审核锁定" in b.message
    assert report().accepted_values == {"pop60": 1000, "fd_signed60": 900}


def test_county_upload_reverted(users, touched):
    civil = users["civil"]
    svc.report_save(actor=users["silk"], region=SILK, year=2025, values={"pop60": 1000})
    b = run(civil, (FIX / "township_reports_county_gbk.csv").read_bytes())
    assert (b.created, b.updated) == (1, 1)
    engine.revert(actor=civil, batch=b)
    r = report()
    assert (r.status, r.values, r.accepted_values, r.acceptances, r.submitted_at) == (
        ReportStatus.DRAFT,
        {"pop60": 1000},
        None,
        0,
        None,
    )
    assert not TownshipReport.objects.filter(region_id=BEIJIAO).exists()
    # a revert once someone acted on a report is refused
    b = run(civil, (FIX / "township_reports_county_gbk.csv").read_bytes())
    svc.report_reopen(actor=civil, report=report(), reason="核对")
    with pytest.raises(ValidationError) as exc:
        engine.revert(actor=civil, batch=b)
    assert "丝绸路街道2025年度" in exc.value.messages[0]


def test_template_and_import_sheet(users, tmp_path):
    from openpyxl import load_workbook

    c = csrf_client(users["silk"])
    resp = c.get("/imports/template/township_reports.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    headers = [cell.value for cell in wb.worksheets[0][1]]
    assert headers[:3] == ["区划代码", "乡镇名称", "年度"] and "老年人满意度" in headers
    notes = " ".join(str(cell.value) for row in wb["填写说明"].iter_rows() for cell in row if cell.value)
    assert "不能大于“60岁以上常住老年人数”" in notes and "县级" in notes
    page = c.get("/imports/new/township_reports/").content.decode()
    assert "0–100，最多1位小数" in page and "已审核锁定" in page

    out = io.StringIO()
    call_command(
        "import_sheet",
        "township_reports",
        str(FIX / "township_reports_county_gbk.csv"),
        "--user",
        "civil1",
        "--json",
        stdout=out,
    )
    data = json.loads(out.getvalue())
    assert (data["committed"], data["created"], data["pending_acceptance"]) == (True, 2, False)
