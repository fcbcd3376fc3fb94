"""The `contracts` and `visits` kinds of the spreadsheet engine (issue 5, CONTRACT.md columns):
create → re-upload unchanged → update with its diff → termination, every row error located by
row and column in Chinese with nothing written, township scope (the medical party found
county-wide by exact code, only its id and name shown), visits, set-based validation, undo,
import_sheet's exit codes, the API, the template and the 批量导入 page.

Fixtures (real files in tests/fixtures/sheets/, made by tests/fixtures/make_contract_fixtures.py —
its docstring says how to run it):
- contracts_township.xlsx — written with openpyxl as 丝绸路街道 sends it: merged title row,
  填报单位/填报日期 row, synonym headers in their own order plus the unknown 序号 and 备注, a
  full-width 协议编号, a code with stray spaces, services split by 、 ， ； and spaces, dates as
  a date cell / 2026年12月31日 / 2026/3/1 / 2028.2.29 / an Excel serial, a 幸福院 and a 卫生室 by
  系统编号, a blank row and a 填表人 footer line (no 合计 row).
- visits_gbk.csv — GBK with CRLF (Excel's "CSV" on Chinese Windows): title and 填报单位 rows,
  synonym 服务日期, unknown 巡诊医生, "12人次" and full-width "１５", three date shapes, a blank
  line and a 合计 row.
- contracts_county_old.xls (xlwt) and contracts_county.ods (odfpy) — the same county register of
  周村区民政局 in both formats, one start date as a real date cell. LibreOffice is not installed
  where they were made, so these two come from the writer libraries, as the institutions' .xls
  and .ods did (tests/fixtures/make_fixtures.py).
The CSV sheets built inline below are GBK too, with a title and a 填报单位 row (data from row 4)."""

import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts import services
from contracts import sheet_kind as sk
from contracts.models import Contract, Visit
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent
from eldercare.sheets import engine, kinds
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution
from tests.factories import IMPORT_SUMMARY_KEYS, at, csrf_client, make_home, make_hospital

pytestmark = pytest.mark.django_db
S = ImportBatch.Status
D = datetime.date
FIX = Path(__file__).parents[1] / "fixtures" / "sheets"

YINZI, XIUHUA, HAPPY = "91310110666007217T", "52370306MJ0000001J", "JG90000001"
BEIJIAO_HOME, BEIJIAO_HC = "52370306MJD600087D", "12370306MB2857321M"
DISTRICT, CLINIC, NEIGHBOUR_HC = "12370306MB0000003E", "JG90000002", "12370306MB0000004H"
UNREGISTERED = "12370306MB0000005L"  # a valid code nobody registered

HEADER = "协议编号,医疗机构信用代码,养老机构信用代码,合作方式,服务内容,巡诊频次,开始日期,结束日期,终止日期"
ROW = f"SCL-2026-101,{BEIJIAO_HC},{YINZI},签约合作,上门巡诊、健康体检,每月,2026-01-01,2026-12-31,"
VISIT_HEADER = "医疗机构信用代码,协议编号,巡诊日期,服务人次"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


@pytest.fixture
def world(regions):
    """The institutions the fixtures name: 丝绸路街道's homes, a hospital in the other township
    of the county, one in the district seat, a code-less 卫生室 and 幸福院 (系统编号 set to the
    fixtures' JG90000001/2), another township's home and a hospital in the neighbouring county."""
    w = {
        "yinzi": make_home(name="银子敬老院", region="370306001001", credit_code=YINZI),
        "xiuhua": make_home(
            name="绣花社区日间照料中心", region="370306001002", credit_code=XIUHUA, type="day_care"
        ),
        "happy": make_home(
            name="银子社区幸福院", region="370306001001", credit_code="", type="rural_happiness_home"
        ),
        "beijiao_home": make_home(),  # 北郊镇敬老院, 北郊镇
        "beijiao_hc": make_hospital(),  # 北郊镇卫生院, 北郊镇
        "district": make_hospital(
            name="周村区人民医院", region="370306001000", credit_code=DISTRICT, type="general_hospital"
        ),
        "clinic": make_hospital(
            name="银子社区卫生室", region="370306001001", credit_code="", type="village_clinic"
        ),
        "neighbour": make_hospital(
            name="邻县人民医院", region="370307001000", credit_code=NEIGHBOUR_HC, type="general_hospital"
        ),
    }
    Institution.objects.filter(pk=w["happy"].pk).update(portal_no=HAPPY)
    Institution.objects.filter(pk=w["clinic"].pk).update(portal_no=CLINIC)
    for inst in w.values():
        inst.refresh_from_db()
    return w


