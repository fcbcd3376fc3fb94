"""Cell values as they really arrive (DOMAIN.md §8)."""

import datetime

import pytest

from eldercare.sheets import values as v

D = datetime.date


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_blank_leaves_unchanged(raw):
    assert v.integer(raw) is v.UNCHANGED and v.text(raw) is v.UNCHANGED and v.flag(raw) is v.UNCHANGED


def test_clear_word():
    assert v.integer("清空") is v.CLEAR and v.date(" 清空 ") is v.CLEAR


@pytest.mark.parametrize(
    "raw,expected",
    [("120张", 120), ("1,200", 1200), ("１２０", 120), (" 35 人", 35), (120.0, 120), ("0", 0), (7, 7)],
)
def test_integers_with_units_separators_full_width(raw, expected):
    assert v.integer(raw) == expected


@pytest.mark.parametrize(
    "raw,fragment", [("十二", "不是数字"), ("12.5", "整数"), ("-3", "不能小于0"), (True, "整数")]
)
def test_bad_integers(raw, fragment):
    with pytest.raises(v.CellError) as exc:
        v.integer(raw)
    assert fragment in str(exc.value)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("是", True),
        ("有", True),
        ("√", True),
        ("y", True),
        ("Y", True),
        ("否", False),
        ("无", False),
        ("×", False),
        ("N", False),
        ("未填报", None),
        (1, True),
        (0, False),
    ],
)
def test_flags(raw, expected):
    assert v.flag(raw) is expected


def test_bad_flag_message():
    with pytest.raises(v.CellError) as exc:
        v.flag("可能")
    assert "是/否" in str(exc.value)


@pytest.mark.parametrize(
    "raw,expected",
    [
        (45672, D(2025, 1, 15)),
        (45672.0, D(2025, 1, 15)),
        ("2025/1/5", D(2025, 1, 5)),
        ("2025-01-05", D(2025, 1, 5)),
        ("2025.1.5", D(2025, 1, 5)),
        ("2025年1月5日", D(2025, 1, 5)),
        ("２０２５年１月５日", D(2025, 1, 5)),
        ("20250105", D(2025, 1, 5)),
        ("2025-01-05 00:00:00", D(2025, 1, 5)),
        (datetime.datetime(2025, 1, 5, 8, 30), D(2025, 1, 5)),
        (D(2025, 1, 5), D(2025, 1, 5)),
    ],
)
def test_dates_in_every_shape(raw, expected):
    assert v.date(raw) == expected


@pytest.mark.parametrize("raw", ["2025-02-30", "明年", "2025/13/1"])
def test_bad_dates(raw):
    with pytest.raises(v.CellError):
        v.date(raw)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2025-01", D(2025, 1, 1)),
        ("2025/1", D(2025, 1, 1)),
        ("2025年1月", D(2025, 1, 1)),
        (45672, D(2025, 1, 1)),
        ("202503", D(2025, 3, 1)),
    ],
)
def test_months(raw, expected):
    assert v.month(raw) == expected


@pytest.mark.parametrize("raw", ["4.40524E+17", "9.13101E+17", 4.40524e17])
def test_excel_mangled_long_numbers_are_refused_with_advice(raw):
    with pytest.raises(v.CellError) as exc:
        v.code_text(raw)
    assert "文本" in str(exc.value)


def test_codes_kept_as_text():
    assert v.code_text(" 91310110666007217t ") == "91310110666007217T"
    assert v.code_text(370306001000) == "370306001000"


def test_choice_by_label_synonym_or_code():
    labels = {"elder_home": "养老院", "care_home": "老年养护院"}
    assert v.choice("养老院", labels) == "elder_home"
    assert v.choice("敬老院", labels, synonyms={"敬老院": "elder_home"}) == "elder_home"
    assert v.choice("care_home", labels) == "care_home"
    with pytest.raises(v.CellError) as exc:
        v.choice("养老公寓", labels, column="机构类型")
    assert "机构类型" in str(exc.value) and "养老院" in str(exc.value)


@pytest.mark.parametrize(
    "cells,expected",
    [
        (["合计", "", 300], True),
        (["", "总计：", 1], True),
        (["北郊镇敬老院", 120], False),
        ([None, None], False),
    ],
)
def test_total_rows(cells, expected):
    assert v.is_total_row(cells) is expected
