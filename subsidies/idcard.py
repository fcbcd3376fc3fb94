"""居民身份证号码 (GB 11643-1999): validation, masking, the keyed lookup hash and encryption at
rest (SECURITY.md "Personal data"). No ORM; the keys come from settings.

- `parse(text)` → `IdNumber(number, birth_date)` or `IdCardError` with a Chinese message. 18
  characters: a 6-digit address code, the birth date YYYYMMDD (a real date, not in the future,
  not before 1900), a 3-digit sequence and the ISO 7064 MOD 11-2 check character (0–9 or X).
  15-digit numbers (the pre-1999 form) are refused. Messages never repeat the number nor its
  birth date: they end up in import reports, logs and audit records.
- `mask(number)` → `3703**********123X` (the first 4 and the last 4 characters, 10 stars): how
  the number is shown everywhere by default; `mask_numbers(text)` masks any number-shaped run
  in free text (a message quoting a cell, a file name).
- `lookup_hash(number)` → HMAC-SHA256 hex: finds a person across institutions (the duplicate-stay
  check) without decrypting anything; stored in `Resident.id_hash`.
- `encrypt(number)` / `decrypt(token)`: Fernet (AES-128-CBC + HMAC-SHA256, authenticated);
  stored in `Resident.id_cipher`. Only `subsidies.occupancy.resident_unmask` decrypts for a
  person (audited, with a reason).

Keys. Two settings, read from the environment (eldercare/settings/base.py):
`PORTAL_ID_ENCRYPTION_KEY` (encryption) and `PORTAL_ID_HASH_KEY` (lookup hash) — any long random
string each (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`); the actual
keys are derived from them with HKDF-SHA256 under distinct labels. Unset, each falls back to a
derivation of `SECRET_KEY` — for development only: production must set both (docs/operations.md
"Personal data keys"), because then rotating `SECRET_KEY` (which signs everybody out) must not
make the rosters unreadable. Rotating either key needs the stored rows re-encrypted and
re-hashed: `manage.py reencrypt_residents`, with the previous value in
`PORTAL_ID_ENCRYPTION_KEY_OLD` / `PORTAL_ID_HASH_KEY_OLD` (if a key was unset before, the old
value is the old `SECRET_KEY`)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # remainder of Σ digit × weight mod 11 → check character
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_FOLD = {0x3000: None, 0x20: None, **{code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}}
_ENCRYPTION_INFO = b"eldercare-portal resident id encryption v1"
_HASH_INFO = b"eldercare-portal resident id lookup hash v1"


class IdCardError(ValueError):
    """The number is not a valid 18-character ID number; the message is Chinese and never
    contains the number."""


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, upper-case X
    birth_date: datetime.date

    @property
    def masked(self) -> str:
        return mask(self.number)

    def __repr__(self):  # never the full number in a traceback or a log line
        return f"IdNumber({self.masked})"

    __str__ = __repr__


def normalise(text) -> str:
    """Full-width digits and Ｘ folded, spaces removed, x upper-cased."""
    if text is None:
        return ""
    return str(text).translate(_FOLD).strip().upper()


def check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("17 digits expected")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date_of(number: str) -> datetime.date | None:
    """The birth date the number carries (characters 7–14), or None if it is not a real date."""
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def parse(text, *, today: datetime.date | None = None) -> IdNumber:
    number = normalise(text)
    if not number:
        raise IdCardError("请填写身份证号。")
    if len(number) == 15 and number.isdigit():
        raise IdCardError("不受理15位旧身份证号，请填写18位居民身份证号码。")
    if len(number) != 18:
        raise IdCardError(f"身份证号应为18位，实际为{len(number)}位。")
    if not _SHAPE.match(number):
        raise IdCardError("身份证号前17位应为数字，最后一位为数字或X。")
    born = birth_date_of(number)
    if born is None:
        raise IdCardError("身份证号中的出生日期不是有效日期。")
    today = today or datetime.date.today()
    if born > today or born.year < 1900:
        raise IdCardError("身份证号中的出生日期不合理（早于1900年或晚于今天）。")
    if check_char(number[:17]) != number[17]:
        raise IdCardError("身份证号校验码不正确（最后一位与前17位不符），请核对后重新填写。")
    return IdNumber(number, born)


def is_valid(text) -> bool:
    try:
        parse(text)
    except IdCardError:
        return False
    return True


def mask(number: str) -> str:
    """`3703**********123X`: the first 4 and the last 4 characters."""
    number = normalise(number)
    if len(number) < 8:
        return "*" * len(number)
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


_NUMBER_IN_TEXT = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def mask_numbers(text: str) -> str:
    """Every run shaped like an ID number (17 digits and a digit or X) in `text` masked — for
    text taken from a user's cells or file name that may quote one (`3703**********123X`)."""
    if not isinstance(text, str):
        return text
    return _NUMBER_IN_TEXT.sub(lambda m: mask(m.group(0)), text)


# -- keys --------------------------------------------------------------------------------------
def _hkdf(material: str, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material.encode("utf-8"))


def _material(setting: str) -> str:
    from django.conf import settings

    value = getattr(settings, setting, "") or ""
    return value or settings.SECRET_KEY


def keys_configured() -> dict[str, bool]:
    """Which dedicated keys are set (production must set both; a deploy check reads this)."""
    from django.conf import settings

    return {
        name: bool(getattr(settings, name, "")) for name in ("PORTAL_ID_ENCRYPTION_KEY", "PORTAL_ID_HASH_KEY")
    }


def deploy_check(app_configs=None, **kwargs):
    """`manage.py check --deploy`: production must set both keys (register with
    `checks.register(deploy_check, checks.Tags.security, deploy=True)`)."""
    from django.core import checks

    missing = [name for name, ok in keys_configured().items() if not ok]
    if not missing:
        return []
    return [
        checks.Warning(
            f"{'、'.join(missing)} 未设置：入住老人身份证号的密钥由 SECRET_KEY 派生（仅供开发）。",
            hint='生产环境须设置这两个密钥（docs/operations.md "Personal data keys"）。',
            id="subsidies.W001",
        )
    ]


@lru_cache(maxsize=8)
def _fernet_for(material: str):
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(_hkdf(material, _ENCRYPTION_INFO)))


@lru_cache(maxsize=8)
def _hash_key_for(material: str) -> bytes:
    return _hkdf(material, _HASH_INFO)


def fernet(material: str | None = None):
    """The Fernet of the current key, or of `material` (an old key value, for re-encryption)."""
    return _fernet_for(material if material is not None else _material("PORTAL_ID_ENCRYPTION_KEY"))


def lookup_hash(number: str, material: str | None = None) -> str:
    key = _hash_key_for(material if material is not None else _material("PORTAL_ID_HASH_KEY"))
    return hmac.new(key, normalise(number).encode("ascii"), hashlib.sha256).hexdigest()


def encrypt(number: str, material: str | None = None) -> str:
    return fernet(material).encrypt(normalise(number).encode("ascii")).decode("ascii")


class DecryptError(Exception):
    """The stored cipher does not open with this key (wrong key, or tampered)."""


def decrypt(token: str, material: str | None = None) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return fernet(material).decrypt(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise DecryptError("身份证号密文无法用当前密钥解密（密钥已更换而未重新加密？）。") from exc