def sheet(*rows, header=HEADER) -> bytes:
    lines = ["丝绸路街道医养签约协议表", "填报单位：丝绸路街道,,,,填报日期：2026年11月30日", header, *rows]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def run(user, data, kind="contracts", name="签约.csv", **kw):
    return engine.start_import(actor=user, kind=kind, data=data, filename=name, **kw)


def result(batch):
    return ImportBatch.objects.get(pk=batch.pk).get_result()


def located(errors):
    return {(e["row"], e["column"]) for e in errors}


def assert_errors(batch, expected):
    """`expected`: [(row, column, fragment)] — exactly those places, each with its fragment."""
    errors = result(batch)["errors"]
    assert batch.status == S.INVALID, errors
    assert located(errors) == {(r, c) for r, c, _f in expected}, errors
    for row, column, fragment in expected:
        messages = [e["message"] for e in errors if (e["row"], e["column"]) == (row, column)]
        assert any(fragment in m for m in messages), (row, column, fragment, messages)


def contract_audits(action=None):
    qs = AuditEvent.objects.filter(object_type="contracts.contract")
    return qs.filter(action=action) if action else qs


# -- the township's sheet ---------------------------------------------------------------------
def test_township_sheet_takes_effect_at_once_and_reupload_changes_nothing(world, township):
    data = (FIX / "contracts_township.xlsx").read_bytes()
    b = run(township, data, name="签约.xlsx")
    assert b.status == S.COMMITTED, result(b)["errors"]
    summary = b.summary()
    assert set(summary) == IMPORT_SUMMARY_KEYS and summary["kind"] == "contracts"
    assert summary["committed"] and not summary["pending_acceptance"]
    # title + 填报单位, the blank row, the footer line
    assert (b.rows_total, b.created, b.updated, b.unchanged, b.skipped) == (3, 3, 0, 0, 4)
    # The footer sits in the unknown 序号 column: a blank row as far as the columns go.
    assert located(result(b)["warnings"]) == {(3, "序号"), (3, "备注")}

    c1 = Contract.objects.get(agreement_no="SCL-2026-001")
    assert (c1.medical, c1.eldercare, c1.mode) == (world["beijiao_hc"], world["yinzi"], "agreement")
    assert (c1.services, c1.visit_frequency) == (["visits", "checkup"], "monthly")
    assert (c1.start, c1.end, c1.created_by) == (D(2026, 1, 1), D(2026, 12, 31), township)
    c2 = Contract.objects.get(agreement_no="SCL-2026-002")  # typed in full-width characters
    assert (c2.medical, c2.eldercare, c2.mode) == (world["district"], world["xiuhua"], "alliance")
    assert (c2.services, c2.visit_frequency) == (["education", "green_channel", "referral"], "")
    assert (c2.start, c2.end) == (D(2026, 3, 1), D(2028, 2, 29))
    c3 = Contract.objects.get(agreement_no="SCL-2026-003")  # both parties by 系统编号
    assert (c3.medical, c3.eldercare) == (world["clinic"], world["happy"])
    assert (c3.services, c3.visit_frequency, c3.start) == (
        ["visits", "education"],
        "quarterly",
        D(2026, 1, 1),
    )
    assert contract_audits(Action.CREATE).count() == 3
    # The medical party is another township's: only its id and name are in the plan.
    op = next(op for op in result(b)["ops"] if op["name"].startswith("SCL-2026-001"))
    assert op["medical"] == [world["beijiao_hc"].pk, "北郊镇卫生院"]
    assert "370306100000" not in json.dumps(op, ensure_ascii=False) and BEIJIAO_HC not in json.dumps(op)

    stamps = dict(Contract.objects.values_list("pk", "updated_at"))
    events = AuditEvent.objects.count()
    again = run(township, data, name="签约.xlsx")
    assert again.status == S.COMMITTED
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert dict(Contract.objects.values_list("pk", "updated_at")) == stamps
    assert AuditEvent.objects.count() == events + 2  # the batch's upload and commit, nothing else


