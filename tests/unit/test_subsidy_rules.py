"""The subsidy rules from 东政办〔2022〕42号 三(一)'s numbers and their edges (issue 6): exactly 50
beds, exactly 50%, a lease of exactly 5 years (both dates inclusive) and of 4 years 11 months, a
repeating-decimal average, opening mid-year, a missing month, the policy's last day, a
non-medical-run institution asking for a construction subsidy. Pure: no database."""

import datetime
from decimal import Decimal

import pytest

from subsidies import rules as r

D = datetime.date
POLICY = {
    r.CONVERSION: {"amount_per_bed": "2000.00", "requires_run_by_medical": True},
    r.NEW_OWNED: {
        "amount_per_bed": "10000.00",
        "min_beds": 50,
        "min_commit_years": 5,
        "min_occupancy": "0.5",
        "occupancy_window_months": 3,
        "requires_run_by_medical": True,
    },
    r.NEW_RENTED: {
        "amount_per_bed": "5000.00",
        "min_beds": 50,
        "min_lease_years": 5,
        "installments": 5,
        "requires_run_by_medical": True,
    },
    r.OPERATION: {"self_care_per_bed_year": "2000.00", "disabled_per_bed_year": "2400.00"},
}


def rule(kind):
    return r.Rule(kind, "东政办〔2022〕42号", "三(一)", POLICY[kind], D(2022, 7, 26), D(2027, 7, 25))


def facts(**kw):
    base = dict(application_date=D(2026, 3, 15), run_by_medical=True, approved_beds=60, beds=None)
    return r.ConstructionFacts(**{**base, **kw})


def check(verdict, code):
    return next(c for c in verdict.checks if c.code == code)


def test_conversion_2000_per_bed_once():
    v = r.construction(rule(r.CONVERSION), facts(), r.CONVERSION)
    assert (v.eligible, v.amount, v.installments) == (
        True,
        Decimal("120000.00"),
        [(2026, Decimal("120000.00"))],
    )
    assert all(c.clause == "东政办〔2022〕42号 三(一)" for c in v.checks)


def test_a_non_medical_run_home_gets_no_construction_subsidy():
    v = r.construction(rule(r.CONVERSION), facts(run_by_medical=False), r.CONVERSION)
    assert v.eligible is False and v.amount == Decimal("0.00")
    assert (
        check(v, "run_by_medical").message == "建设补助限于医疗机构举办的养老机构；该机构未登记举办医疗机构。"
    )


FEBRUARY = D(2026, 2, 1)


def OCC(occupied, month=FEBRUARY):  # noqa: N802 - reads as a constant-like builder in the tables
    return (r.Occupancy(month, occupied, 0),)


@pytest.mark.parametrize(
    "beds,occupied,committed,eligible",
    [
        (50, 25, 5, True),  # exactly 50 beds, exactly 50%, exactly 5 years
        (49, 40, 5, False),  # 49 beds
        (50, 24, 5, False),  # 48%
        (51, 26, 5, True),  # 50.98%: 2 × 26 ≥ 51
        (51, 25, 5, False),  # 49.02%
        (50, 25, 4, False),  # a 4-year commitment
    ],
)
def test_new_owned_edges(beds, occupied, committed, eligible):
    v = r.construction(
        rule(r.NEW_OWNED),
        facts(approved_beds=beds, committed_years=committed, occupancy=OCC(occupied)),
        r.NEW_OWNED,
    )
    assert v.eligible is eligible
    assert v.amount == (Decimal(10000 * beds).quantize(r.FEN) if eligible else Decimal("0.00"))


def test_new_owned_occupancy_must_be_recent_else_incomplete():
    stale = r.construction(
        rule(r.NEW_OWNED), facts(committed_years=5, occupancy=OCC(50, D(2025, 11, 1))), r.NEW_OWNED
    )  # November ended more than 3 months before 15 March
    assert stale.eligible is None and check(stale, "occupancy").passed is None
    current_month = r.construction(
        rule(r.NEW_OWNED), facts(committed_years=5, occupancy=OCC(50, D(2026, 3, 1))), r.NEW_OWNED
    )  # March has not ended on 15 March: not read
    assert current_month.eligible is None
    latest = r.construction(
        rule(r.NEW_OWNED),
        facts(committed_years=5, occupancy=(*OCC(10, D(2026, 1, 1)), *OCC(40, D(2026, 2, 1)))),
        r.NEW_OWNED,
    )
    assert latest.eligible is True and "2026年02月末入住 40 张" in check(latest, "occupancy").message


