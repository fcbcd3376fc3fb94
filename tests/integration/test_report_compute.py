"""Target-attainment reports on the real database (issue 7): a hand-checked county where every
indicator and region was worked out by hand (the figures in the comments), the as-of-date
history cases, insufficient data, inherited targets, ranks, and a past year's report that does
not change when today's registry changes."""

import datetime
from decimal import Decimal

import pytest

from assessments import compute, selectors
from assessments.evaluate import shown
from assessments.models import ReportRow, ReportRun, RunStatus, Target, TownshipReport
from contracts import services as contracts
from eldercare.accounts.scope import SYSTEM
from institutions import services as registry
from tests.factories import at, make_home, make_hospital

pytestmark = pytest.mark.django_db
D = datetime.date
COUNTY, T1, T2, T3 = "370306000000", "370306001000", "370306100000", "370306200000"
CITY = "370300000000"


def code(seed: str, lead="52") -> str:
    from institutions.credit_code import check_character

    body = f"{lead}370306{seed:0>9}"[:17]
    return body + check_character(body)


def home(name, region, seed, **extra):
    facts = {"opened_on": D(2020, 1, 1), **extra}
    return make_home(name=name, region=region, credit_code=code(seed), **facts)


def hospital(name, region, seed, **extra):
    facts = {"opened_on": D(2015, 1, 1), **extra}
    return make_hospital(name=name, region=region, credit_code=code(seed, "12"), **facts)


def accepted(region, year, **values):
    TownshipReport.objects.create(
        region_id=region, year=year, values=values, accepted_values=values, status="accepted", acceptances=1
    )


@pytest.fixture
def county(regions, monkeypatch):
    """丝绸路街道 T1, 北郊镇 T2, 南郊镇 T3 (no institutions, no report) in 周村区."""
    from tests.factories import RegionFactory

    RegionFactory(code=T3, name="南郊镇", parent_id=COUNTY)
    at(monkeypatch, D(2026, 6, 1))
    m1 = hospital(
        "区人民医院", T1, "1", type="general_hospital", grade="2", green_channel=True, geriatric_dept=True
    )
    hospital("银子社区卫生室", "370306001001", "2", type="village_clinic", family_bed=True)  # green 未填报
    hospital("北郊镇卫生院", T2, "3", type="township_hc", green_channel=False, family_bed=False, hospice=True)
    hospital("区疾控中心", T2, "4", type="public_health", green_channel=True)  # not in GREEN
    h = {
        "h1": home("H1 内设医务室", T1, "11", beds_eldercare=120, beds_nursing=60, internal_unit="infirmary"),
        "h2": home(
            "H2 签约", T1, "12", type="care_home", ownership="private", beds_eldercare=50, beds_nursing=20
        ),
        "h3": home("H3 日间照料", T1, "13", type="day_care", beds_eldercare=None),
        "h4": home("H4 11月注销", T1, "14", ownership="public_private", beds_eldercare=60, beds_nursing=30),
        "h5": home("H5 大院无医", T2, "15", beds_eldercare=200, beds_nursing=150, doctors=0, nurses=0),
        "h6": home("H6 合同11月终止", T2, "16", ownership="private", beds_eldercare=30),
    }
    registry.institution_set_status(
        actor=SYSTEM, institution=h["h4"], status="closed", effective=D(2025, 11, 15)
    )
    year = {"mode": "agreement", "start": D(2025, 1, 1), "end": D(2026, 12, 31)}
    contracts.contract_create(
        actor=SYSTEM, facts={"medical": m1, "eldercare": h["h2"], "agreement_no": "XY-1", **year}
    )
    contracts.contract_create(
        actor=SYSTEM,
        facts={
            "medical": m1,
            "eldercare": h["h6"],
            "agreement_no": "XY-2",
            **year,
            "terminated_on": D(2025, 11, 30),
            "termination_reason": "到期前解除",
        },
    )
    accepted(
        T1,
        2025,
        pop60=1000,
        fd_signed60=800,
        pop65=700,
        health_managed65=560,
        villages=10,
        villages_with_center=7,
        satisfaction=90,
    )
    accepted(
        T2,
        2025,
        pop60=500,
        fd_signed60=300,
        pop65=400,
        health_managed65=300,
        villages=6,
        villages_with_center=4,
        satisfaction=80,
    )
    Target.objects.create(indicator_id="YL_MED_COVERAGE", region_id=COUNTY, year=2023, value=Decimal("100"))
    Target.objects.create(indicator_id="FD_SIGNING_RATE", region_id=CITY, year=2018, value=Decimal("70"))
    Target.objects.create(indicator_id="FD_SIGNING_RATE", region_id=T1, year=2020, value=Decimal("85"))
    Target.objects.create(indicator_id="YL_BEDS", region_id=COUNTY, year=2020, value=Decimal("4200"))
    Target.objects.create(indicator_id="GREEN_CHANNEL_RATE", region_id=COUNTY, year=2018, value=Decimal("90"))
    Target.objects.create(
        indicator_id="GREEN_CHANNEL_RATE", region_id=COUNTY, year=2020, value=Decimal("100")
    )
    return h