def test_changed_end_date_is_an_update_with_its_diff_and_clears_filed(world, township):
    assert run(township, sheet(ROW)).status == S.COMMITTED
    c = Contract.objects.get()
    Contract.objects.filter(pk=c.pk).update(filed_on=D(2026, 2, 1))
    b = run(township, sheet(ROW.replace("2026-12-31", "2027年12月31日")), dry_run=True)
    assert (b.status, b.updated, b.created, b.unchanged) == (S.VALIDATED, 1, 0, 0)
    op = result(b)["ops"][0]
    assert op["op"] == "update" and op["diff"] == {"end": ["2026-12-31", "2027-12-31"]}
    assert sk.ContractsKind().describer(township, [op]).changes(op) == [
        {"field": "结束日期", "old": "2026-12-31", "new": "2027-12-31"}
    ]
    warning = result(b)["warnings"][0]
    assert (warning["row"], warning["column"]) == (4, "协议编号") and "已备案" in warning["message"]
    # The preview page shows the diff and links the contract.
    page = csrf_client(township).get(f"/imports/{b.pk}/").content.decode()
    assert "结束日期" in page and "2027-12-31" in page and f"/contracts/{c.pk}/" in page

    engine.confirm(actor=township, batch=b)
    c.refresh_from_db()
    assert c.end == D(2027, 12, 31) and c.filed_on is None  # the filed-clearing rule
    event = contract_audits(Action.UPDATE).get()
    assert event.changes["end"] == ["2026-12-31", "2027-12-31"] and event.changes["filed_on"][1] is None


def test_services_in_another_order_and_api_codes(world, township):
    row = f"SCL-2026-102,{BEIJIAO_HC},{YINZI},entrusted,checkup visits,monthly,2026-01-01,2026-12-31,"
    b = run(township, sheet(row))
    assert b.status == S.COMMITTED, result(b)["errors"]
    c = Contract.objects.get()
    assert (c.mode, c.services, c.visit_frequency) == ("entrusted", ["visits", "checkup"], "monthly")
    same = (
        row.replace("entrusted", "托管")
        .replace("checkup visits", "健康体检；上门巡诊")
        .replace("monthly", "每月")
    )
    assert run(township, sheet(same)).unchanged == 1
    # A frequency alone promises visits (clean_facts adds 上门巡诊).
    row3 = f"SCL-2026-103,{BEIJIAO_HC},{YINZI},签约合作,健康教育,每季度,2026-01-01,2026-12-31,"
    assert run(township, sheet(row3)).created == 1
    assert Contract.objects.get(agreement_no="SCL-2026-103").services == ["visits", "education"]


def test_termination_date_terminates_an_existing_contract(world, township):
    run(township, sheet(ROW))
    c = Contract.objects.get()
    ended = ROW.rstrip(",") + ",2026-06-30"
    b = run(township, sheet(ended))
    assert (b.status, b.updated) == (S.COMMITTED, 1), result(b)["errors"]
    assert result(b)["ops"][0]["diff"] == {"terminated_on": [None, "2026-06-30"]}
    c.refresh_from_db()
    assert c.terminated_on == D(2026, 6, 30) and "批量导入" in c.termination_reason
    assert contract_audits(Action.UPDATE).filter(changes__terminated_on=[None, "2026-06-30"]).exists()
    assert run(township, sheet(ended)).unchanged == 1
    assert_errors(
        run(township, sheet(ROW.rstrip(",") + ",2026-07-31")), [(4, "终止日期", "该协议已于 2026-06-30 终止")]
    )
    assert_errors(run(township, sheet(ROW.rstrip(",") + ",清空")), [(4, "终止日期", "不能撤销终止")])
    earlier = run(township, sheet(ROW.rstrip(",") + ",2026-05-31"))
    assert earlier.updated == 1
    c.refresh_from_db()
    assert c.terminated_on == D(2026, 5, 31)
    # A termination before the start is the rules' error, at its column.
    assert_errors(
        run(township, sheet(ROW.rstrip(",") + ",2025-12-01")), [(4, "终止日期", "终止日期不能早于开始日期")]
    )


