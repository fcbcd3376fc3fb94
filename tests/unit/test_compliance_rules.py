"""Compliance rules from the seeds, table-driven, with the 100-bed edge (the stricter rule wins)."""

import pytest

from institutions.rules import Facts, Thresholds, warnings_for


def codes(facts, t=None):
    return [w.code for w in warnings_for(facts, t)]


E = dict(family="eldercare", type="elder_home")


@pytest.mark.parametrize(
    "facts,expected",
    [
        (Facts(**E, beds_eldercare=100), ["big_home_no_medical"]),  # 100 itself: the ≥100 rule
        (Facts(**E, beds_eldercare=100, internal_unit="infirmary"), []),
        (Facts(**E, beds_eldercare=120, nurses=1), []),
        (Facts(**E, beds_eldercare=99, has_active_contract=False), ["small_home_no_contract"]),
        (Facts(**E, beds_eldercare=99, has_active_contract=True), []),
        (Facts(**E, beds_eldercare=99, has_active_contract=None), []),  # not known: no verdict
        (Facts(**E, beds_eldercare=99, run_by_medical=True, has_active_contract=False), []),
        (Facts(**E, beds_eldercare=500, internal_unit="nursing_station"), ["may_open_hospital"]),
        (Facts(**E, beds_eldercare=499, internal_unit="nursing_station"), []),
        (Facts(**E, beds_eldercare=150, status="closed"), []),
        (
            Facts(family="medical", type="general_hospital", grade="2", geriatric_dept=False),
            ["no_geriatric_dept"],
        ),
        (Facts(family="medical", type="general_hospital", grade="1", geriatric_dept=False), []),
        (Facts(family="medical", type="clinic", green_channel=False), ["no_green_channel"]),
        (Facts(family="medical", type="public_health", green_channel=False), []),
        (Facts(family="medical", type="clinic", green_channel=None), []),  # 未填报 is not a breach
    ],
)
def test_rules(facts, expected):
    assert codes(facts) == expected


def test_thresholds_configurable():
    f = Facts(**E, beds_eldercare=80)
    assert codes(f, Thresholds(big_home_beds=80)) == ["big_home_no_medical"]


def test_every_warning_cites_a_seed():
    for w in warnings_for(Facts(**E, beds_eldercare=600)) + warnings_for(
        Facts(family="medical", type="tcm_hospital", grade="3", geriatric_dept=False, green_channel=False)
    ):
        assert ".txt" in w.source and w.message
