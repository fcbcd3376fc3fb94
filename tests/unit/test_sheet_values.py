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


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("  养老院 ", "养老院"),
        ("\u3000养老院\u3000", "养老院"),
        ("ＡＢＣ１２３", "ABC123"),
        ("某\u3000院", "某 院"),
        ("（一）", "(一)"),
        (120, "120"),
        (None, ""),
    ],
)
def test_fold_full_width_and_ideographic_space(raw, expected):
    assert v.fold(raw) == expected


def test_text_collapses_whitespace_runs():
    assert v.text("某路\u3000\u30001号\n2楼") == "某路 1号 2楼"
    assert v.text(120.0) == "120"


@pytest.mark.parametrize(
    "raw,expected",
    [("６０", 60), ("１,２００人", 1200), ("5人次", 5), ("  7  ", 7), (60.0, 60), (-0.0, 0), (12, 12)],
)
def test_integer_fast_paths_match_the_general_reading(raw, expected):
    assert v.integer(raw) == expected and type(v.integer(raw)) is int


def test_integer_float_cells():
    with pytest.raises(v.CellError, match="应为整数，实际为 12.5"):
        v.integer(12.5)
    with pytest.raises(v.CellError, match="不能小于0"):
        v.integer(-3.0)
    # Beyond 2**53 a float's digits are read as Excel shows them, not as the binary value.
    assert v.integer(1.2345678901234567e20) == 123456789012345670000


def test_decimal_from_float_and_text_cells():
    assert str(v.decimal(117.1)) == "117.100000"
    assert str(v.decimal("３６.８")) == "36.800000"
    assert str(v.decimal("1,234.5", places=2)) == "1234.50"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2025-01-05T08:30", D(2025, 1, 5)),
        ("2025/01/05 08:30:00", D(2025, 1, 5)),
        ("２０２５－０１－０５", D(2025, 1, 5)),
        ("2025-1-5", D(2025, 1, 5)),
        ("45672", D(2025, 1, 15)),
    ],
)
def test_more_date_shapes(raw, expected):
    assert v.date(raw) == expected


def test_code_text_from_float_cell_and_lower_case_e():
    assert v.code_text(370306001000.0) == "370306001000"
    assert v.code_text("ABCDE12") == "ABCDE12"
    with pytest.raises(v.CellError, match="科学计数法"):
        v.code_text("4.40524e17")


def test_chooser_reads_like_choice():
    labels = {"elder_home": "养老院", "care_home": "老年养护院"}
    read = v.chooser(labels, synonyms={"敬老院": "elder_home"}, column="机构类型")
    for raw in ["养老院", "敬老院", "care_home", " 老年养护院\u3000", "", None, "清空"]:
        assert read(raw) is v.choice(raw, labels, synonyms={"敬老院": "elder_home"}, column="机构类型")
    with pytest.raises(v.CellError) as exc:
        read("养老公寓")
    assert str(exc.value) == "“养老公寓”不是有效的机构类型，可选：养老院、老年养护院。"


def test_choice_precedence_synonym_then_last_label_then_code():
    labels = {"a": "甲", "b": "甲", "c": "c_label"}
    assert v.choice("甲", labels) == "b" == v.chooser(labels)("甲")
    assert v.choice("甲", labels, synonyms={"甲": "z"}) == "z"
    assert v.choice("c", labels) == "c"


def test_date_with_single_digit_hour_keeps_its_day():
    assert v.date("2025/01/05 8:30:00") == datetime.date(2025, 1, 5)
    assert v.date("2025-1-5 08:30") == datetime.date(2025, 1, 5)