def test_every_row_error_is_located_and_nothing_is_written(world, township):
    def row(
        no,
        medical=BEIJIAO_HC,
        home=YINZI,
        mode="签约合作",
        services="上门巡诊",
        freq="每月",
        start="2026-01-01",
        end="2026-12-31",
    ):
        return f"{no},{medical},{home},{mode},{services},{freq},{start},{end},"

    rows = [
        row("OK-1"),  # 4: valid, yet nothing is written
        row("E-5", medical=UNREGISTERED),
        row("E-6", medical=YINZI),  # an elder-care code in the medical column
        row("E-7", home=BEIJIAO_HOME),  # another township's home
        row("E-8", start="2026-05-01", end="2026-05-01"),
        row("E-9", mode="合作办医"),
        row("E-10", freq="每天"),
        row("OK-1"),  # 11: the key of row 4 again
        row("E-12", medical="1.23703E+17"),
        row("E-13", medical=NEIGHBOUR_HC),  # found only county-wide: the neighbour's is unknown here
        row("E-14", services="上门巡诊、洗衣"),
        row("E-15", start="2026-13-01"),
        row("E-16", mode=""),  # a new contract needs its 合作方式
        row("E-17", home="123"),
        row("E-18", freq=""),  # 上门巡诊 without a frequency
        row("E-19", home="JG99999999"),
        row("E-20", medical=DISTRICT, home=DISTRICT),  # a hospital as the elder-care party
    ]
    b = run(township, sheet(*rows))
    assert_errors(
        b,
        [
            (5, "医疗机构信用代码", f"找不到信用代码为{UNREGISTERED}的医疗机构"),
            (6, "医疗机构信用代码", "登记为养老服务机构，不是医疗卫生机构"),
            (7, "养老机构信用代码", "不在您的管辖范围内"),
            (8, "结束日期", "结束日期应晚于开始日期"),
            (9, "合作方式", "不是有效的合作方式"),
            (10, "巡诊频次", "不是有效的巡诊频次"),
            (11, "协议编号", "与第4行重复"),
            (12, "医疗机构信用代码", "文本"),
            (13, "医疗机构信用代码", f"找不到信用代码为{NEIGHBOUR_HC}的医疗机构"),
            (14, "服务内容", "未知的服务内容：洗衣"),
            (15, "开始日期", "不是有效日期"),
            (16, "合作方式", "新增协议须填写合作方式"),
            (17, "养老机构信用代码", "应为18位"),
            (18, "巡诊频次", "请填写巡诊频次"),
            (19, "养老机构信用代码", "找不到系统编号为JG99999999的养老机构"),
            (20, "养老机构信用代码", "登记为医疗卫生机构，不是养老服务机构"),
        ],
    )
    assert not Contract.objects.exists()
    with pytest.raises(ValidationError):
        engine.confirm(actor=township, batch=b)
    # The neighbour's hospital is never described, only "not found".
    assert "邻县" not in json.dumps(result(b), ensure_ascii=False)


def test_same_party_by_code_and_by_portal_number_is_a_duplicate(world, township):
    portal = world["district"].portal_no
    rows = [
        f"SCL-9,{DISTRICT},{XIUHUA},签约合作,,,2026-01-01,2026-12-31,",
        f"SCL-9,{portal},{XIUHUA},签约合作,,,2026-01-01,2026-12-31,",
    ]
    assert_errors(run(township, sheet(*rows)), [(5, "协议编号", "与第4行重复")])
    visits = [f"{DISTRICT},SCL-9,2026-02-01,", f"{portal},SCL-9,2026-02-01,"]
    run(township, sheet(rows[0]))
    assert_errors(
        run(township, sheet(*visits, header=VISIT_HEADER), kind="visits"), [(5, "巡诊日期", "与第4行重复")]
    )


def test_excel_mangled_code_in_a_number_cell_is_refused(world, township):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(["SCL-1", 1.23703061e17, YINZI, "签约合作", "", "", "2026-01-01", "2026-12-31"])
    out = io.BytesIO()
    wb.save(out)
    assert_errors(run(township, out.getvalue(), name="a.xlsx"), [(2, "医疗机构信用代码", "文本")])


def test_footer_line_under_the_table_is_skipped(world, township):
    b = run(township, sheet(ROW, "", "填表人：王芳    审核人：李强,,,,,,,,"))
    assert (b.status, b.created, b.skipped) == (S.COMMITTED, 1, 4)
    assert [(w["row"], w["message"]) for w in result(b)["warnings"]] == [(6, "表尾说明行，未导入。")]


def test_missing_required_column_is_reported_at_the_header(world, township):
    header = HEADER.replace("合作方式,", "")
    b = run(township, sheet(f"X,{BEIJIAO_HC},{YINZI},,,2026-01-01,2026-12-31,", header=header))
    assert_errors(b, [(3, "合作方式", "缺少必填列")])


