"""The `occupancy` and `residents` kinds of the spreadsheet engine (issue 6, CONTRACT.md columns):
a township's occupancy staged for a county user's acceptance, re-upload unchanged, a changed
figure an update with its diff, beds above 核定 refused; residents at once with the ID number
masked in the plan, the preview, the summary, the annotated error sheet and the logs; Excel's
4.40524E+17 refused; stays overlapping across homes refused (the other home named only in
scope); set-based validation; undo; import_sheet.

Fixtures (real files in tests/fixtures/sheets/, made by tests/fixtures/make_subsidy_fixtures.py —
its docstring says how):
- occupancy_township.xlsx — 丝绸路街道's 入住床位月报 (openpyxl): merged title row, 填报单位/填报日期
  row, synonym headers (统一社会信用代码, 机构名称, 月份, 自理床位数, 失能床位数) in their own order with
  the unknown 序号 and 备注, months as 2025年1月 / 2025/2 / a date cell, "31张" and full-width
  "１２", a 幸福院 by 系统编号, a credit code with stray spaces, a blank row and a 合计 row.
- residents_gbk.csv — the township's 入住老人名册 in GBK with CRLF: title and 填报单位 rows, synonym
  headers (老人姓名, 身份证号码), 机构名称 and an unknown 序号, ability levels as labels and a digit,
  IDs ending in X and x, dates in four shapes, a blank line and a 填表人 footer.
The CSV sheets built inline below are GBK too, with a title and a 填报单位 row (data from row 4)."""

import datetime
import io
import json
import logging
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eldercare.audit.models import Action, AuditEvent
from eldercare.sheets import engine, kinds
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution
from subsidies import idcard
from subsidies import occupancy as svc
from subsidies.models import OccupancyReport, Resident
from tests.factories import IMPORT_SUMMARY_KEYS, at, csrf_client, make_home, make_hospital

pytestmark = pytest.mark.django_db
S = ImportBatch.Status
D = datetime.date
FIX = Path(__file__).parents[1] / "fixtures" / "sheets"

YINZI, XIUHUA, HAPPY = "91310110666007217T", "52370306MJ0000001J", "JG90000001"
BEIJIAO_HOME, NEIGHBOUR_HOME, BEIJIAO_HC = "52370306MJD600087D", "52370307MJD6000112", "12370306MB2857321M"
# The fixture's ID numbers (valid, made up) and a few more.
ZHANG, LI, WANG, ZHAO = "370306194501021237", "11010519491231002X", "370306193907205517", "37030619561010321X"
QIAN, SUN = "370306194803150042", "370306194211086825"
FIXTURE_IDS = (ZHANG, LI, WANG, ZHAO)

OCC_HEADER = "养老机构信用代码,年月,自理入住床位数,失能入住床位数"
RES_HEADER = "养老机构信用代码,姓名,身份证号,能力等级,入住日期,退住日期"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, monkeypatch):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    at(monkeypatch, D(2025, 8, 15))


@pytest.fixture
def world(regions):
    w = {
        "yinzi": make_home(
            name="银子敬老院", region="370306001001", credit_code=YINZI, opened_on=D(2020, 1, 1)
        ),
        "xiuhua": make_home(
            name="绣花社区养老院",
            region="370306001002",
            credit_code=XIUHUA,
            type="care_home",
            beds_eldercare=40,
            opened_on=D(2020, 1, 1),
        ),
        "happy": make_home(
            name="银子社区幸福院",
            region="370306001001",
            credit_code="",
            type="rural_happiness_home",
            beds_eldercare=10,
            opened_on=D(2020, 1, 1),
        ),
        "beijiao": make_home(opened_on=D(2020, 1, 1)),  # 北郊镇敬老院: another township
        "neighbour": make_home(name="邻县敬老院", region="370307001000", credit_code=NEIGHBOUR_HOME),
        "hospital": make_hospital(),
    }
    Institution.objects.filter(pk=w["happy"].pk).update(portal_no=HAPPY)
    for inst in w.values():
        inst.refresh_from_db()
    return w


def sheet(*rows, header=OCC_HEADER) -> bytes:
    lines = ["丝绸路街道表", "填报单位：丝绸路街道,,,填报日期：2025年8月1日", header, *rows]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def run(user, data, kind="occupancy", name="月报.csv", **kw):
    return engine.start_import(actor=user, kind=kind, data=data, filename=name, **kw)


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


