"""Pure helpers: no database."""

import pytest

from eldercare.accounts.roles import validate_role_set
from eldercare.accounts.validators import CharacterClassValidator
from eldercare.core.exports import neutralise, rows_to_csv
from eldercare.regions import codes


@pytest.mark.parametrize(
    "code,level,prefix,parent",
    [
        ("370000000000", codes.PROVINCE, "37", None),
        ("370300000000", codes.CITY, "3703", "370000000000"),
        ("370306000000", codes.COUNTY, "370306", "370300000000"),
        ("370306001000", codes.TOWNSHIP, "370306001", "370306000000"),
        ("370306001001", codes.VILLAGE, "370306001001", "370306001000"),
        ("370306100230", codes.VILLAGE, "370306100230", "370306100000"),
    ],
)
def test_region_levels_prefixes_parents(code, level, prefix, parent):
    assert codes.level_of(code) == level
    assert codes.prefix_of(code) == prefix
    assert codes.implied_parent(code) == parent


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("370306", "370306000000"),
        (370306001000, "370306001000"),
        ("370306001000.0", "370306001000"),
        (" 370306001 ", "370306001000"),
    ],
)
def test_normalise_accepts_spreadsheet_forms(raw, expected):
    assert codes.normalise(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "37030600100", "3703060010001", "37030600100X", "000306001000", "4.40524E+11"]
)
def test_normalise_rejects(raw):
    with pytest.raises(codes.RegionCodeError):
        codes.normalise(raw)


def test_is_within_uses_prefix_not_string_start():
    # 370306 county contains its townships but not the neighbouring county 370307.
    assert codes.is_within("370306001001", "370306000000")
    assert not codes.is_within("370307001000", "370306000000")
    assert not codes.is_within("370306100201", "370306001000")


@pytest.mark.parametrize(
    "roles,ok",
    [
        ({"health"}, True),
        ({"health", "civil"}, True),
        ({"admin"}, True),
        ({"admin", "security"}, False),
        ({"auditor", "health"}, False),
        ({"security", "auditor"}, False),
        ({"root"}, False),
    ],
)
def test_three_way_separation_of_admin_duties(roles, ok):
    assert (validate_role_set(roles) == []) is ok


@pytest.mark.parametrize(
    "password,classes", [("abcdefgh", 1), ("abcdEFGH", 2), ("abcdEF12", 3), ("ab#dEF12", 4), ("12345678!", 2)]
)
def test_password_character_classes(password, classes):
    assert CharacterClassValidator.classes(password) == classes


def test_password_needs_three_classes(settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        CharacterClassValidator(3).validate("abcdefgh1")
    CharacterClassValidator(3).validate("Abcdefgh1")


@pytest.mark.parametrize("value", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_export_neutralises_formula_starts(value):
    assert neutralise(value) == "'" + value


def test_export_leaves_plain_values():
    assert neutralise("周村区") == "周村区"
    assert neutralise(12) == 12


def test_csv_export_has_bom_and_neutralised_cells():
    data = rows_to_csv(["名称"], [['=HYPERLINK("x")'], ["丝绸路街道"]]).decode("utf-8")
    assert data.startswith("\ufeff")
    assert "'=HYPERLINK" in data