# -- scope ------------------------------------------------------------------------------------
def test_county_register_in_xls_then_ods_and_a_township_refused(world, civil, township):
    b = run(civil, (FIX / "contracts_county_old.xls").read_bytes(), name="台账.xls")
    assert b.status == S.COMMITTED, result(b)["errors"]
    assert (b.created, b.skipped) == (2, 2)
    bj = Contract.objects.get(agreement_no="BJ-2025-07")
    assert (bj.eldercare, bj.mode, bj.services, bj.visit_frequency) == (
        world["beijiao_home"],
        "entrusted",
        ["visits", "emergency"],
        "weekly",
    )
    assert (bj.start, bj.end) == (D(2025, 7, 1), D(2027, 6, 30))
    again = run(civil, (FIX / "contracts_county.ods").read_bytes(), name="台账.ods")
    assert (again.status, again.unchanged) == (S.COMMITTED, 2)
    # 丝绸路街道 may not import 北郊镇敬老院's contract (row 4), only its own home's (row 5).
    t = run(township, (FIX / "contracts_county_old.xls").read_bytes(), name="台账.xls")
    assert_errors(t, [(4, "养老机构信用代码", "不在您的管辖范围内")])


def test_existing_key_of_another_township_is_refused_not_revealed(world, civil, township):
    row = f"BJ-1,{BEIJIAO_HC},{BEIJIAO_HOME},签约合作,,,2026-01-01,2026-12-31,"
    assert run(civil, sheet(row)).status == S.COMMITTED
    # Same key, the township's own home: the key is taken by 北郊镇's contract.
    b = run(township, sheet(row.replace(BEIJIAO_HOME, YINZI)))
    assert_errors(b, [(4, "协议编号", "已由其他辖区登记")])
    assert "北郊镇敬老院" not in json.dumps(result(b), ensure_ascii=False)


def test_overlapping_contract_between_the_same_pair_is_a_warning(world, township):
    run(township, sheet(ROW))
    renewal = ROW.replace("SCL-2026-101", "SCL-2026-201").replace(
        "2026-01-01,2026-12-31", "2026-12-01,2027-11-30"
    )
    b = run(township, sheet(renewal))
    assert b.status == S.COMMITTED and b.created == 1
    w = result(b)["warnings"]
    assert [(x["row"], x["column"]) for x in w] == [(4, "开始日期")] and "SCL-2026-101" in w[0]["message"]


def test_stale_plan_is_not_applied(world, township, civil):
    run(township, sheet(ROW))
    b = run(township, sheet(ROW.replace("2026-12-31", "2027-06-30")), dry_run=True)
    services.contract_update(actor=civil, contract=Contract.objects.get(), changes={"mode": "co_built"})
    engine.confirm(actor=township, batch=b)
    b.refresh_from_db()
    assert b.status == S.STALE and "重新校验" in b.message
    assert Contract.objects.get().end == D(2026, 12, 31)


# -- visits -----------------------------------------------------------------------------------
def test_visits_import_and_reupload_unchanged(world, township, monkeypatch):
    at(monkeypatch, D(2026, 11, 30))
    run(township, (FIX / "contracts_township.xlsx").read_bytes(), name="签约.xlsx")
    data = (FIX / "visits_gbk.csv").read_bytes()
    b = run(township, data, kind="visits", name="巡诊.csv")
    assert b.status == S.COMMITTED, result(b)["errors"]
    assert (b.rows_total, b.created, b.unchanged, b.skipped) == (4, 4, 0, 4)
    assert not b.summary()["pending_acceptance"]
    assert (3, "巡诊医生") in located(result(b)["warnings"])
    got = sorted(Visit.objects.values_list("contract__agreement_no", "date", "persons"))
    assert got == [
        ("SCL-2026-001", D(2026, 1, 15), 12),
        ("SCL-2026-001", D(2026, 2, 12), 15),
        ("SCL-2026-001", D(2026, 3, 10), None),
        ("SCL-2026-003", D(2026, 3, 20), 8),
    ]
    assert AuditEvent.objects.filter(object_type="contracts.visit", action=Action.CREATE).count() == 4
    page = csrf_client(township).get(f"/imports/{b.pk}/").content.decode()
    assert (
        "巡诊日期" in page
        and "2026-02-12" in page
        and "SCL-2026-003：银子社区幸福院 — 银子社区卫生室" in page
    )
    again = run(township, data, kind="visits", name="巡诊.csv")
    assert (again.status, again.created, again.unchanged) == (S.COMMITTED, 0, 4)
    assert Visit.objects.count() == 4
    # A different 人次 for a day already logged: unchanged, with a notice.
    other = run(
        township, sheet(f"{BEIJIAO_HC},SCL-2026-001,2026-01-15,20", header=VISIT_HEADER), kind="visits"
    )
    assert other.unchanged == 1 and (4, "服务人次") in located(result(other)["warnings"])