def no_full_ids(text: str, numbers=FIXTURE_IDS) -> bool:
    text = text.upper()
    return not any(n in text or n[:17] in text for n in numbers)


def figures():
    return {
        (r.institution.name, r.month): (r.self_care, r.disabled)
        for r in OccupancyReport.objects.select_related("institution")
    }


# -- occupancy ----------------------------------------------------------------------------------
def test_township_occupancy_is_staged_then_accepted_and_reupload_changes_nothing(world, township, civil):
    data = (FIX / "occupancy_township.xlsx").read_bytes()
    b = run(township, data, name="月报.xlsx")
    assert b.status == S.PENDING, result(b)["errors"]
    summary = b.summary()
    assert set(summary) == IMPORT_SUMMARY_KEYS and summary["kind"] == "occupancy"
    assert summary["pending_acceptance"] and not summary["committed"]
    # title + 填报单位, the blank row, the 合计 row
    assert (b.rows_total, b.created, b.updated, b.unchanged, b.skipped) == (4, 4, 0, 0, 4)
    assert {(w["row"], w["column"]) for w in result(b)["warnings"]} == {(3, "序号"), (3, "备注")}
    assert not OccupancyReport.objects.exists()  # nothing until a county user accepts

    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert (b.status, b.decided_by) == (S.COMMITTED, civil)
    assert figures() == {
        ("银子敬老院", D(2025, 1, 1)): (30, 12),
        ("银子敬老院", D(2025, 2, 1)): (31, 12),
        ("绣花社区养老院", D(2025, 1, 1)): (20, 5),
        ("银子社区幸福院", D(2025, 1, 1)): (4, 2),
    }
    assert set(OccupancyReport.objects.values_list("created_by", flat=True)) == {township.pk}
    assert (
        AuditEvent.objects.filter(object_type="subsidies.occupancyreport", action=Action.CREATE).count() == 4
    )

    stamps = dict(OccupancyReport.objects.values_list("pk", "updated_at"))
    events = AuditEvent.objects.count()
    again = run(township, data, name="月报.xlsx")
    assert (again.status, again.created, again.updated, again.unchanged) == (S.PENDING, 0, 0, 4)
    engine.accept(actor=civil, batch=again)
    assert dict(OccupancyReport.objects.values_list("pk", "updated_at")) == stamps
    # upload, submitted for acceptance, committed: the batch's own events only
    assert AuditEvent.objects.count() == events + 3


def test_changed_figure_is_an_update_with_its_diff(world, township, civil):
    svc.occupancy_record(civil, world["yinzi"], D(2025, 1, 1), 30, 12)
    report = OccupancyReport.objects.get()
    b = run(township, sheet(f"{YINZI},2025-01,35,", f"{YINZI},2025年2月,20,10"), dry_run=True)
    assert (b.status, b.created, b.updated, b.unchanged) == (S.VALIDATED, 1, 1, 0)
    op = next(op for op in result(b)["ops"] if op["op"] == "update")
    # A blank cell leaves the stored value: only 自理 changes.
    assert (op["diff"], op["disabled"], op["id"]) == ({"self_care": [30, 35]}, 12, report.pk)
    assert kinds.get("occupancy").describer(township, [op]).changes(op) == [
        {"field": "自理入住床位数", "old": "30", "new": "35"}
    ]
    page = csrf_client(township).get(f"/imports/{b.pk}/").content.decode()
    assert "自理入住床位数" in page and "35" in page and "银子敬老院 · 2025年1月" in page
    b = engine.confirm(actor=township, batch=b)
    engine.accept(actor=civil, batch=b)
    report.refresh_from_db()
    assert (report.self_care, report.disabled) == (35, 12)
    event = AuditEvent.objects.filter(object_type="subsidies.occupancyreport", action=Action.UPDATE).get()
    assert event.changes == {"self_care": [30, 35]}
    # A county user's own upload takes effect at once.
    county = run(civil, sheet(f"{YINZI},2025/3,1,1"))
    assert (county.status, county.created) == (S.COMMITTED, 1) and not county.staged