def run(year, root=COUNTY):
    r = ReportRun.objects.create(year=year, root_id=root, evaluated_on=compute.evaluation_day(year))
    return compute.run_inline(r)


def cell(r, indicator, region):
    row = ReportRow.objects.get(run=r, indicator_id=indicator, region_id=region)
    return row


def txt(row):
    return shown(row.indicator.unit, row.numerator, row.denominator)


def test_hand_checked_county_2025(county):
    r = run(2025)
    assert r.status == RunStatus.COMPLETE and r.evaluated_on == D(2025, 12, 31)
    assert r.fingerprint and r.facts_count > 0 and r.data_as_of is not None
    c = lambda ind, reg=COUNTY: cell(r, ind, reg)  # noqa: E731

    # Coverage: operating elder care on 31 Dec 2025 = H1 H2 H3 H5 H6 (H4 closed 15 Nov);
    # covered H1 (unit) and H2 (contract); H6's contract ended 30 Nov -> 2/5.
    row = c("YL_MED_COVERAGE")
    assert (row.numerator, row.denominator) == (2, 5) and txt(row) == "40.00"
    assert row.status == "not_attained" and row.attained is False and row.target == 100
    assert shown("percent", row.numerator, row.denominator, minus=row.target) == "-60.00"
    t1 = c("YL_MED_COVERAGE", T1)
    assert (t1.numerator, t1.denominator, txt(t1)) == (2, 3, "66.67")
    assert t1.target == 100 and t1.target_inherited and t1.target_region == COUNTY
    t2, t3 = c("YL_MED_COVERAGE", T2), c("YL_MED_COVERAGE", T3)
    assert (t2.numerator, t2.denominator, txt(t2)) == (0, 2, "0.00")
    assert t3.status == "insufficient_data" and t3.value is None and t3.attained is None  # never 0%
    assert (t1.rank, t2.rank, t3.rank) == (1, 2, None)
    assert row.rank is None  # a county-rooted run has no sibling counties to rank against
    # Family beds 100% (T1's clinic) vs 0% (T2's health centre); geriatrics only in T1.
    assert (c("FAMILY_BED_RATE", T1).rank, c("FAMILY_BED_RATE", T2).rank) == (1, 2)
    assert c("GERIATRIC_DEPT_RATE", T1).rank == 1 and c("GERIATRIC_DEPT_RATE", T2).rank is None

    # 政府办 residential: H1 (public) and H5 (public); H4 closed -> 1/2.
    assert txt(c("GOV_YL_MED_COVERAGE")) == "50.00"
    assert c("GOV_YL_MED_COVERAGE").status == "no_target"
    # Green channel: 区人民医院 yes, 卫生院 no, 卫生室 未填报 (missing), 疾控 excluded -> 1/2, n/m 2/3.
    g = c("GREEN_CHANNEL_RATE")
    assert (g.numerator, g.denominator, txt(g), g.complete_n, g.complete_m) == (1, 2, "50.00", 2, 3)
    assert g.target == 100 and g.target_year == 2020  # 2018's 90 superseded in 2020
    # Family beds: 卫生室 yes, 卫生院 no -> 50%.
    assert txt(c("FAMILY_BED_RATE")) == "50.00"
    # ≥100 beds: H1 (unit) yes, H5 (no unit, no staff) no -> 50%.
    assert txt(c("BIG_YL_MED_UNIT_RATE")) == "50.00"
    assert txt(c("GERIATRIC_DEPT_RATE")) == "100.00"
    # Residential operating: H1 H2 H5 H6 -> 4 institutions, 120+50+200+30 beds.
    assert c("YL_INSTITUTIONS").numerator == 4 and c("YL_INSTITUTIONS").denominator is None
    beds = c("YL_BEDS")
    assert beds.numerator == 120 + 50 + 200 + 30 and beds.status == "not_attained" and beds.target == 4200
    # Nursing: H1 60/120, H2 20/50, H5 150/200, H6 未填报 -> 230/370 = 62.16%, n/m 3/4.
    n = c("NURSING_BED_SHARE")
    assert (n.numerator, n.denominator, txt(n), n.complete_n, n.complete_m) == (230, 370, "62.16", 3, 4)
    assert c("HOSPICE_SERVICES").numerator == 1

    # Reported: T3 has no accepted report -> the county is insufficient (2/3), partial value kept.
    fd = c("FD_SIGNING_RATE")
    assert fd.status == "insufficient_data" and (fd.complete_n, fd.complete_m) == (2, 3)
    assert (fd.numerator, fd.denominator, txt(fd)) == (1100, 1500, "73.33")
    assert fd.target == 70 and fd.target_inherited and fd.target_region == CITY
    fd1 = c("FD_SIGNING_RATE", T1)
    assert (
        txt(fd1) == "80.00" and fd1.target == 85 and not fd1.target_inherited and fd1.status == "not_attained"
    )
    fd2 = c("FD_SIGNING_RATE", T2)
    assert txt(fd2) == "60.00" and fd2.status == "not_attained" and fd2.target == 70
    assert c("FD_SIGNING_RATE", T3).status == "insufficient_data"
    assert txt(c("SATISFACTION", T1)) == "90.00" and txt(c("VILLAGE_CENTER_RATE", T2)) == "66.67"

    # The API-facing selector: the county and its direct children.
    assert selectors.latest_run(2025, T1) == r
    regions = {row.region_id for row in selectors.attainment_rows(r, COUNTY)}
    assert regions == {COUNTY, T1, T2, T3}


