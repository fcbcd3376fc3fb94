"""`GET /api/v1/reports/attainment/` (CONTRACT.md) on the hand-checked county: the row shape,
strings for rates and integers for counts, empty before any computation, scope (404 outside, a
township user's own rows), 400s in the shared error shape, and rows built directly (no
computation) for the shapes the fixture does not reach."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from assessments.models import Indicator, ReportRow, ReportRun, RunStatus
from tests.report_fixtures import COUNTY, T1, T2, T3

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/attainment/"
CONTRACT_KEYS = {
    "indicator",
    "region",
    "year",
    "value",
    "numerator",
    "denominator",
    "target",
    "target_inherited",
    "attained",
    "gap",
    "rank",
    "status",
    "completeness",
}


def get(client, user, login, query="", status=200):
    login(client, user)
    resp = client.get(URL + query)
    assert resp.status_code == status, (query, resp.status_code, resp.content[:300])
    return resp.json()


def by_key(body) -> dict:
    return {(r["indicator"], r["region"]): r for r in body["results"]}


def test_the_contract_shape_and_types(report, health, client, login):
    body = get(client, health, login, f"?year=2025&region={COUNTY}&page_size=500")
    assert set(body) == {"count", "next", "previous", "results"}
    rows = by_key(body)
    assert {r for _i, r in rows} == {COUNTY, T1, T2, T3}
    indicators = Indicator.objects.filter(active=True).count()
    assert body["count"] == len(body["results"]) == 4 * indicators  # × the county and its 3 townships
    for row in body["results"]:
        assert CONTRACT_KEYS <= set(row)
        assert set(row["completeness"]) == {"n", "m"}
        assert row["run"] == report.pk and row["year"] == 2025 and row["data_as_of"]
    cov = rows[("YL_MED_COVERAGE", COUNTY)]
    assert {k: cov[k] for k in CONTRACT_KEYS} == {
        "indicator": "YL_MED_COVERAGE",
        "region": COUNTY,
        "year": 2025,
        "value": "40.00",
        "numerator": 2,
        "denominator": 5,
        "target": "100.00",
        "target_inherited": False,
        "attained": False,
        "gap": "-60.00",
        "rank": None,
        "status": "not_attained",
        "completeness": {"n": 5, "m": 5},
    }
    t1 = rows[("YL_MED_COVERAGE", T1)]
    assert (t1["value"], t1["target_inherited"], t1["rank"], t1["gap"]) == ("66.67", True, 1, "-33.33")
    t3 = rows[("YL_MED_COVERAGE", T3)]
    assert (t3["value"], t3["attained"], t3["gap"], t3["status"], t3["rank"]) == (
        None,
        None,
        None,
        "insufficient_data",
        None,
    )
    # Counts: integers, numerator = the count, denominator null; the target an integer too.
    beds = rows[("YL_BEDS", COUNTY)]
    assert (beds["value"], beds["numerator"], beds["denominator"], beds["target"], beds["gap"]) == (
        400,
        400,
        None,
        4200,
        -3800,
    )
    insts = rows[("YL_INSTITUTIONS", COUNTY)]
    assert (insts["value"], insts["numerator"], insts["denominator"], insts["target"], insts["status"]) == (
        4,
        4,
        None,
        None,
        "no_target",
    )
    fd = rows[("FD_SIGNING_RATE", COUNTY)]
    assert (fd["value"], fd["status"], fd["completeness"], fd["target"], fd["target_inherited"]) == (
        "73.33",
        "insufficient_data",
        {"n": 2, "m": 3},
        "70.00",
        True,
    )
    assert fd["attained"] is None and fd["gap"] is None
    assert rows[("SATISFACTION", T1)]["value"] == "90.00"


def test_empty_before_any_computation(county, health, client, login):
    body = get(client, health, login, f"?year=2025&region={COUNTY}")
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on=datetime.date(2025, 12, 31))  # pending
    assert get(client, health, login, "?year=2025")["count"] == 0


def test_defaults_and_township_scope(report, make_user, client, login):
    silk = make_user("silk_town", "township", T1)
    body = get(client, silk, login, "?year=2025")
    assert {r["region"] for r in body["results"]} == {T1}
    assert body["count"] == Indicator.objects.filter(active=True).count()
    get(client, silk, login, f"?year=2025&region={COUNTY}", 404)
    get(client, silk, login, f"?year=2025&region={T2}", 404)
    assert get(client, silk, login, "")["count"] == 0  # this year (2026): not computed yet


def test_another_county_is_404(report, make_user, client, login):
    other = make_user("other", "health", "370307000000")
    body = get(client, other, login, f"?year=2025&region={COUNTY}", 404)
    assert "detail" in body
    get(client, other, login, "?year=2025&region=370306001000", 404)
    assert get(client, other, login, "?year=2025")["count"] == 0


@pytest.mark.parametrize(
    "query,field",
    [
        ("?year=20x5", "year"),
        ("?year=1999", "year"),
        ("?year=2031", "year"),
        ("?region=3703", "region"),
        ("?region=abcdefghijkl", "region"),
    ],
)
def test_bad_parameters_are_400_in_the_shared_shape(county, health, client, login, query, field):
    body = get(client, health, login, query, 400)
    assert set(body) == {"detail", "errors"} and field in body["errors"] and body["detail"]


def test_unknown_region_is_404(county, health, client, login):
    get(client, health, login, "?year=2025&region=370306999000", 404)


def test_needs_sign_in_and_the_permission(report, make_user, client, login):
    assert Client().get(URL).status_code in (401, 403)
    get(client, make_user("norole", None, COUNTY), login, "?year=2025", 403)


def test_rows_built_directly_decimals_and_scores(regions, health, client, login):
    """Without the computation: a reported rate with decimal figures and a score."""
    run_ = ReportRun.objects.create(
        year=2024,
        root_id=COUNTY,
        evaluated_on=datetime.date(2024, 12, 31),
        status=RunStatus.COMPLETE,
        finished_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        data_as_of=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
    )
    common = {"run": run_, "region_id": COUNTY, "level": 3, "parent_code": "370300000000"}
    ReportRow.objects.create(
        **common,
        indicator_id="HEALTH_MGMT_RATE",
        numerator=Decimal("2.5"),
        denominator=Decimal("3"),
        value=Decimal("83.333333"),
        target=Decimal("75"),
        attained=True,
        gap=Decimal("8.333333"),
        status="attained",
        complete_n=2,
        complete_m=2,
    )
    ReportRow.objects.create(
        **common,
        indicator_id="SATISFACTION",
        numerator=Decimal("170"),
        denominator=Decimal("2"),
        value=Decimal("85"),
        status="no_target",
        complete_n=2,
        complete_m=2,
    )
    rows = by_key(get(client, health, login, "?year=2024"))
    hm = rows[("HEALTH_MGMT_RATE", COUNTY)]
    assert (hm["value"], hm["numerator"], hm["denominator"], hm["target"], hm["gap"], hm["attained"]) == (
        "83.33",
        "2.50",
        3,
        "75.00",
        "8.33",
        True,
    )
    sat = rows[("SATISFACTION", COUNTY)]
    assert (sat["value"], sat["numerator"], sat["denominator"], sat["target"]) == ("85.00", 170, 2, None)


def test_the_schema_documents_the_endpoint(health, client, login):
    login(client, health)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/reports/attainment/" in text and "AttainmentRow" in text