def test_visit_errors_are_located(world, township, civil, monkeypatch):
    at(monkeypatch, D(2026, 11, 30))
    run(township, (FIX / "contracts_township.xlsx").read_bytes(), name="签约.xlsx")
    run(civil, (FIX / "contracts_county_old.xls").read_bytes(), name="台账.xls")
    rows = [
        f"{BEIJIAO_HC},SCL-2026-001,2026-04-01,10",  # 4: valid
        f"{BEIJIAO_HC},SCL-2026-001,2025-12-31,10",  # before the term
        f"{BEIJIAO_HC},SCL-2026-001,2026-12-15,10",  # in the future
        f"{BEIJIAO_HC},SCL-9999,2026-04-01,",  # no such contract
        f"{BEIJIAO_HC},BJ-2025-07,2026-04-01,",  # 北郊镇's contract
        f"{BEIJIAO_HC},SCL-2026-001,2026/4/1,",  # row 4 again
        f"{BEIJIAO_HC},SCL-2026-001,2026-04-02,abc",
        f"{UNREGISTERED},SCL-2026-001,2026-04-02,",
        f"{NEIGHBOUR_HC},SCL-2026-001,2026-04-02,",
        f"{BEIJIAO_HC},,2026-04-03,",
        f"{BEIJIAO_HC},SCL-2026-001,,3",
    ]
    b = run(township, sheet(*rows, header=VISIT_HEADER), kind="visits")
    assert_errors(
        b,
        [
            (5, "巡诊日期", "不在协议有效期内"),
            (6, "巡诊日期", "不能晚于今天"),
            (7, "协议编号", "找不到北郊镇卫生院协议编号为“SCL-9999”的签约协议"),
            (8, "协议编号", "不在您的管辖范围内"),
            (9, "巡诊日期", "与第4行重复"),
            (10, "服务人次", "不是数字"),
            (11, "医疗机构信用代码", "找不到信用代码为"),
            (12, "医疗机构信用代码", "找不到信用代码为"),
            (13, "协议编号", "必填"),
            (14, "巡诊日期", "必填"),
        ],
    )
    assert not Visit.objects.exists()
    # A terminated contract takes no visits from its termination day on.
    c = Contract.objects.get(agreement_no="SCL-2026-001")
    services.contract_terminate(actor=township, contract=c, on=D(2026, 6, 1))
    late = run(township, sheet(f"{BEIJIAO_HC},SCL-2026-001,2026-06-01,", header=VISIT_HEADER), kind="visits")
    assert_errors(late, [(4, "巡诊日期", "已于 2026-06-01 终止")])


# -- set-based validation -----------------------------------------------------------------------
def _validate_queries(kind, actor, data) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        out = kinds.get(kind).validate(actor=actor, data=data, as_of=D(2026, 11, 30), progress=lambda f: None)
    assert not out.errors, out.errors[:3]
    return [q["sql"] for q in ctx.captured_queries]


def test_contract_validation_queries_do_not_grow_with_rows(world, township):
    homes = [world["yinzi"], world["xiuhua"]]
    for i in range(10):  # existing contracts: the file restates them (unchanged rows)
        services.contract_create(
            actor=SYSTEM,
            facts={
                "agreement_no": f"Q-{i}",
                "medical": world["beijiao_hc"],
                "eldercare": homes[i % 2],
                "mode": "agreement",
                "start": D(1800 + i, 1, 1),
                "end": D(1800 + i, 12, 31),
            },
        )

    def file(n):
        rows = []
        for i in range(n):
            existing = i < 10
            no = f"Q-{i}" if existing else f"N-{i}"
            medical = BEIJIAO_HC if existing or i % 3 else DISTRICT
            home = (YINZI, XIUHUA)[i % 2] if existing else (YINZI, XIUHUA, HAPPY)[i % 3]
            year = 1800 + i  # terms never overlap: no warnings
            services_cell = "" if existing else "健康体检、绿色通道"
            rows.append(f"{no},{medical},{home},签约合作,{services_cell},,{year}-01-01,{year}-12-31,")
        return sheet(*rows)

    _validate_queries("contracts", township, file(20))  # warm-up: the user's permissions are cached
    few, many = (
        _validate_queries("contracts", township, file(20)),
        _validate_queries("contracts", township, file(200)),
    )
    assert len(many) == len(few) <= 7