def test_occupancy_row_errors_are_located_and_nothing_is_written(world, township):
    rows = [
        f"{YINZI},2025年1月,70,11",  # 4: 81 > 80 beds
        f"{BEIJIAO_HOME},2025-01,1,1",  # 5: another township's home
        f"{NEIGHBOUR_HOME},2025-01,1,1",  # 6: another county: not found
        f"{BEIJIAO_HC},2025-01,1,1",  # 7: a hospital (another township's, but the family decides)
        f"{XIUHUA},2025年9月,1,1",  # 8: a month still to come
        f"{XIUHUA},2025年13月,1,1",  # 9: no such month
        f"{XIUHUA},2025-02,-1,1",  # 10: negative
        f"{HAPPY},2025-02,1,",  # 11: a new month needs both figures
        f"{YINZI},2025-01,1,1",  # 12: duplicate of row 4
        f"{XIUHUA},2025-03,清空,1",  # 13: cannot clear
        "4.40524E+17,2025-03,1,1",  # 14: a mangled code
    ]
    b = run(township, sheet(*rows))
    assert_errors(
        b,
        [
            (4, "失能入住床位数", "超过该机构2025年1月末的核定养老床位数 80 张"),
            (5, "养老机构信用代码", "管辖范围"),
            (6, "养老机构信用代码", "找不到"),
            (7, "养老机构信用代码", "不是养老服务机构"),
            (8, "年月", "尚未到来"),
            (9, "年月", "无法识别为年月"),
            (10, "自理入住床位数", "不能小于0"),
            (11, "失能入住床位数", "须填写失能入住床位数"),
            (12, "年月", "与第4行重复"),
            (13, "自理入住床位数", "不能清空"),
            (14, "养老机构信用代码", "文本"),
        ],
    )
    assert not OccupancyReport.objects.exists()
    assert not b.summary()["committed"]


def test_beds_reduced_between_upload_and_acceptance_make_the_batch_stale(world, township, civil):
    from institutions import services as registry

    b = run(township, sheet(f"{YINZI},2025-07,60,20"))
    assert b.status == S.PENDING
    registry.institution_change(
        actor=civil, institution=world["yinzi"], changes={"beds_eldercare": 60}, effective=D(2025, 7, 1)
    )
    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert b.status == S.STALE and "超过" in b.message
    assert not OccupancyReport.objects.exists()


def test_occupancy_revert(world, civil):
    svc.occupancy_record(civil, world["yinzi"], D(2025, 1, 1), 30, 12)
    stamp = OccupancyReport.objects.get().updated_at
    b = run(civil, sheet(f"{YINZI},2025-01,31,12", f"{XIUHUA},2025-01,5,5"))
    assert (b.status, b.created, b.updated) == (S.COMMITTED, 1, 1)
    engine.revert(actor=civil, batch=b)
    report = OccupancyReport.objects.get()
    assert (report.self_care, report.updated_at) == (30, stamp)


# -- residents ----------------------------------------------------------------------------------
def test_township_roster_takes_effect_at_once_masked_everywhere(world, township):
    data = (FIX / "residents_gbk.csv").read_bytes()
    b = run(township, data, kind="residents", name="名册.csv")
    assert b.status == S.COMMITTED, result(b)["errors"]
    summary = b.summary()
    assert summary["kind"] == "residents" and summary["committed"] and not summary["pending_acceptance"]
    # title + 填报单位, the blank line, the footer
    assert (b.rows_total, b.created, b.updated, b.unchanged, b.skipped) == (4, 4, 0, 0, 4)
    stays = {r.name: r for r in Resident.objects.select_related("institution")}
    assert (stays["张秀英"].institution, stays["张秀英"].ability_level, stays["张秀英"].admitted_on) == (
        world["yinzi"],
        0,
        D(2025, 1, 5),
    )
    assert (stays["李桂兰"].id_masked, stays["李桂兰"].admitted_on) == ("1101**********002X", D(2025, 3, 1))
    assert (stays["王德明"].institution, stays["王德明"].ability_level) == (world["xiuhua"], 2)
    assert (stays["王德明"].admitted_on, stays["王德明"].discharged_on) == (D(2024, 12, 1), D(2025, 6, 30))
    assert (stays["赵淑珍"].institution, stays["赵淑珍"].ability_level) == (world["happy"], 4)
    assert idcard.decrypt(stays["赵淑珍"].id_cipher) == ZHAO  # lower-case x stored upper-case
    assert stays["赵淑珍"].id_hash == idcard.lookup_hash(ZHAO)
    # The stored plan and report, the summary, the preview page, the audit trail: masked only.
    stored = ImportBatch.objects.get(pk=b.pk)
    assert no_full_ids(json.dumps(stored.get_result(), ensure_ascii=False))
    assert no_full_ids(json.dumps(summary, ensure_ascii=False))
    page = csrf_client(township).get(f"/imports/{b.pk}/").content.decode()
    assert "李桂兰（1101**********002X）· 银子敬老院" in page and no_full_ids(page)
    audit = " ".join(
        json.dumps([e.changes, e.detail, e.object_repr], ensure_ascii=False) for e in AuditEvent.objects.all()
    )
    assert "1101**********002X" in audit and no_full_ids(audit)

    events = AuditEvent.objects.count()
    again = run(township, data, kind="residents", name="名册.csv")
    assert (again.status, again.created, again.updated, again.unchanged) == (S.COMMITTED, 0, 0, 4)
    assert AuditEvent.objects.count() == events + 2  # the batch's upload and commit


