"""统一社会信用代码 (GB 32100-2015) validation. Pure: no Django.

Wrong length or alphabet is an error; a wrong check character is only a warning kept on the
record, because some real pilot-era codes fail it (DOMAIN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31 for positions 1..17


@dataclass(frozen=True)
class CodeCheck:
    code: str
    error: str | None = None  # refuses the code
    warning: str | None = None  # kept on the record


def check_character(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(raw) -> str:
    text = "" if raw is None else str(raw)
    out = []
    for ch in text.strip():
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # full-width to half-width
            ch = chr(code - 0xFEE0)
        if not ch.isspace():
            out.append(ch)
    return "".join(out).upper()


def validate(raw) -> CodeCheck:
    code = normalise(raw)
    if len(code) != 18:
        return CodeCheck(code, error=f"统一社会信用代码应为18位，实际为{len(code)}位。")
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return CodeCheck(
            code, error=f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、Z、S、V）。"
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return CodeCheck(
            code, warning=f"统一社会信用代码校验位不符（应为 {expected}），请核对；已按原样保存。"
        )
    return CodeCheck(code)