# The lease's dates are both inclusive (ADR 0012 "Lease term"): 2026-01-01 至 2030-12-31 is the
# everyday Chinese 5-year lease; the condition is end + 1 day ≥ start + 5 years.
@pytest.mark.parametrize(
    "start,end,eligible,term",
    [
        (D(2026, 1, 1), D(2030, 12, 31), True, "5 年"),  # exactly 5 years, end inclusive
        (D(2026, 1, 1), D(2031, 1, 1), True, "5 年 1 天"),
        (D(2026, 1, 1), D(2030, 12, 30), False, "4 年 11 个月 30 天"),  # one day short
        (D(2026, 1, 1), D(2030, 11, 30), False, "4 年 11 个月"),  # 4 years 11 months
        (D(2026, 1, 1), D(2030, 12, 1), False, "4 年 11 个月 1 天"),
        (D(2026, 3, 15), D(2031, 3, 14), True, "5 年"),
        (D(2026, 3, 15), D(2031, 3, 13), False, "4 年 11 个月 27 天"),
        (D(2024, 2, 29), D(2029, 2, 28), True, "5 年"),  # from a leap day: through 28 February
        (D(2024, 2, 29), D(2029, 2, 27), False, "4 年 11 个月 30 天"),
        (D(2026, 1, 1), D(2026, 1, 1), False, "1 天"),
    ],
)
def test_new_rented_lease(start, end, eligible, term):
    v = r.construction(rule(r.NEW_RENTED), facts(lease_start=start, lease_end=end), r.NEW_RENTED)
    assert v.eligible is eligible
    lease = check(v, "lease")
    assert lease.passed is eligible
    assert lease.message == (
        f"租期 {term}（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}，起止日均计入），"
        f"{'达到' if eligible else '不足'} 5 年以上的要求。"
    )


def test_lease_ending_before_it_starts_is_refused():
    v = r.construction(
        rule(r.NEW_RENTED), facts(lease_start=D(2026, 1, 1), lease_end=D(2025, 12, 31)), r.NEW_RENTED
    )
    assert v.eligible is False
    assert check(v, "lease").message == "租期结束日期 2025-12-31 早于开始日期 2026-01-01。"


def test_missing_lease_dates_are_incomplete():
    v = r.construction(rule(r.NEW_RENTED), facts(lease_start=D(2026, 1, 1)), r.NEW_RENTED)
    assert v.eligible is None and check(v, "lease").passed is None


@pytest.mark.parametrize(
    "start,end,term",
    [
        (D(2026, 1, 1), D(2030, 12, 31), (5, 0, 0)),
        (D(2026, 1, 31), D(2026, 2, 28), (0, 1, 0)),  # no 31 February: the whole of February
        (D(2026, 1, 31), D(2026, 2, 27), (0, 0, 28)),
        (D(2026, 1, 31), D(2026, 3, 30), (0, 2, 0)),
        (D(2025, 12, 31), D(2026, 1, 30), (0, 1, 0)),
        (D(2026, 1, 1), D(2025, 12, 1), (0, 0, 0)),
    ],
)
def test_lease_term(start, end, term):
    assert r.lease_term(start, end) == term


def test_new_rented_five_installments_the_last_absorbs_the_fen():
    # 5,000 × 61 = 305,000 → 61,000 × 5 (no remainder); with an odd policy amount the last absorbs it
    odd = r.Rule(
        r.NEW_RENTED,
        "某县〔2026〕1号",
        "二",
        {**POLICY[r.NEW_RENTED], "amount_per_bed": "3333.33"},
        D(2026, 1, 1),
        None,
    )
    v = r.construction(
        odd, facts(approved_beds=61, lease_start=D(2026, 1, 1), lease_end=D(2031, 6, 30)), r.NEW_RENTED
    )
    assert v.amount == Decimal("203333.13")
    assert v.installments == [
        (2026, Decimal("40666.62")),
        (2027, Decimal("40666.62")),
        (2028, Decimal("40666.62")),
        (2029, Decimal("40666.62")),
        (2030, Decimal("40666.65")),
    ]
    assert sum(a for _, a in v.installments) == v.amount


def test_construction_beds_cannot_exceed_the_approved_beds():
    v = r.construction(rule(r.CONVERSION), facts(beds=20, beds_already_approved=50), r.CONVERSION)
    assert v.eligible is False and "最多还可申请 10 张" in check(v, "beds_not_yet_subsidised").message