def test_resident_row_errors_never_quote_the_number(world, township):
    bad_check = ZHANG[:-1] + "8"
    feb31 = "37030619990231001"
    feb31 += idcard.check_char(feb31)
    rows = [
        f"{YINZI},张秀英,{bad_check},能力完好,2025-01-05,",  # 4: check character
        f"{YINZI},李桂兰,4.40524E+17,轻度失能,2025-01-05,",  # 5: Excel's scientific form
        f"{YINZI},王德明,370306390720551,2,2025-01-05,",  # 6: 15 digits
        f"{YINZI},赵淑珍,{feb31},2,2025-01-05,",  # 7: 1999-02-31
        f"{YINZI},钱,{QIAN},半失能,2025-01-05,",  # 8: no such level
        f"{YINZI},孙,{SUN},3,2025-09-01,",  # 9: admitted in the future
        f"{YINZI},孙,{SUN},3,2025-01-01,2024-12-31",  # 10: discharged before admission
        f"{YINZI},,{SUN},3,2025-02-01,",  # 11: no name
        f"{BEIJIAO_HOME},周,{ZHANG},1,2025-01-05,",  # 12: another township's home
    ]
    b = run(township, sheet(*rows, header=RES_HEADER), kind="residents")
    assert_errors(
        b,
        [
            (4, "身份证号", "校验码"),
            (5, "身份证号", "设置为“文本”格式"),
            (6, "身份证号", "15位"),
            (7, "身份证号", "出生日期不是有效日期"),
            (8, "能力等级", "不是有效的能力等级"),
            (9, "入住日期", "晚于今天"),
            (10, "退住日期", "应晚于入住日期"),
            (11, "姓名", "必填"),
            (12, "养老机构信用代码", "管辖范围"),
        ],
    )
    report = json.dumps(ImportBatch.objects.get(pk=b.pk).get_report(), ensure_ascii=False)
    assert no_full_ids(report, (bad_check, feb31, ZHANG, QIAN, SUN, "370306390720551"))
    assert not Resident.objects.exists()
    # The annotated error sheet masks the column as well.
    from eldercare.sheets.readers import read_rows

    resp = csrf_client(township).get(f"/imports/{b.pk}/annotated.xlsx")
    assert resp.status_code == 200
    text = json.dumps(read_rows(resp.content), ensure_ascii=False, default=str)
    assert "3703**********1238" in text and "校验码" in text
    assert no_full_ids(text, (bad_check, feb31, ZHANG, QIAN, SUN))


def test_excel_number_cell_id_is_refused_with_format_as_text(world, township):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(RES_HEADER.split(","))
    ws.append([YINZI, "张秀英", 370306194501021237, "能力完好", D(2025, 1, 5), None])
    buf = io.BytesIO()
    wb.save(buf)
    b = run(township, buf.getvalue(), kind="residents", name="名册.xlsx")
    assert_errors(b, [(2, "身份证号", "“文本”格式")])


