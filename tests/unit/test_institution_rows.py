"""The institutions row parser: messy values in, facts or located Chinese errors out."""

import datetime

from eldercare.sheets import values as v
from institutions.importers import parse_grade, parse_row, row_key


def cells(**kw):
    base = {
        "name": "北郊镇敬老院",
        "family": "养老服务机构",
        "type": "敬老院",
        "region": "370306100000",
        "credit_code": "91310110666007217T",
    }
    base.update(kw)
    return base


def test_a_messy_but_valid_row():
    row = parse_row(
        5,
        cells(
            beds_eldercare="120张",
            beds_nursing="６０",
            opened_on="2016年6月1日",
            green_channel="√",
            family_bed="无",
            hospice="未填报",
            ownership="公办公营",
        ),
    )
    assert row.errors == []
    f = row.facts
    assert f["type"] == "elder_home" and f["region"] == "370306100000"
    assert (f["beds_eldercare"], f["beds_nursing"]) == (120, 60)
    assert f["opened_on"] == datetime.date(2016, 6, 1)
    assert (f["green_channel"], f["family_bed"], f["hospice"]) == (True, False, None)
    assert f["ownership"] == "public" and row.credit_code == "91310110666007217T"
    assert row_key(row) == ("code", "91310110666007217T", "eldercare")


def test_blank_cells_leave_values_unchanged_and_clear_clears():
    row = parse_row(3, cells(beds_eldercare="", address="清空", green_channel=None))
    assert "beds_eldercare" not in row.facts and "green_channel" not in row.facts
    assert row.facts["address"] == ""


def test_errors_are_located_and_chinese():
    row = parse_row(
        7,
        cells(
            credit_code="4.40524E+17",
            beds_eldercare="很多",
            beds_nursing="10",
            type="养老公寓",
            region="3703",
        ),
    )
    got = {(e["row"], e["column"]) for e in row.errors}
    assert {(7, "统一社会信用代码"), (7, "核定养老床位数"), (7, "机构类型"), (7, "所属区划代码")} <= got
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in row.errors)


def test_nursing_beds_cannot_exceed_beds():
    row = parse_row(2, cells(beds_eldercare="50", beds_nursing="80"))
    assert [e["column"] for e in row.errors] == ["护理型床位数"]


def test_codeless_village_clinic_keyed_by_region_and_name():
    row = parse_row(
        4,
        {
            "name": "李家村卫生室",
            "family": "医疗卫生机构",
            "type": "村卫生室",
            "region": "370306100201",
            "credit_code": "",
        },
    )
    assert row.errors == [] and row_key(row) == ("name", "370306100201", "李家村卫生室")
    missing = parse_row(
        4,
        {
            "name": "某诊所",
            "family": "医疗卫生机构",
            "type": "诊所",
            "region": "370306100000",
            "credit_code": "",
        },
    )
    assert [e["column"] for e in missing.errors] == ["统一社会信用代码"]


def test_wrong_check_character_is_a_warning():
    row = parse_row(2, cells(credit_code="91310110666007217A"))
    assert row.errors == [] and row.warnings[0]["column"] == "统一社会信用代码"


def test_grades():
    assert parse_grade("二级甲等") == ("2", "A")
    assert parse_grade("二甲") == ("2", "A")
    assert parse_grade("三级") == ("3", "")
    assert parse_grade("未定级") == ("none", "")
    assert parse_grade("") == (v.UNCHANGED, v.UNCHANGED)


def test_medical_ownership_synonym():
    row = parse_row(
        2,
        {
            "name": "x诊所",
            "family": "医疗卫生机构",
            "type": "诊所",
            "region": "370306100000",
            "credit_code": "91310110666007217T",
            "ownership": "民营",
        },
    )
    assert row.facts["ownership"] == "private"


def test_calamine_typed_cells():
    row = parse_row(
        3,
        cells(
            region=370306100000.0,
            beds_eldercare=120.0,
            beds_nursing=60.0,
            longitude=117.1,
            opened_on=datetime.date(2020, 1, 5),
            status_date=datetime.datetime(2024, 3, 1, 9, 0),
            green_channel=1.0,
            family_bed=0,
            hospice=None,
        ),
    )
    assert row.errors == []
    f = row.facts
    assert f["region"] == "370306100000" and (f["beds_eldercare"], f["beds_nursing"]) == (120, 60)
    assert str(f["longitude"]) == "117.100000" and f["opened_on"] == datetime.date(2020, 1, 5)
    assert f["status_date"] == datetime.date(2024, 3, 1)
    assert (f["green_channel"], f["family_bed"]) == (True, False) and "hospice" not in f


def test_required_cells_and_cell_errors_both_reported():
    row = parse_row(9, cells(name="长" * 201, region="清空", family="清空", type=""))
    got = [(e["column"], e["message"]) for e in row.errors]
    assert ("机构大类", "机构大类为必填项（医疗卫生机构 或 养老服务机构）。") in got
    assert ("机构类型", "机构类型为必填项。") in got
    assert ("机构名称", "内容过长（最多200个字）。") in got and ("机构名称", "机构名称为必填项。") in got
    assert ("所属区划代码", "所属区划代码为必填项。") in got


def test_bad_family_gives_one_error_and_ownership_without_family_is_refused():
    row = parse_row(2, cells(family="养老公司", ownership="民办"))
    columns = [e["column"] for e in row.errors]
    assert columns.count("机构大类") == 1 and "举办性质" in columns
    assert parse_row(2, cells(family="养老公司", ownership="民营")).facts["ownership"] == "private"


def test_ownership_labels_depend_on_family_and_clear_values():
    medical = parse_row(2, cells(family="医疗卫生机构", type="诊所", ownership="公立", internal_unit="清空"))
    assert medical.facts["ownership"] == "public" and medical.facts["internal_unit"] == ""
    wrong = parse_row(2, cells(ownership="公立"))  # an elder-care home
    assert [e["column"] for e in wrong.errors] == ["举办性质"]
    cleared = parse_row(2, cells(status="清空", run_by="清空", green_channel="清空"))
    assert "status" not in cleared.facts and cleared.facts["run_by"] is None
    assert [e["column"] for e in cleared.errors] == ["状态"]  # a status cannot be cleared
    assert cleared.facts["green_channel"] is None


def test_region_codes_padded_and_refused_repeatedly():
    for _ in range(2):  # the second read comes from the cache
        assert parse_row(2, cells(region="370306")).facts["region"] == "370306000000"
        bad = parse_row(2, cells(region="000306001000"))
        assert [e["message"] for e in bad.errors] == ["“000306001000”不是12位区划代码。"]


def test_coordinates_counts_and_non_finite_numbers_are_row_errors():
    row = parse_row(
        2, cells(longitude="1000", latitude="NaN", beds_eldercare="3000000000", doctors="inf", nurses="1e10")
    )
    assert sorted(e["column"] for e in row.errors) == sorted(
        ["执业医师数", "护士数", "核定养老床位数", "经度", "纬度"]
    )
    ok = parse_row(2, cells(longitude="117.123456", latitude="-36.5", name="某\x00院"))
    assert not ok.errors and ok.facts["name"] == "某院"