@pytest.mark.parametrize(
    "day,eligible",
    [(D(2027, 7, 25), True), (D(2027, 7, 26), False), (D(2022, 7, 25), False), (D(2022, 7, 26), True)],
)
def test_the_policys_first_and_last_day(day, eligible):
    v = r.construction(rule(r.CONVERSION), facts(application_date=day), r.CONVERSION)
    assert v.eligible is eligible
    if not eligible:
        assert v.checks[0].code == "policy_in_force" and v.checks[0].passed is False


def test_no_policy_at_all():
    v = r.construction(None, facts(), r.CONVERSION)
    assert (v.eligible, v.amount, v.checks[0].code) == (False, Decimal("0.00"), "policy_in_force")


def months(self_care, disabled, operating=None, missing=()):
    return tuple(
        r.Month(
            m,
            operating[m - 1] if operating else True,
            None if m in missing else self_care,
            None if m in missing else disabled,
        )
        for m in range(1, 13)
    )


def op(year=2025, **kw):
    return r.OperationFacts(year=year, application_date=D(year + 1, 2, 10), **kw)


def test_operation_a_full_year():
    v = r.operation(rule(r.OPERATION), op(months=months(30, 20)))
    # (2000 × 360 + 2400 × 240) / 12 = 60,000 + 48,000
    assert (v.eligible, v.amount, v.installments) == (
        True,
        Decimal("108000.00"),
        [(2026, Decimal("108000.00"))],
    )


def test_operation_a_repeating_decimal_average_is_rounded_once():
    v = r.operation(
        rule(r.OPERATION), op(months=months(1, 0, missing=(), operating=None)[:1] + months(0, 0)[1:])
    )
    # one self-care bed in January only: 2000 × 1 / 12 = 166.666… → 166.67
    assert v.amount == Decimal("166.67")


def test_operation_opening_mid_year_counts_months_before_as_zero():
    operating = [False] * 6 + [True] * 6
    ms = tuple(
        r.Month(m, operating[m - 1], None if m <= 6 else 10, None if m <= 6 else 5) for m in range(1, 13)
    )
    v = r.operation(rule(r.OPERATION), op(months=ms))
    # (2000 × 60 + 2400 × 30) / 12 = 10,000 + 6,000
    assert (v.eligible, v.amount) == (True, Decimal("16000.00"))


def test_operation_a_missing_month_while_operating_is_incomplete_not_zero():
    v = r.operation(rule(r.OPERATION), op(months=months(10, 5, missing=(7,))))
    assert v.eligible is None and v.amount == Decimal("0.00")
    assert "7月 运营中但缺少入住月报" in check(v, "months_reported").message


def test_operation_months_outside_the_policy_do_not_count():
    # 2022: the policy starts on 26 July, so January–June end before it (July's last day counts)
    v = r.operation(rule(r.OPERATION), op(year=2022, months=months(12, 0)))
    assert v.amount == Decimal("12000.00")  # 2000 × 12 × 6 / 12
    assert "政策未生效的 6 个月不计" in check(v, "months_reported").message


def test_operation_once_per_year():
    v = r.operation(rule(r.OPERATION), op(months=months(1, 1), already_granted=True))
    assert v.eligible is False and check(v, "one_per_year").passed is False


def test_split_and_add_years():
    assert r.split(Decimal("100.00"), 3) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert r.add_years(D(2024, 2, 29), 5) == D(2029, 2, 28)


def test_operation_across_two_documents_counts_every_month_at_its_own_rates():
    """A county's own document from July replaces the default: both halves count."""
    county = r.Rule(
        r.OPERATION,
        "某县〔2025〕7号",
        "三",
        {"self_care_per_bed_year": "2400.00", "disabled_per_bed_year": "3000.00"},
        D(2025, 7, 1),
        None,
    )
    default = r.Rule(
        r.OPERATION, "东政办〔2022〕42号", "三(一)", POLICY[r.OPERATION], D(2022, 7, 26), D(2025, 6, 30)
    )
    by_month = {m: (default if m <= 6 else county) for m in range(1, 13)}
    v = r.operation(by_month, op(months=months(30, 20)))
    # Jan–Jun: (2000×30 + 2400×20)×6 = 648,000; Jul–Dec: (2400×30 + 3000×20)×6 = 792,000; / 12
    assert v.amount == Decimal("120000.00")
    assert "东政办〔2022〕42号 三(一)、某县〔2025〕7号 三" == v.checks[0].clause


def test_unknown_registry_facts_are_incomplete_not_a_refusal():
    v = r.construction(rule(r.CONVERSION), facts(run_by_medical=None), r.CONVERSION)
    assert v.eligible is None and check(v, "run_by_medical").passed is None