def test_stays_overlapping_across_homes_are_refused(world, township, civil):
    svc.resident_record(
        civil, world["beijiao"], name="张秀英", id_number=ZHANG, ability_level=1, admitted_on=D(2024, 6, 1)
    )
    svc.resident_record(
        civil,
        world["xiuhua"],
        name="李桂兰",
        id_number=LI,
        ability_level=1,
        admitted_on=D(2024, 1, 1),
        discharged_on=D(2025, 3, 1),
    )
    rows = [
        f"{YINZI},张秀英,{ZHANG},能力完好,2025-01-05,",  # 4: open stay in 北郊镇 (not the uploader's)
        f"{YINZI},李桂兰,{LI},轻度失能,2025-02-01,",  # 5: 绣花社区养老院 until 1 March (in scope)
        f"{YINZI},李桂兰,{LI},轻度失能,2025-03-01,",  # 6: from the day she left: fine …
        f"{HAPPY},李桂兰,{LI},轻度失能,2025-04-01,",  # 7: … but not also in the 幸福院 (row 6)
    ]
    b = run(township, sheet(*rows, header=RES_HEADER), kind="residents")
    assert_errors(
        b,
        [
            (4, "入住日期", "另一家养老机构"),
            (5, "入住日期", "在绣花社区养老院有 2024-01-01 至 2025-03-01 的入住记录"),
            (7, "入住日期", "与第6行"),
        ],
    )
    errors = json.dumps(result(b)["errors"], ensure_ascii=False)
    assert "北郊镇敬老院" not in errors and "2024-06-01" not in errors
    # The county officer sees the home by name (in scope).
    county = run(civil, sheet(rows[0], header=RES_HEADER), kind="residents")
    assert_errors(county, [(4, "入住日期", "在北郊镇敬老院有 2024-06-01 起、至今未退住的入住记录")])
    # One file moving her: the discharge in one row makes room for the admission in the other.
    discharge = f"{BEIJIAO_HOME},张秀英,{ZHANG},轻度失能,2024-06-01,2025-01-05"
    moved = run(civil, sheet(rows[0], discharge, header=RES_HEADER), kind="residents")
    assert (moved.status, moved.created, moved.updated) == (S.COMMITTED, 1, 1), result(moved)["errors"]
    assert sorted(
        Resident.objects.filter(id_hash=idcard.lookup_hash(ZHANG)).values_list("admitted_on", "discharged_on")
    ) == [
        (D(2024, 6, 1), D(2025, 1, 5)),
        (D(2025, 1, 5), None),
    ]


def test_township_may_add_a_discharge_but_not_correct_a_stay(world, township, civil, monkeypatch):
    row = f"{YINZI},张秀英,{ZHANG},轻度失能,2025-01-05,"
    first = run(township, sheet(row, header=RES_HEADER), kind="residents")
    assert first.status == S.COMMITTED
    at(monkeypatch, D(2025, 8, 15), hour=11)  # each batch at its own time (updated_at tells them apart)
    left = run(township, sheet(row + "2025-07-31", header=RES_HEADER), kind="residents")
    assert (left.status, left.updated) == (S.COMMITTED, 1)
    assert Resident.objects.get().discharged_on == D(2025, 7, 31)
    op = result(left)["ops"][0]
    assert op["diff"] == {"discharged_on": [None, "2025-07-31"]}
    corrected = row.replace("轻度失能", "重度失能") + "2025-07-31"
    refused = run(township, sheet(corrected, header=RES_HEADER), kind="residents")
    assert_errors(refused, [(4, "姓名", "没有修改入住记录的权限")])
    at(monkeypatch, D(2025, 8, 15), hour=12)
    by_county = run(civil, sheet(corrected, header=RES_HEADER), kind="residents")
    assert (by_county.status, by_county.updated) == (S.COMMITTED, 1)
    assert Resident.objects.get().ability_level == 3
    # Undo restores the township's discharge-only version, then removes the stay.
    engine.revert(actor=civil, batch=by_county)
    assert Resident.objects.get().ability_level == 1
    with pytest.raises(ValidationError, match="又有修改"):  # the discharge came later: undo it first
        engine.revert(actor=civil, batch=first)
    engine.revert(actor=civil, batch=left)
    assert Resident.objects.get().discharged_on is None
    engine.revert(actor=civil, batch=first)
    assert not Resident.objects.exists()