def test_visit_validation_queries_do_not_grow_with_rows(world, township, monkeypatch):
    at(monkeypatch, D(2026, 11, 30))
    run(township, (FIX / "contracts_township.xlsx").read_bytes(), name="签约.xlsx")

    def file(n):
        start = D(2026, 1, 1)
        rows = [f"{BEIJIAO_HC},SCL-2026-001,{start + datetime.timedelta(days=i)},{i}" for i in range(n)]
        return sheet(*rows, header=VISIT_HEADER)

    _validate_queries("visits", township, file(20))  # warm-up: the user's permissions are cached
    few, many = (
        _validate_queries("visits", township, file(20)),
        _validate_queries("visits", township, file(200)),
    )
    assert len(many) == len(few) <= 5


# -- undo -------------------------------------------------------------------------------------
def test_revert_restores_updates_and_deletes_creates(world, civil):
    first = run(civil, sheet(ROW))
    c = Contract.objects.get()
    stamp = c.updated_at
    second = run(civil, sheet(ROW.replace("2026-12-31", "2027-06-30").rstrip(",") + ",2026-09-30"))
    assert second.updated == 1
    c.refresh_from_db()
    assert (c.end, c.terminated_on) == (D(2027, 6, 30), D(2026, 9, 30))
    engine.revert(actor=civil, batch=second)
    c.refresh_from_db()
    assert (c.end, c.terminated_on, c.termination_reason, c.updated_at) == (D(2026, 12, 31), None, "", stamp)
    engine.revert(actor=civil, batch=first)  # still revertible: updated_at was restored
    assert not Contract.objects.exists()
    assert contract_audits(Action.DELETE).count() == 1


def test_revert_refused_after_a_later_change_or_a_visit(world, civil, monkeypatch):
    b = run(civil, sheet(ROW))
    c = Contract.objects.get()
    services.visit_record(actor=civil, contract=c, date=D(2026, 2, 1))
    with pytest.raises(ValidationError, match="巡诊记录"):
        engine.revert(actor=civil, batch=b)
    Visit.objects.all().delete()
    services.contract_update(actor=civil, contract=c, changes={"mode": "co_built"})
    with pytest.raises(ValidationError):
        engine.revert(actor=civil, batch=b)
    assert Contract.objects.exists()
    b.refresh_from_db()
    assert b.status == S.COMMITTED


def test_revert_refused_when_a_visit_falls_outside_the_restored_term(world, civil, monkeypatch):
    at(monkeypatch, D(2026, 11, 30))
    assert run(civil, sheet(ROW)).status == S.COMMITTED
    c = Contract.objects.get()
    inside = services.visit_record(actor=civil, contract=c, date=D(2026, 6, 1))  # in either term
    longer = run(civil, sheet(ROW.replace("2026-12-31", "2027-06-30")))
    assert (longer.status, longer.updated) == (S.COMMITTED, 1)
    at(monkeypatch, D(2027, 3, 5))
    c.refresh_from_db()
    services.visit_record(actor=civil, contract=c, date=D(2027, 3, 1))  # only in the extension
    c.refresh_from_db()
    stamp, events = c.updated_at, contract_audits().count()
    with pytest.raises(ValidationError) as refused:
        engine.revert(actor=civil, batch=longer)
    message = " ".join(refused.value.messages)
    assert "SCL-2026-101" in message and "2027-03-01" in message and "巡诊记录" in message
    assert "2026-01-01 至 2026-12-31" in message and "2026-06-01" not in message
    c.refresh_from_db()
    assert (c.end, c.updated_at) == (D(2027, 6, 30), stamp)  # nothing changed
    assert Visit.objects.count() == 2 and contract_audits().count() == events
    longer.refresh_from_db()
    assert longer.status == S.COMMITTED
    # Without the visit outside the old term the undo goes through (the one inside stays).
    Visit.objects.filter(date=D(2027, 3, 1)).delete()
    engine.revert(actor=civil, batch=longer)
    c.refresh_from_db()
    assert c.end == D(2026, 12, 31) and list(Visit.objects.values_list("pk", flat=True)) == [inside.pk]


