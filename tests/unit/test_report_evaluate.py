"""The pure evaluation of an indicator for a region (assessments/evaluate.py, DOMAIN.md §7)."""

from decimal import Decimal

import pytest

from assessments.evaluate import competition_ranks, evaluate, exact_value, shown

RATE = dict(unit="percent", direction="up", reported=False, townships=0)


@pytest.mark.parametrize(
    "num,den,target,status,attained,gap",
    [
        (2, 5, 100, "not_attained", False, Decimal("-60")),
        (4, 5, 80, "attained", True, Decimal("0")),  # exactly the target: attained
        (2, 3, None, "no_target", None, None),
        (0, 0, 100, "insufficient_data", None, None),  # zero denominator: never 0%
        (None, None, 100, "insufficient_data", None, None),
        (0, 4, 50, "not_attained", False, Decimal("-50")),
    ],
)
def test_rates(num, den, target, status, attained, gap):
    e = evaluate(**RATE, num=num, den=den, present=5, population=5, target=target)
    assert (e.status, e.attained) == (status, attained)
    assert e.gap == (None if gap is None else gap.quantize(Decimal("0.000001")))


def test_attainment_compares_the_exact_fraction_not_the_rounded_value():
    # 2/3 = 66.666…% is shown 66.67 but does not attain a 66.67 target.
    e = evaluate(**RATE, num=2, den=3, present=3, population=3, target=Decimal("66.67"))
    assert e.status == "not_attained" and shown("percent", 2, 3) == "66.67"
    # The gap keeps its sign below a hundredth: just short of the target reads "-0.00".
    assert shown("percent", 2, 3, minus=Decimal("66.67")) == "-0.00"


@pytest.mark.parametrize(
    "num,den,text",
    [(1, 8, "12.50"), (1, 800, "0.13"), (1, 3, "33.33"), (5, 6, "83.33"), (1, 1, "100.00"), (7, 9, "77.78")],
)
def test_shown_rounds_half_up_to_two_decimals(num, den, text):
    assert shown("percent", num, den) == text


def test_counts_and_scores():
    assert shown("count", 13, None) == "13" and shown("beds", None, None) == "0"
    assert exact_value("score", Decimal("170"), 2) == Decimal("85")
    e = evaluate(
        unit="count",
        direction="up",
        reported=False,
        num=13,
        den=None,
        present=13,
        population=13,
        townships=0,
        target=Decimal("20"),
    )
    assert e.status == "not_attained" and e.gap == Decimal("-7")


def test_reported_values_need_every_township():
    kw = dict(unit="percent", direction="up", reported=True, num=1100, den=1500, target=Decimal("70"))
    partial = evaluate(**kw, present=2, population=2, townships=3)
    assert partial.status == "insufficient_data" and partial.value is not None  # the partial value is kept
    assert (partial.complete_n, partial.complete_m) == (2, 3)
    full = evaluate(**kw, present=3, population=3, townships=3)
    assert full.status == "attained"
    assert evaluate(**kw, present=0, population=0, townships=0).status == "insufficient_data"


def test_lower_is_better():
    e = evaluate(
        unit="percent",
        direction="down",
        reported=False,
        num=1,
        den=10,
        present=10,
        population=10,
        townships=0,
        target=Decimal("15"),
    )
    assert e.status == "attained"


def test_competition_ranks_share_ties_and_skip():
    values = {"a": Decimal("90"), "b": Decimal("95"), "c": Decimal("90"), "d": None, "e": Decimal("80")}
    assert competition_ranks(values) == {"b": 1, "a": 2, "c": 2, "e": 4, "d": None}
    assert competition_ranks(values, descending=False)["e"] == 1
