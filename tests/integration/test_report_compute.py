"""Target-attainment reports on the real database (issue 7): a hand-checked county where every
indicator and region was worked out by hand (the figures in the comments), the as-of-date
history cases, insufficient data, inherited targets, ranks, and a past year's report that does
not change when today's registry changes."""

import datetime

import pytest

from assessments import selectors
from assessments.evaluate import shown
from assessments.models import ReportRow, RunStatus
from eldercare.accounts.scope import SYSTEM
from institutions import services as registry
from tests.report_fixtures import CITY, COUNTY, T1, T2, T3, build_county, home, run

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def county(regions, monkeypatch):
    """丝绸路街道 T1, 北郊镇 T2, 南郊镇 T3 (no institutions, no report) in 周村区
    (tests/report_fixtures.py)."""
    return build_county(monkeypatch)


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
    # A count target is the county's own total: its townships do not inherit it.
    t1_beds = c("YL_BEDS", T1)
    assert t1_beds.numerator == 170 and t1_beds.target is None and t1_beds.status == "no_target"
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
