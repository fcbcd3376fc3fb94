"""The hand-checked county of the report tests (issue 7), shared by the computation's integration
test, the report pages, the API and the browser test.

丝绸路街道 T1, 北郊镇 T2 and 南郊镇 T3 (no institutions, no report) in 周村区, with "today" frozen
at 2026-06-01. The figures each test expects are worked out by hand in
tests/integration/test_report_compute.py (e.g. 2025: YL_MED_COVERAGE 2/5 = 40.00% for the county,
2/3 = 66.67% for T1, 0/2 for T2, 数据不足 for T3; the uncovered homes H3, H5, H6)."""

import datetime
from decimal import Decimal

from assessments import compute
from assessments.models import ReportRun, Target, TownshipReport
from contracts import services as contracts
from eldercare.accounts.scope import SYSTEM
from institutions import services as registry
from tests.factories import RegionFactory, at, make_home, make_hospital

D = datetime.date
COUNTY, T1, T2, T3 = "370306000000", "370306001000", "370306100000", "370306200000"
CITY = "370300000000"
TODAY = D(2026, 6, 1)


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


def build_county(monkeypatch) -> dict:
    """The county's registry, contracts, township reports and targets (the region tree of
    tests.factories.make_tree must exist). Returns the elder-care homes by key h1 … h6."""
    RegionFactory(code=T3, name="南郊镇", parent_id=COUNTY)
    at(monkeypatch, TODAY)
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


def run(year, root=COUNTY) -> ReportRun:
    """A report version computed in this process (compute.run_inline)."""
    r = ReportRun.objects.create(year=year, root_id=root, evaluated_on=compute.evaluation_day(year))
    return compute.run_inline(r)
