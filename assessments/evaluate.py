"""Pure evaluation of one indicator for one region (DOMAIN.md §7): value, status, attainment,
gap, completeness; ranks among siblings. No ORM.

- A rate is Σ numerator / Σ denominator over everything under the region (never a mean of
  the children's rates); a zero denominator is `insufficient_data`, never 0%.
- A reported value is `insufficient_data` unless every township under the region has an
  accepted report (the partial value and n/m are still given).
- Attainment compares the exact fraction with the target; the gap is in percentage points;
  values are shown rounded half up to 2 decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ATTAINED, NOT_ATTAINED, NO_TARGET, INSUFFICIENT = "attained", "not_attained", "no_target", "insufficient_data"
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
EXACT = Decimal("0.000001")


@dataclass(frozen=True)
class Evaluation:
    value: Decimal | None  # percent for rates, the count, or the score
    attained: bool | None
    gap: Decimal | None
    status: str
    complete_n: int
    complete_m: int


def exact_value(unit: str, num, den) -> Decimal | None:
    """The exact value as a Decimal (28 significant digits) or None when it cannot be known."""
    if unit in ("count", "beds"):
        return Decimal(num or 0)
    if num is None or den is None or Decimal(den) == 0:
        return None
    scale = HUNDRED if unit == "percent" else Decimal(1)
    return Decimal(num) * scale / Decimal(den)


def evaluate(
    *,
    unit: str,
    direction: str,
    reported: bool,
    num,
    den,
    present: int,
    population: int,
    townships: int,
    target: Decimal | None,
) -> Evaluation:
    """`present`: members with data; `population`: all members (computed indicators), or
    `townships`: the townships expected to report (reported indicators)."""
    if reported:
        n, m = present, townships
    else:
        n, m = present, population
    value = exact_value(unit, num, den)
    if value is None or (reported and (m == 0 or n < m)):
        return Evaluation(_store(value), None, None, INSUFFICIENT, n, m)
    if target is None:
        return Evaluation(_store(value), None, None, NO_TARGET, n, m)
    target = Decimal(target)
    if direction == "down":
        attained = value <= target
    else:
        attained = value >= target
    return Evaluation(
        _store(value), attained, _store(value - target), ATTAINED if attained else NOT_ATTAINED, n, m
    )


def _store(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(EXACT, rounding=ROUND_HALF_UP)


def shown(unit: str, num, den, *, minus: Decimal | None = None) -> str | None:
    """The value (or the gap, with `minus` the target) rounded half up from the exact fraction."""
    value = exact_value(unit, num, den)
    if value is None:
        return None
    if minus is not None:
        value -= Decimal(minus)
    if unit in ("count", "beds") and minus is None:
        return str(int(value))
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def competition_ranks(values: dict, *, descending: bool = True) -> dict:
    """Ties share a rank and the next rank skips (1, 1, 3). `values`: key → comparable or None
    (None: unranked)."""
    ranked = sorted(
        ((v, k) for k, v in values.items() if v is not None), key=lambda p: p[0], reverse=descending
    )
    out = {k: None for k in values}
    prev, rank = object(), 0
    for i, (v, k) in enumerate(ranked, start=1):
        if v != prev:
            rank, prev = i, v
        out[k] = rank
    return out
