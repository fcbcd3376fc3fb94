"""The composite scorecard (DOMAIN.md §7: 100 × Σ w·min(v/t, 1) / Σ w), table-driven."""

from decimal import Decimal

import pytest

from assessments.scorecard import NO_DATA, NO_TARGET, NO_WEIGHT, Item, ratio, score

D = Decimal


def item(code, value, target, weight="1", direction="up", insufficient=False):
    return Item(
        code=code,
        name=code,
        weight=D(weight),
        value=None if value is None else D(value),
        target=None if target is None else D(target),
        direction=direction,
        insufficient=insufficient,
    )


@pytest.mark.parametrize(
    "value,target,direction,expected",
    [
        ("40", "100", "up", "0.4"),
        ("100", "100", "up", "1"),
        ("120", "100", "up", "1"),  # capped at 1: over-attaining one indicator buys nothing elsewhere
        ("0", "100", "up", "0"),
        ("0", "0", "up", "1"),  # a zero target counts as attained
        ("5", "0", "up", "1"),
        ("400", "4200", "up", D(400) / D(4200)),  # a count against a count target
        ("20", "10", "down", "0.5"),  # lower is better: min(t/v, 1)
        ("5", "10", "down", "1"),
        ("10", "10", "down", "1"),
        ("0", "10", "down", "1"),  # zero value: division by zero is full marks
        ("0", "0", "down", "1"),
        ("5", "0", "down", "0"),  # zero target not met (evaluate: 5 <= 0 is not attained)
    ],
)
def test_ratio(value, target, direction, expected):
    assert ratio(D(value), D(target), direction) == D(expected)


@pytest.mark.parametrize(
    "items,expected,parts,left_out",
    [
        # 丝绸路街道-like: coverage 2/3 of 100, signing 80 of 85, nothing else with a target.
        (
            [item("A", D(200) / D(3), "100"), item("B", "80", "85")],
            (D(200) / D(3) / 100 + D(80) / D(85)) / 2 * 100,
            ["A", "B"],
            [],
        ),
        # weights: 2 × 0.5 + 1 × 1 over 3
        ([item("A", "50", "100", "2"), item("B", "100", "100", "1")], D(200) / D(3), ["A", "B"], []),
        # no target, insufficient data and weight 0 are left out, and listed
        (
            [
                item("A", "90", "100"),
                item("B", "50", None),
                item("C", "70", "80", insufficient=True),
                item("D", None, "80"),
                item("E", "10", "100", weight="0"),
            ],
            D(90),
            ["A"],
            [("B", NO_TARGET), ("C", NO_DATA), ("D", NO_DATA), ("E", NO_WEIGHT)],
        ),
        # all capped: 100
        ([item("A", "120", "100"), item("B", "3", "5", direction="down")], D(100), ["A", "B"], []),
        # zero target attained
        ([item("A", "0", "0"), item("B", "0", "100")], D(50), ["A", "B"], []),
        # nothing scorable: no score
        ([item("A", "50", None), item("B", None, "10")], None, [], [("A", NO_TARGET), ("B", NO_DATA)]),
        ([], None, [], []),
    ],
)
def test_score(items, expected, parts, left_out):
    s = score(items)
    assert s.score == expected
    assert [p.code for p in s.parts] == parts
    assert [(x.code, x.reason) for x in s.left_out] == left_out
    assert s.weight_total == sum((p.weight for p in s.parts), D(0))


def test_shown_rounds_half_up_from_the_exact_score():
    # (2/3 + 1) / 2 = 83.333…; then two that end in 5 exactly:
    assert score([item("A", D(200) / D(3), "100"), item("B", "100", "100")]).shown == "83.33"
    assert score([item("A", "12.345", "100")]).shown == "12.35"  # half up, not banker's
    assert score([item("A", "12.355", "100")]).shown == "12.36"
    assert score([]).shown is None


def test_points_are_weight_times_ratio():
    s = score([item("A", "30", "60", "3")])
    (p,) = s.parts
    assert (p.ratio, p.points, s.score) == (D("0.5"), D("1.5"), D(50))


def test_not_reporting_never_raises_a_score():
    from decimal import Decimal as D

    from assessments.scorecard import Item, score

    reported = Item("FD", "签约率", D(1), None, D(70), unreported=True, insufficient=True)
    computed = Item("COV", "覆盖率", D(1), D(100), D(100))
    s = score([computed, reported])
    assert s.shown == "50.00" and s.parts[1].unreported and s.parts[1].points == 0
    assert score([computed]).shown == "100.00"
