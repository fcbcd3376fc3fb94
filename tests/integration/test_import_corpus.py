"""The institutions import against a corpus of real-looking files (tests/fixtures/sheets/, made by
tests/fixtures/make_fixtures.py): messy registers in every format import cleanly; every bad file
is refused through `import_sheet --json` with exit 1, Chinese messages at the row the user sees
and the canonical column, and the database exactly as it was."""

import datetime
import io
import json
import re
import resource
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from eldercare.sheets.readers import MAX_BYTES
from institutions.credit_code import check_character
from institutions.models import Institution, InstitutionVersion
from tests.factories import IMPORT_SUMMARY_KEYS

pytestmark = pytest.mark.django_db
S = ImportBatch.Status
FIX = Path(__file__).parent.parent / "fixtures" / "sheets"
BAD = FIX / "bad"
CHINESE = re.compile("[\u4e00-\u9fff]")
ELDER_FILES = ["institutions_messy.xlsx", "institutions_gbk.csv", "institutions_old.xls", "institutions.ods"]
YINZI = "91310110666007217T"
# Title and 填报单位 rows, the blank row 6 and the 合计 row 9 (CONTRACT.md: the header is not skipped).
SKIPPED_MESSY = 4
EXISTING = (
    "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数,护理型床位数,成立日期\n"
    f"银子敬老院,{YINZI},养老服务机构,敬老院,370306001001,120,60,2020-01-05\n"
).encode()


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


@pytest.fixture
def existing(civil):
    """A registered institution the bad files try to change (银子敬老院, 120 beds, 60 nursing)."""
    batch = engine.start_import(
        actor=civil, kind="institutions", data=EXISTING, filename="seed.csv", as_of=datetime.date(2026, 1, 1)
    )
    assert batch.status == S.COMMITTED, batch.get_result()["errors"]
    return Institution.objects.get(credit_code=YINZI)


def snapshot():
    return (
        list(Institution.objects.order_by("pk").values()),
        list(InstitutionVersion.objects.order_by("pk").values()),
    )


def import_sheet(path, username, *args):
    """Run the command as the user; returns (exit code, parsed --json output, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(
            "import_sheet",
            "institutions",
            str(path),
            "--user",
            username,
            "--json",
            *args,
            stdout=out,
            stderr=err,
        )
    except SystemExit as exc:
        code = exc.code
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text and "Error:" not in text, text
    data = json.loads(out.getvalue())
    assert set(data) == IMPORT_SUMMARY_KEYS and data["kind"] == "institutions"
    return code, data, err.getvalue()


def located(errors):
    return {(e["row"], e["column"]) for e in errors}


def assert_messages(errors, expected):
    """`expected`: [(row, column, fragment)]: exactly those places, each message Chinese and
    carrying its fragment; never the engine's internal-error message."""
    assert errors, "expected errors"
    assert located(errors) == {(row, column) for row, column, _f in expected}, errors
    for e in errors:
        assert set(e) == {"row", "column", "message"}
        assert CHINESE.search(e["message"]) and "内部错误" not in e["message"], e
    for row, column, fragment in expected:
        messages = [e["message"] for e in errors if (e["row"], e["column"]) == (row, column)]
        assert any(fragment in m for m in messages), (row, column, fragment, messages)


# -- the bad corpus ---------------------------------------------------------------------------
# (file, uploader, [(row as the user sees it, canonical column, message fragment)])
BAD_CASES = [
    ("inst_missing_column.csv", "civil1", [(3, "机构类型", "缺少必填列")]),
    ("inst_bad_credit_length.csv", "civil1", [(5, "统一社会信用代码", "应为18位")]),
    ("inst_bad_credit_alphabet.csv", "civil1", [(5, "统一社会信用代码", "不允许的字符")]),
    (
        "inst_unknown_region.csv",
        "civil1",
        [(4, "所属区划代码", "未知的区划代码"), (5, "所属区划代码", "不是12位区划代码")],
    ),
    ("inst_other_township.csv", "town1", [(5, "所属区划代码", "不在您的管辖范围内")]),
    ("inst_negative_beds.csv", "civil1", [(5, "核定养老床位数", "不能小于0")]),
    # Row 4 within the row; row 5 against the stored 核定养老床位数 (120) of 银子敬老院.
    (
        "inst_nursing_over_beds.csv",
        "civil1",
        [(4, "护理型床位数", "不能超过"), (5, "护理型床位数", "（120）")],
    ),
    (
        "inst_duplicate_key.csv",
        "civil1",
        [(6, "统一社会信用代码", "与第4行重复"), (8, "机构名称", "与第7行重复")],
    ),
    (
        "inst_bad_values.csv",
        "civil1",
        [
            (4, "机构类型", "不是有效的机构类型"),
            (5, "机构大类", "不是有效的机构大类"),
            (6, "成立日期", "不是有效日期"),
            (7, "绿色通道", "无法识别"),
            (8, "机构名称", "必填"),
            (9, "统一社会信用代码", "必填"),
        ],
    ),
    ("inst_excel_number_code.xlsx", "civil1", [(4, "统一社会信用代码", "“文本”格式")]),
    ("inst_no_header.csv", "civil1", [(None, None, "未找到表头行")]),
    ("inst_xml_bomb.xlsx", "civil1", [(None, None, "无法读取")]),
    ("inst_xml_bomb_sheet.xlsx", "civil1", [(None, None, "无法读取")]),
    ("picture.xlsx", "civil1", [(None, None, "不是电子表格")]),
    ("empty.csv", "civil1", [(None, None, "文件是空的")]),
    ("binary.csv", "civil1", [(None, None, "不是电子表格")]),
    ("bomb.xlsx", "civil1", [(None, None, "压缩炸弹")]),
    ("not_a_sheet.xlsx", "civil1", [(None, None, "不是电子表格")]),
]


