import pytest

from institutions.credit_code import check_character, validate


def test_known_valid_code():
    assert validate("91310110666007217T").error is None
    assert validate("91310110666007217T").warning is None
    assert check_character("91310110666007217") == "T"


@pytest.mark.parametrize("raw", ["９１３１０１１０６６６００７２１７Ｔ", " 91310110666007217t "])
def test_full_width_and_case_and_spaces_normalised(raw):
    check = validate(raw)
    assert check.code == "91310110666007217T" and check.error is None


def test_wrong_check_character_is_a_warning_not_an_error():
    check = validate("91310110666007217A")
    assert check.error is None and "校验位" in check.warning and "T" in check.warning


@pytest.mark.parametrize(
    "raw,fragment",
    [
        ("9131011066600721", "18位"),
        ("91310110666007217TX", "18位"),
        ("9131011066600721IT", "不允许的字符"),
        ("", "18位"),
    ],
)
def test_wrong_length_or_alphabet_is_an_error(raw, fragment):
    assert fragment in validate(raw).error
