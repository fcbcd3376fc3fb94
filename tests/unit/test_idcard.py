"""居民身份证号码 (GB 11643-1999): the check character table, real birth dates, 15 digits refused,
masking, the keyed hash and encryption (subsidies/idcard.py). No database."""

import datetime

import pytest

from subsidies import idcard

D = datetime.date


@pytest.mark.parametrize(
    "first17,check",
    [
        ("11010519491231002", "X"),  # the standard's own example
        ("37030619450102123", "7"),
        ("37030619480315004", "2"),
        ("37030619390720551", "7"),
        ("37030619421108682", "5"),
        ("37030719500505111", "2"),
        ("44052418800101001", "4"),  # a widely quoted example (born 1880: refused by parse)
        ("11010119900307002", "X"),
        ("37030619561010321", "X"),
    ],
)
def test_check_character_table(first17, check):
    assert idcard.check_char(first17) == check
    if first17[6:8] != "18":
        assert idcard.parse(first17 + check).number == first17 + check
    wrong = next(c for c in "0123456789X" if c != check)
    assert not idcard.is_valid(first17 + wrong)


def test_every_remainder_maps_to_its_character():
    # Σ digit × weight mod 11 → 1 0 X 9 8 7 6 5 4 3 2 (ISO 7064 MOD 11-2)
    seen = {}
    for n in range(2000):
        first17 = f"3703061945010{n:04d}"
        total = sum(int(d) * w for d, w in zip(first17, idcard.WEIGHTS, strict=True))
        seen[total % 11] = idcard.check_char(first17)
    assert [seen[r] for r in range(11)] == list("10X98765432")


def test_wrong_check_digit_is_refused_without_quoting_the_number():
    with pytest.raises(idcard.IdCardError) as exc:
        idcard.parse("370306194501021238")
    message = str(exc.value)
    assert "校验码" in message and "370306194501021238" not in message and "1945" not in message


def test_lower_case_x_full_width_and_spaces_are_folded():
    assert idcard.parse("11010519491231002x").number == "11010519491231002X"
    assert idcard.parse("１１０１０５ 1949 1231 002Ｘ").number == "11010519491231002X"


def test_birth_date_must_be_real():
    first17 = "37030619990231001"  # 1999-02-31
    number = first17 + idcard.check_char(first17)
    with pytest.raises(idcard.IdCardError, match="出生日期不是有效日期"):
        idcard.parse(number)
    leap = "37030620000229001"
    assert idcard.parse(leap + idcard.check_char(leap)).birth_date == D(2000, 2, 29)
    not_leap = "37030619000229001"
    with pytest.raises(idcard.IdCardError, match="出生日期不是有效日期"):
        idcard.parse(not_leap + idcard.check_char(not_leap))
    future = "37030620990101001"
    with pytest.raises(idcard.IdCardError, match="不合理"):
        idcard.parse(future + idcard.check_char(future), today=D(2026, 1, 1))
    old = "37030618991231001"
    with pytest.raises(idcard.IdCardError, match="不合理"):
        idcard.parse(old + idcard.check_char(old))


def test_birth_date_of_a_valid_number():
    assert idcard.parse("370306194501021237").birth_date == D(1945, 1, 2)


@pytest.mark.parametrize(
    "raw,fragment",
    [
        ("370306450102123", "15位"),
        ("", "请填写"),
        ("37030619450102123", "18位"),
        ("3703061945010212377", "18位"),
        ("37030619450102123A", "最后一位"),
        ("X70306194501021237", "前17位"),
        ("4.40524E+17", "18位"),
    ],
)
def test_malformed_numbers(raw, fragment):
    with pytest.raises(idcard.IdCardError, match=fragment):
        idcard.parse(raw)
    assert not idcard.is_valid(raw)


def test_masking_shows_first_four_and_last_four():
    assert idcard.mask("370306194501021237") == "3703**********1237"
    assert idcard.mask("11010519491231002x") == "1101**********002X"
    assert len(idcard.mask("370306194501021237")) == 18
    assert idcard.mask("123") == "***"
    person = idcard.parse("370306194501021237")
    assert person.masked == "3703**********1237"
    assert "370306194501021237" not in repr(person) and "370306194501021237" not in str(person)


def test_lookup_hash_is_keyed_and_stable(settings):
    settings.PORTAL_ID_HASH_KEY = "hash-key-one"
    one = idcard.lookup_hash("370306194501021237")
    assert one == idcard.lookup_hash("370306194501021237") == idcard.lookup_hash(" 370306194501021237 ")
    assert len(one) == 64 and "370306194501021237" not in one
    assert one != idcard.lookup_hash("11010519491231002X")
    settings.PORTAL_ID_HASH_KEY = "hash-key-two"
    assert idcard.lookup_hash("370306194501021237") != one
    assert idcard.lookup_hash("370306194501021237", "hash-key-one") == one


def test_encryption_round_trip_and_key_separation(settings):
    settings.PORTAL_ID_ENCRYPTION_KEY = "enc-key-one"
    token = idcard.encrypt("370306194501021237")
    assert "370306194501021237" not in token and "1237" not in token.split(".")[0]
    assert token != idcard.encrypt("370306194501021237")  # randomised
    assert idcard.decrypt(token) == "370306194501021237"
    settings.PORTAL_ID_ENCRYPTION_KEY = "enc-key-two"
    with pytest.raises(idcard.DecryptError):
        idcard.decrypt(token)
    assert idcard.decrypt(token, "enc-key-one") == "370306194501021237"


def test_keys_fall_back_to_secret_key_each_under_its_own_label(settings):
    settings.PORTAL_ID_ENCRYPTION_KEY = ""
    settings.PORTAL_ID_HASH_KEY = ""
    settings.SECRET_KEY = "dev-secret"
    assert idcard.keys_configured() == {"PORTAL_ID_ENCRYPTION_KEY": False, "PORTAL_ID_HASH_KEY": False}
    assert idcard.lookup_hash("370306194501021237") == idcard.lookup_hash("370306194501021237", "dev-secret")
    assert idcard.decrypt(idcard.encrypt("370306194501021237"), "dev-secret") == "370306194501021237"
    # The hash key and the encryption key differ even from one secret.
    assert idcard._hash_key_for("dev-secret") != idcard._hkdf("dev-secret", idcard._ENCRYPTION_INFO)


def test_deploy_check_warns_until_both_keys_are_set(settings):
    settings.PORTAL_ID_ENCRYPTION_KEY, settings.PORTAL_ID_HASH_KEY = "", "set"
    (warning,) = idcard.deploy_check()
    assert warning.id == "subsidies.W001" and "PORTAL_ID_ENCRYPTION_KEY" in warning.msg
    settings.PORTAL_ID_ENCRYPTION_KEY = "set too"
    assert idcard.deploy_check() == []


def test_mask_numbers_masks_every_number_shaped_run_in_free_text():
    text = "表中机构名称“370306194501021237”与登记不一致；另见 11010519491231002x。"
    assert (
        idcard.mask_numbers(text) == "表中机构名称“3703**********1237”与登记不一致；另见 1101**********002X。"
    )
    # shorter or longer digit runs are left alone (a 19-digit bank account, a 15-digit number)
    assert idcard.mask_numbers("6228480000000000001 370306390720551") == "6228480000000000001 370306390720551"
    assert idcard.mask_numbers("名册.csv") == "名册.csv"
