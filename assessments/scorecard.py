"""The weighted composite scorecard (DOMAIN.md §7; 000 五(三)'s evaluation system). Pure: no ORM.

score = 100 × Σ wᵢ·min(vᵢ/tᵢ, 1) / Σ wᵢ over the indicators that have a target and data.

- direction "up": min(v/t, 1); a zero target is attained by any value (1).
- direction "down": min(t/v, 1); a zero value is at least as good as any target (1), and a
  zero target with a value above it scores 0 (it is not attained either, see evaluate.py).
- indicators without a target, with insufficient data, or with a weight of 0 are left out
  of both sums and listed with the reason; with nothing left the score is None — except a
  reported indicator with a target that the township has not reported (no accepted report):
  it scores 0 (named 未报送), so not reporting can never raise a township's score.

The value is the exact fraction (evaluate.exact_value), never the 2-decimal figure shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
ONE = Decimal(1)
ZERO = Decimal(0)
CENT = Decimal("0.01")

NO_TARGET = "无目标"
NO_DATA = "数据不足"
NO_WEIGHT = "权重为 0"


@dataclass(frozen=True)
class Item:
    """One indicator of one region as the scorecard reads it."""

    code: str
    name: str
    weight: Decimal
    value: Decimal | None  # exact; None when it cannot be known
    target: Decimal | None
    direction: str = "up"
    insufficient: bool = False  # status insufficient_data (e.g. a township has not reported)
    unreported: bool = False  # a reported indicator without the township's accepted report


@dataclass(frozen=True)
class Part:
    code: str
    name: str
    weight: Decimal
    value: Decimal
    target: Decimal
    ratio: Decimal  # min(v/t, 1) (or min(t/v, 1)), in [0, 1]
    points: Decimal  # weight × ratio
    unreported: bool = False  # scored 0: not reported


@dataclass(frozen=True)
class LeftOut:
    code: str
    name: str
    reason: str


@dataclass
class Score:
    score: Decimal | None  # exact, 0–100
    parts: list[Part] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    weight_total: Decimal = ZERO

    @property
    def shown(self) -> str | None:
        """The score rounded half up to 2 decimals, as pages and exports show it."""
        return None if self.score is None else str(self.score.quantize(CENT, rounding=ROUND_HALF_UP))


def ratio(value: Decimal, target: Decimal, direction: str = "up") -> Decimal:
    """min(v/t, 1) — or min(t/v, 1) for "down" — never below 0."""
    value, target = Decimal(value), Decimal(target)
    if direction == "down":
        if value <= 0:
            return ONE
        r = target / value
    else:
        if target <= 0:
            return ONE
        r = value / target
    return max(ZERO, min(r, ONE))


def score(items: Iterable[Item]) -> Score:
    out = Score(score=None)
    earned = ZERO
    for it in items:
        weight = Decimal(it.weight or 0)
        if it.target is None:
            out.left_out.append(LeftOut(it.code, it.name, NO_TARGET))
            continue
        if weight <= 0:
            out.left_out.append(LeftOut(it.code, it.name, NO_WEIGHT))
            continue
        if it.unreported:
            out.parts.append(
                Part(it.code, it.name, weight, ZERO, Decimal(it.target), ZERO, ZERO, unreported=True)
            )
            out.weight_total += weight
            continue
        if it.insufficient or it.value is None:
            out.left_out.append(LeftOut(it.code, it.name, NO_DATA))
            continue
        r = ratio(it.value, it.target, it.direction)
        points = weight * r
        out.parts.append(Part(it.code, it.name, weight, Decimal(it.value), Decimal(it.target), r, points))
        out.weight_total += weight
        earned += points
    if out.weight_total > 0:
        out.score = HUNDRED * earned / out.weight_total
    return out