def test_no_full_id_number_in_the_logs_of_an_import(world, township, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    connection.force_debug_cursor = True
    try:
        b = run(township, (FIX / "residents_gbk.csv").read_bytes(), kind="residents", name="名册.csv")
        bad = run(
            township,
            sheet(f"{YINZI},张秀英,{ZHANG[:-1]}8,1,2025-01-05,", header=RES_HEADER),
            kind="residents",
        )
    finally:
        connection.force_debug_cursor = False
    assert (b.status, bad.status) == (S.COMMITTED, S.INVALID)
    assert any("subsidies_resident" in rec.getMessage() for rec in caplog.records)
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert no_full_ids(text, (*FIXTURE_IDS, ZHANG[:-1] + "8"))


# -- set-based validation -------------------------------------------------------------------------
def _validate_queries(kind, actor, data) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        out = kinds.get(kind).validate(actor=actor, data=data, as_of=D(2025, 8, 15), progress=lambda f: None)
    assert not out.errors, out.errors[:3]
    return [q["sql"] for q in ctx.captured_queries]


def test_occupancy_validation_queries_do_not_grow_with_rows(world, township, civil):
    homes = [YINZI, XIUHUA, HAPPY]
    for i in range(6):  # stored months: the file restates them (unchanged rows)
        svc.occupancy_record(civil, world["xiuhua"], D(2010 + i, 1, 1), 1, 1)

    def file(n):
        rows = [f"{XIUHUA},{2010 + i}-01,1,1" for i in range(6)]
        rows += [f"{homes[i % 3]},{2016 + i // 3 % 9}-{i // 27 % 12 + 1:02d},1,1" for i in range(n)]
        return sheet(*rows)

    _validate_queries("occupancy", township, file(20))  # warm-up: the user's permissions are cached
    few, many = (
        _validate_queries("occupancy", township, file(20)),
        _validate_queries("occupancy", township, file(200)),
    )
    assert len(many) == len(few) <= 4


def test_resident_validation_queries_do_not_grow_with_rows(world, township, civil):
    def number(i):
        first17 = f"37030619{40 + i // 300:02d}{i // 25 % 12 + 1:02d}{i % 25 + 1:02d}{i % 1000:03d}"
        return first17 + idcard.check_char(first17)

    for i in range(5):  # stored stays: restated unchanged
        svc.resident_record(
            civil,
            world["yinzi"],
            name=f"老人{i}",
            id_number=number(i),
            ability_level=1,
            admitted_on=D(2025, 1, 1),
        )

    def file(n):
        rows = []
        for i in range(n):
            home = YINZI if i < 5 else (YINZI, XIUHUA, HAPPY)[i % 3]
            rows.append(f"{home},老人{i},{number(i)},轻度失能,2025-01-01,")
        return sheet(*rows, header=RES_HEADER)

    _validate_queries("residents", township, file(20))
    few, many = (
        _validate_queries("residents", township, file(20)),
        _validate_queries("residents", township, file(200)),
    )
    assert len(many) == len(few) <= 3


# -- import_sheet, the template -------------------------------------------------------------------
def import_sheet(kind, path, username, *args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(
            "import_sheet", kind, str(path), "--user", username, "--json", *args, stdout=out, stderr=err
        )
    except SystemExit as exc:
        code = exc.code
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text, text
    return code, (json.loads(out.getvalue()) if out.getvalue() else None), err.getvalue()


def test_import_sheet_for_both_kinds(world, township, tmp_path):
    code, data, _err = import_sheet("occupancy", FIX / "occupancy_township.xlsx", "town1")
    assert code == 0 and data["pending_acceptance"] and not data["committed"] and data["created"] == 4
    code, data, _err = import_sheet("residents", FIX / "residents_gbk.csv", "town1", "--dry-run")
    assert code == 0 and (data["kind"], data["created"], data["committed"]) == ("residents", 4, False)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sheet(f"{YINZI},张秀英,{ZHANG[:-1]}8,1,2025-01-05,", header=RES_HEADER))
    code, data, _err = import_sheet("residents", bad, "town1")
    assert (
        code == 1
        and data["errors"][0]["column"] == "身份证号"
        and no_full_ids(json.dumps(data), (ZHANG[:-1] + "8",))
    )
    assert not Resident.objects.exists() and not OccupancyReport.objects.exists()


def test_templates_carry_the_rules_and_the_text_column(world, township):
    from openpyxl import load_workbook

    c = csrf_client(township)
    for kind, header in (("occupancy", "年月"), ("residents", "身份证号")):
        resp = c.get(f"/imports/template/{kind}.xlsx")
        assert resp.status_code == 200
        wb = load_workbook(io.BytesIO(resp.content))
        headers = [cell.value for cell in wb.worksheets[0][1]]
        assert header in headers
    ws = load_workbook(io.BytesIO(c.get("/imports/template/residents.xlsx").content)).worksheets[0]
    column = [cell.value for cell in ws[1]].index("身份证号") + 1
    assert ws.cell(row=2, column=column).number_format == "@"
    page = c.get("/imports/new/residents/").content.decode()
    assert "4.40524E+17" in page and "脱敏" in page
    assert "县级" in c.get("/imports/new/occupancy/").content.decode()