def test_history_cases_2024(county):
    """On 31 Dec 2024 H4 still operated and H2's contract had not begun."""
    r = run(2024)
    row = cell(r, "YL_MED_COVERAGE", COUNTY)
    # H1 H3 H4 H5 H6 operating (H2 too) -> 6; covered H1 only (contracts start 2025) -> 1/6.
    assert (row.numerator, row.denominator, txt(row)) == (1, 6, "16.67")
    assert cell(r, "GOV_YL_MED_COVERAGE", COUNTY).denominator == 3  # H1 H4 H5
    assert cell(r, "FD_SIGNING_RATE", T1).status == "insufficient_data"  # no 2024 report


def test_past_year_stays_put_when_today_changes(county, monkeypatch):
    first = run(2025)
    before = {(x.indicator_id, x.region_id): (x.numerator, x.denominator) for x in first.rows.all()}
    # Today (2026-06-01) H5 gains an internal unit and a new home opens.
    registry.institution_change(actor=SYSTEM, institution=county["h5"], changes={"internal_unit": "clinic"})
    home("H7 新开", T2, "17", opened_on=D(2026, 6, 1))
    second = run(2025)
    after = {(x.indicator_id, x.region_id): (x.numerator, x.denominator) for x in second.rows.all()}
    assert before == after and second.fingerprint == first.fingerprint
    # ... while this year's report sees them.
    now = run(2026)
    row = cell(now, "YL_MED_COVERAGE", COUNTY)
    # H1 H2 H3 H5 H6 H7 operating; covered H1 (unit), H2 (contract to 2026-12-31), H5 (unit now).
    assert (row.numerator, row.denominator) == (3, 6) and now.evaluated_on == D(2026, 6, 1)