def test_revert_of_visits_deletes_them(world, civil, township, monkeypatch):
    at(monkeypatch, D(2026, 11, 30))
    run(township, (FIX / "contracts_township.xlsx").read_bytes(), name="签约.xlsx")
    kept = services.visit_record(
        actor=township, contract=Contract.objects.get(agreement_no="SCL-2026-003"), date=D(2026, 5, 1)
    )
    b = run(township, (FIX / "visits_gbk.csv").read_bytes(), kind="visits", name="巡诊.csv")
    engine.revert(actor=civil, batch=b)
    assert list(Visit.objects.values_list("pk", flat=True)) == [kept.pk]


# -- import_sheet, the API, the template and the page -------------------------------------------
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


def test_import_sheet_exit_codes(world, township, tmp_path, monkeypatch):
    at(monkeypatch, D(2026, 11, 30))
    xlsx = FIX / "contracts_township.xlsx"
    code, data, _err = import_sheet("contracts", xlsx, "town1", "--dry-run")
    assert code == 0 and set(data) == IMPORT_SUMMARY_KEYS and data["kind"] == "contracts"
    assert (data["created"], data["committed"]) == (3, False) and not Contract.objects.exists()
    code, data, _err = import_sheet("contracts", xlsx, "town1")
    assert (
        code == 0 and data["committed"] and not data["pending_acceptance"] and Contract.objects.count() == 3
    )
    code, data, _err = import_sheet("visits", FIX / "visits_gbk.csv", "town1")
    assert code == 0 and (data["kind"], data["created"]) == ("visits", 4)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sheet(ROW.replace(YINZI, BEIJIAO_HOME)))
    code, data, _err = import_sheet("contracts", bad, "town1")
    assert code == 1 and data["errors"][0]["column"] == "养老机构信用代码" and not data["committed"]
    assert Contract.objects.count() == 3
    code, _data, err = import_sheet("visits", FIX / "visits_gbk.csv", "nobody")
    assert code == 2 and "nobody" in err


def test_api_accepts_the_kinds(world, client, township):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.functional.test_api import auth, token_for

    key = token_for(client, "town1").json()["token"]
    form = {
        "kind": "contracts",
        "file": SimpleUploadedFile("签约.xlsx", (FIX / "contracts_township.xlsx").read_bytes()),
        "dry_run": "true",
    }
    resp = client.post("/api/v1/imports/", form, **auth(key))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["status"], body["summary"]["created"], body["summary"]["kind"]) == (
        "validated",
        3,
        "contracts",
    )
    confirm = client.post(f"/api/v1/imports/{body['id']}/confirm/", **auth(key))
    assert confirm.status_code == 200 and confirm.json()["status"] == "committed"
    assert Contract.objects.count() == 3


def test_template_and_upload_page(world, township):
    from openpyxl import load_workbook

    from eldercare.sheets.headers import find_header
    from eldercare.sheets.readers import read_rows

    c = csrf_client(township)
    cards = [card["spec"].name for card in c.get("/imports/").context["cards"]]
    assert {"contracts", "visits"} <= set(cards)
    resp = c.get("/imports/template/contracts.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    ws = wb.worksheets[0]
    headers = [cell.value for cell in ws[1]]
    assert headers == [col.canonical for col in sk.ContractsKind.columns]
    for header, values in (
        ("合作方式", ["签约合作", "托管", "外包", "共建", "医联体"]),
        ("巡诊频次", ["每周", "每月", "每季度", "每半年"]),
    ):
        letter = ws.cell(row=1, column=headers.index(header) + 1).column_letter
        dv = next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith(f"{letter}2"))
        ref = dv.formula1.split("!")[1].replace("$", "")
        assert [cell.value for row in wb["选项"][ref] for cell in row] == values
    code_letter = ws.cell(row=1, column=headers.index("医疗机构信用代码") + 1).column_letter
    assert ws.column_dimensions[code_letter].number_format == "@"
    notes = " ".join(str(cell.value) for row in wb["填写说明"].iter_rows() for cell in row if cell.value)
    assert "上门巡诊" in notes and "安宁疗护" in notes
    match = find_header(read_rows(resp.content), sk.ContractsKind.columns)
    assert match.row == 1 and not match.missing_required and not match.unknown
    # The template's example row, left in, is skipped.
    b = run(township, resp.content, name="模板.xlsx")
    assert (b.rows_total, b.skipped) == (0, 1) and (2, "协议编号") in located(result(b)["warnings"])
    visits = c.get("/imports/template/visits.xlsx")
    assert visits.status_code == 200
    page = c.get("/imports/new/contracts/").content.decode()
    assert "合同编号" in page and "健康体检" in page and "每季度" in page