@pytest.mark.parametrize("name,username,expected", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_file_is_refused_and_nothing_written(existing, township, name, username, expected):
    before = snapshot()
    started = time.perf_counter()
    code, out, _err = import_sheet(BAD / name, username)
    assert time.perf_counter() - started < 10
    assert code == 1
    assert_messages(out["errors"], expected)
    assert not out["committed"] and not out["pending_acceptance"]
    assert ImportBatch.objects.latest("pk").status == S.INVALID  # refused, not an internal failure
    assert snapshot() == before
    existing.refresh_from_db()
    assert (existing.beds_eldercare, existing.beds_nursing, existing.versions.count()) == (120, 60, 1)


@pytest.mark.parametrize("name", ["inst_xml_bomb.xlsx", "inst_xml_bomb_sheet.xlsx"])
def test_billion_laughs_is_not_expanded(civil, name):
    """Nine levels of entities would be 3 GB of "lol": refused at once, memory flat."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    batch = engine.start_import(
        actor=civil, kind="institutions", data=(BAD / name).read_bytes(), filename=name
    )
    assert time.perf_counter() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024
    assert batch.status == S.INVALID
    assert batch.get_result()["errors"] == [{"row": None, "column": None, "message": batch.message}]
    assert "无法读取" in batch.message
    assert not Institution.objects.exists()


@pytest.mark.parametrize(
    "name,expected",
    [
        (c[0], c[2])
        for c in BAD_CASES
        if c[0] in ("inst_negative_beds.csv", "inst_duplicate_key.csv", "bomb.xlsx")
    ],
)
def test_engine_refuses_bad_files_too(existing, civil, name, expected):
    before = snapshot()
    batch = engine.start_import(
        actor=civil, kind="institutions", data=(BAD / name).read_bytes(), filename=name
    )
    assert batch.status == S.INVALID
    assert batch.error_count == len(batch.get_result()["errors"]) > 0
    assert_messages(batch.get_result()["errors"], expected)
    summary = batch.summary()
    assert set(summary) == IMPORT_SUMMARY_KEYS and not summary["committed"]
    with pytest.raises(ValidationError):
        engine.confirm(actor=civil, batch=batch)
    assert snapshot() == before


def test_excel_mangled_credit_code_gets_one_message(civil):
    code, out, _err = import_sheet(BAD / "inst_excel_number_code.xlsx", "civil1")
    assert code == 1
    messages = [e["message"] for e in out["errors"] if (e["row"], e["column"]) == (4, "统一社会信用代码")]
    assert len(messages) == 1 and "文本" in messages[0], messages


def test_oversized_file_is_refused_before_parsing(existing, civil, tmp_path):
    path = tmp_path / "big.csv"
    header = "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码\n".encode()
    path.write_bytes(header + b"x" * (MAX_BYTES + 1 - len(header)))
    before = snapshot()
    code, out, _err = import_sheet(path, "civil1")
    assert code == 1
    assert_messages(out["errors"], [(None, None, "20 MB")])
    batch = ImportBatch.objects.latest("pk")
    assert batch.status == S.INVALID and batch.stored_name == "" and batch.file_size == MAX_BYTES + 1
    assert snapshot() == before


def test_wrong_check_character_imports_with_a_warning(civil):
    code, out, _err = import_sheet(FIX / "institutions_check_warning.csv", "civil1")
    assert code == 0 and out["errors"] == [] and out["committed"]
    assert out["created"] == 1
    [warning] = [w for w in out["warnings"] if w["column"] == "统一社会信用代码"]
    assert warning["row"] == 4 and "校验位" in warning["message"]
    inst = Institution.objects.get()
    assert (
        inst.credit_code == "52370306MJ0000009A" != "52370306MJ0000009" + check_character("52370306MJ0000009")
    )
    assert "校验位" in inst.credit_code_warning


# -- messy registers that must import cleanly -------------------------------------------------
@pytest.mark.parametrize("name", ELDER_FILES)
def test_messy_elder_care_register_imports_and_reimport_changes_nothing(civil, name):
    code, out, _err = import_sheet(FIX / name, "civil1", "--as-of", "2026-11-30")
    assert code == 0, out["errors"]
    assert out["errors"] == [] and out["committed"] and not out["pending_acceptance"]
    assert (out["rows_total"], out["created"], out["updated"], out["unchanged"]) == (4, 4, 0, 0)
    assert out["skipped"] == SKIPPED_MESSY
    assert [(w["row"], w["column"]) for w in out["warnings"]] == [(3, "备注")]
    assert "忽略" in out["warnings"][0]["message"]

    by_name = {i.name: i for i in Institution.objects.all()}
    assert set(by_name) == {"银子敬老院", "绣花社区日间照料中心", "北郊镇中心敬老院", "王家村农村幸福院"}
    yinzi = by_name["银子敬老院"]  # " 银子敬老院 ": stray spaces trimmed
    assert (yinzi.credit_code, yinzi.family, yinzi.type, yinzi.region_id) == (
        YINZI,
        "eldercare",
        "elder_home",
        "370306001001",
    )
    assert (yinzi.beds_eldercare, yinzi.beds_nursing, yinzi.internal_unit, yinzi.ownership) == (
        120,
        60,
        "infirmary",
        "public",
    )  # "120张"
    assert yinzi.opened_on == datetime.date(2020, 1, 5)
    assert (yinzi.green_channel, yinzi.family_bed, yinzi.medical_insurance, yinzi.ltc_insurance) == (
        True,
        False,
        True,
        False,
    )  # 是 否 √ ×
    assert yinzi.versions.get().valid_from == datetime.date(2020, 1, 5)

    day_care = by_name["绣花社区日间照料中心"]
    assert (day_care.credit_code, day_care.type, day_care.beds_eldercare) == (
        "52370306MJ0000001J",
        "day_care",
        120,
    )  # " code ", "１２０"
    assert day_care.opened_on == datetime.date(2020, 1, 5)  # 2020年1月5日
    assert (day_care.green_channel, day_care.family_bed, day_care.ownership) == (
        None,
        None,
        "private",
    )  # 未填报, blank
    assert (day_care.beds_nursing, day_care.internal_unit, day_care.status) == (None, "none", "operating")

    beijiao = by_name["北郊镇中心敬老院"]
    assert (beijiao.type, beijiao.region_id, beijiao.beds_eldercare, beijiao.beds_nursing) == (
        "elder_home",
        "370306100000",
        1200,
        300,
    )  # 福利院, a numeric region cell, "1,200"
    assert beijiao.opened_on == datetime.date(2020, 1, 5)  # 2020.1.5
    assert (beijiao.green_channel, beijiao.family_bed, beijiao.medical_insurance, beijiao.ltc_insurance) == (
        False,
        True,
        None,
        True,
    )
    assert (beijiao.internal_unit, beijiao.ownership) == ("nursing_station", "public_private")

    happy = by_name["王家村农村幸福院"]  # no credit code: keyed by village + name
    assert (happy.credit_code, happy.type, happy.region_id, happy.beds_eldercare) == (
        "",
        "rural_happiness_home",
        "370306100202",
        20,
    )
    assert happy.opened_on == datetime.date(2019, 3, 1) and happy.family == "eldercare"

    versions = InstitutionVersion.objects.count()
    rows = list(Institution.objects.order_by("pk").values())
    code, again, _err = import_sheet(FIX / name, "civil1")
    assert code == 0 and again["errors"] == []
    assert (again["created"], again["updated"], again["unchanged"], again["skipped"]) == (
        0,
        0,
        4,
        SKIPPED_MESSY,
    )
    assert InstitutionVersion.objects.count() == versions == 4
    assert [
        {k: v for k, v in r.items() if k != "updated_at"} for r in Institution.objects.order_by("pk").values()
    ] == [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]


def test_skipped_counts_title_blank_and_total_rows_only(civil):
    code, out, _err = import_sheet(FIX / "institutions_gbk.csv", "civil1", "--dry-run")
    assert code == 0
    assert out["skipped"] == 4  # rows 1, 2 (title, 填报单位), 6 (blank), 9 (合计)


def test_dry_run_writes_nothing(civil):
    code, out, _err = import_sheet(FIX / "institutions_messy.xlsx", "civil1", "--dry-run")
    assert code == 0 and out["errors"] == []
    assert out["created"] == 4 and not out["committed"] and not out["pending_acceptance"]
    assert ImportBatch.objects.get().status == S.VALIDATED
    assert not Institution.objects.exists()


def test_every_format_reads_the_same_register(civil):
    """.xlsx, GBK .csv, old .xls and .ods of the same register: after the first, nothing changes."""
    code, out, _err = import_sheet(FIX / ELDER_FILES[0], "civil1", "--as-of", "2026-11-30")
    assert code == 0 and out["created"] == 4
    versions = InstitutionVersion.objects.count()
    for name in ELDER_FILES[1:]:
        code, out, _err = import_sheet(FIX / name, "civil1", "--as-of", "2026-12-01")
        assert code == 0, (name, out["errors"])
        assert (out["created"], out["updated"], out["unchanged"]) == (0, 0, 4), name
    assert InstitutionVersion.objects.count() == versions


def test_messy_medical_register_imports_for_health(health):
    code, out, _err = import_sheet(FIX / "institutions_medical.xlsx", "health1", "--as-of", "2026-11-30")
    assert code == 0, out["errors"]
    assert (out["rows_total"], out["created"], out["skipped"]) == (4, 4, SKIPPED_MESSY) and out["committed"]
    by_name = {i.name: i for i in Institution.objects.all()}
    hospital = by_name["周村区人民医院"]
    assert (hospital.family, hospital.type, hospital.grade, hospital.grade_class) == (
        "medical",
        "general_hospital",
        "2",
        "A",
    )  # 二级甲等
    assert (hospital.beds_medical, hospital.doctors, hospital.nurses) == (500, 120, 200)
    assert (hospital.geriatric_dept, hospital.green_channel, hospital.hospice) == (True, True, False)
    assert hospital.opened_on == datetime.date(1998, 10, 1) and hospital.region_id == "370306001000"
    second = by_name["周村区第二人民医院"]
    assert (second.grade, second.grade_class, second.nurses) == ("2", "A", 100)  # 二甲
    assert (second.geriatric_dept, second.green_channel, second.hospice) == (True, True, None)  # 有 Y 未填报
    hc = by_name["北郊镇卫生院"]
    assert (hc.type, hc.grade, hc.grade_class, hc.beds_medical) == ("township_hc", "1", "", 60)  # "６０"
    assert hc.opened_on == datetime.date(2005, 3, 1)
    clinic = by_name["李家村卫生室"]
    assert (clinic.credit_code, clinic.type, clinic.region_id, clinic.ownership, clinic.grade) == (
        "",
        "village_clinic",
        "370306100201",
        "private",
        "none",
    )  # 民营, 未定级
    code, again, _err = import_sheet(FIX / "institutions_medical.xlsx", "health1")
    assert code == 0 and (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert InstitutionVersion.objects.count() == 4


def test_civil_user_may_not_import_the_medical_register(civil):
    code, out, _err = import_sheet(FIX / "institutions_medical.xlsx", "civil1")
    assert code == 1
    assert located(out["errors"]) == {(row, "机构大类") for row in (4, 5, 7, 8)}
    assert all("无权" in e["message"] for e in out["errors"])
    assert not Institution.objects.exists()


# -- township uploads -------------------------------------------------------------------------
def test_township_upload_is_validated_and_staged(township, civil):
    code, out, _err = import_sheet(FIX / "institutions_township.csv", "town1")
    assert code == 0, out["errors"]
    assert out["pending_acceptance"] and not out["committed"]
    assert (out["rows_total"], out["created"], out["skipped"]) == (2, 2, SKIPPED_MESSY - 1)  # no blank row
    assert not Institution.objects.exists()
    batch = ImportBatch.objects.latest("pk")
    assert batch.status == S.PENDING and batch.staged
    engine.accept(actor=civil, batch=batch)
    batch.refresh_from_db()
    assert batch.status == S.COMMITTED
    assert set(Institution.objects.values_list("region_id", flat=True)) == {"370306001001", "370306001002"}


def test_township_may_not_stage_the_county_register(township):
    """The messy register has rows in 北郊镇 (rows 7 and 8): refused, nothing staged."""
    code, out, _err = import_sheet(FIX / "institutions_messy.xlsx", "town1")
    assert code == 1
    assert located(out["errors"]) == {(7, "所属区划代码"), (8, "所属区划代码")}
    assert not out["pending_acceptance"]
    assert ImportBatch.objects.latest("pk").status == S.INVALID
    assert not Institution.objects.exists()
