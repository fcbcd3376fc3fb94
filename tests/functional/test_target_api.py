"""`/api/v1/indicators/`, `/api/v1/targets/`, `/api/v1/target-templates/` (issue 7): the catalogue
and its weights, targets set, changed and removed by the health bureau, the targets in force
(own or inherited), applying a template (dry run, then for real, then nothing to do); scope — a
township user reads its own targets but writes none, health of another county gets 404 — and
the shared error shape."""

import pytest
from django.test import Client

from assessments.models import Target, TargetTemplate
from tests.functional.test_filing_api import Api

pytestmark = pytest.mark.django_db
COUNTY, TOWN, OTHER = "370306000000", "370306100000", "370307000000"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    settings.PORTAL_API_TOKEN_HOURS = 24 * 365
    from assessments import recompute

    monkeypatch.setattr(recompute, "touch_region", lambda code, years: None)


class TargetApi(Api):
    def delete(self, url):
        return self.client.delete(url, **self.headers)


@pytest.fixture
def api(make_user):
    make_user("health1", "health", COUNTY)
    make_user("health2", "health", OTHER)
    make_user("bj_town", "township", TOWN)
    make_user("silk_town", "township", "370306001000")
    make_user("fin1", "finance", COUNTY)
    cache = {}

    def get(username):
        return cache.setdefault(username, TargetApi(username))

    return get


def tpl(doc_no):
    return TargetTemplate.objects.get(doc_no=doc_no)


# -- indicators ---------------------------------------------------------------------------------------
def test_indicators_list_and_retrieve(api):
    resp = api("bj_town").get("/api/v1/indicators/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 14 and {"count", "next", "previous", "results"} <= set(body)
    codes = [r["code"] for r in body["results"]]
    assert codes[0] == "YL_MED_COVERAGE" and "HOSPICE_SERVICES" in codes
    one = api("bj_town").get("/api/v1/indicators/FD_SIGNING_RATE/").json()
    assert one["source"] == "reported" and one["reported_denominator"] == "pop60" and one["unit"] == "percent"
    assert api("bj_town").get("/api/v1/indicators/NOPE/").status_code == 404


def test_health_patches_a_weight(api):
    resp = api("health1").patch("/api/v1/indicators/SATISFACTION/", {"weight": "2.5"})
    assert resp.status_code == 200 and resp.json()["weight"] == "2.50"
    bad = api("health1").patch("/api/v1/indicators/SATISFACTION/", {"weight": "-1"})
    assert bad.status_code == 400 and "weight" in bad.json()["errors"] and bad.json()["detail"]
    assert api("bj_town").patch("/api/v1/indicators/SATISFACTION/", {"weight": "3"}).status_code == 403
    assert api("fin1").patch("/api/v1/indicators/SATISFACTION/", {"weight": "3"}).status_code == 403


# -- targets ------------------------------------------------------------------------------------------
def test_health_creates_updates_and_deletes_a_target(api):
    h = api("health1")
    resp = h.post(
        "/api/v1/targets/",
        {
            "indicator": "HOSPICE_SERVICES",
            "region": COUNTY,
            "year": 2025,
            "value": 3,
            "source_doc": "东政办〔2022〕42号",
            "clause": "四(一)",
        },
    )
    assert resp.status_code == 201, resp.content
    t = resp.json()
    assert (
        t["value"] == 3
        and t["region"] == COUNTY
        and t["region_name"] == "周村区"
        and t["set_by"] == "health1"
    )
    # the same indicator, region and year again: the existing target changes (200)
    again = h.post(
        "/api/v1/targets/", {"indicator": "HOSPICE_SERVICES", "region": COUNTY, "year": 2025, "value": 4}
    )
    assert again.status_code == 200 and again.json()["id"] == t["id"] and again.json()["value"] == 4
    resp = h.patch(f"/api/v1/targets/{t['id']}/", {"value": "5"})
    assert resp.status_code == 200 and resp.json()["value"] == 5
    rate = h.post(
        "/api/v1/targets/", {"indicator": "YL_MED_COVERAGE", "region": TOWN, "year": 2024, "value": "80"}
    )
    assert rate.status_code == 201 and rate.json()["value"] == "80.00"
    assert h.delete(f"/api/v1/targets/{t['id']}/").status_code == 204
    assert not Target.objects.filter(pk=t["id"]).exists()


def test_bad_target_is_a_chinese_400(api):
    h = api("health1")
    resp = h.post(
        "/api/v1/targets/", {"indicator": "YL_INSTITUTIONS", "region": COUNTY, "year": 2025, "value": "2.5"}
    )
    assert resp.status_code == 400 and "整数" in resp.json()["errors"]["value"][0]
    resp = h.post("/api/v1/targets/", {"indicator": "NOPE", "region": COUNTY, "year": 2025, "value": "1"})
    assert resp.status_code == 400 and "indicator" in resp.json()["errors"]
    resp = h.post("/api/v1/targets/", {"indicator": "YL_BEDS", "region": OTHER, "year": 2025, "value": "1"})
    assert resp.status_code == 400 and "region" in resp.json()["errors"]
    resp = h.post("/api/v1/targets/", {"indicator": "YL_BEDS", "region": COUNTY})
    assert resp.status_code == 400 and {"year", "value"} <= set(resp.json()["errors"])
    assert not Target.objects.exists()


def test_list_filters(api):
    h = api("health1")
    for body in (
        {"indicator": "YL_BEDS", "region": COUNTY, "year": 2020, "value": 4200},
        {"indicator": "YL_BEDS", "region": COUNTY, "year": 2025, "value": 4500},
        {"indicator": "GREEN_CHANNEL_RATE", "region": TOWN, "year": 2020, "value": 95},
    ):
        assert h.post("/api/v1/targets/", body).status_code == 201

    def got(q):
        return [
            (r["indicator"], r["region"], r["year"]) for r in h.get(f"/api/v1/targets/{q}").json()["results"]
        ]

    assert len(got("")) == 3
    assert got("?indicator=YL_BEDS&year=2025") == [("YL_BEDS", COUNTY, 2025)]
    assert got(f"?region={TOWN}") == [("GREEN_CHANNEL_RATE", TOWN, 2020)]
    assert h.get("/api/v1/targets/?region=abc").status_code == 400
    assert h.get("/api/v1/targets/?year=x").status_code == 400


def test_township_reads_its_own_and_what_it_inherits_but_writes_nothing(api):
    h, town = api("health1"), api("bj_town")
    county_t = h.post(
        "/api/v1/targets/", {"indicator": "YL_BEDS", "region": COUNTY, "year": 2020, "value": 4200}
    ).json()
    own = h.post(
        "/api/v1/targets/", {"indicator": "GREEN_CHANNEL_RATE", "region": TOWN, "year": 2020, "value": 95}
    ).json()
    h.post(
        "/api/v1/targets/",
        {"indicator": "GREEN_CHANNEL_RATE", "region": "370306001000", "year": 2020, "value": 90},
    )
    listed = town.get("/api/v1/targets/").json()
    assert [r["id"] for r in listed["results"]] == [own["id"]]
    assert town.get(f"/api/v1/targets/{own['id']}/").status_code == 200
    assert town.get(f"/api/v1/targets/{county_t['id']}/").status_code == 404
    resolved = {
        r["indicator"]: r for r in town.get(f"/api/v1/targets/resolved/?region={TOWN}&year=2021").json()
    }
    # The county's 4,200 beds is its own total, not the township's target (counts do not inherit).
    assert resolved["YL_BEDS"]["target"] is None and resolved["YL_BEDS"]["target_inherited"] is False
    assert (
        resolved["GREEN_CHANNEL_RATE"]["target"] == "95.00"
        and not resolved["GREEN_CHANNEL_RATE"]["target_inherited"]
    )
    assert resolved["HOSPICE_SERVICES"]["target"] is None
    assert town.get(f"/api/v1/targets/resolved/?region={COUNTY}").status_code == 404
    # writes: 403
    assert (
        town.post(
            "/api/v1/targets/", {"indicator": "YL_BEDS", "region": TOWN, "year": 2025, "value": 1}
        ).status_code
        == 403
    )
    assert town.patch(f"/api/v1/targets/{own['id']}/", {"value": "1"}).status_code == 403
    assert town.delete(f"/api/v1/targets/{own['id']}/").status_code == 403
    assert Target.objects.get(pk=own["id"]).value == 95


def test_health_of_another_county_gets_404(api):
    t = (
        api("health1")
        .post("/api/v1/targets/", {"indicator": "YL_BEDS", "region": COUNTY, "year": 2020, "value": 1})
        .json()
    )
    other = api("health2")
    assert other.get(f"/api/v1/targets/{t['id']}/").status_code == 404
    assert other.patch(f"/api/v1/targets/{t['id']}/", {"value": "2"}).status_code == 404
    assert other.delete(f"/api/v1/targets/{t['id']}/").status_code == 404
    assert other.get("/api/v1/targets/").json()["count"] == 0
    assert other.get(f"/api/v1/targets/resolved/?region={COUNTY}").status_code == 404
    assert Target.objects.get(pk=t["id"]).value == 1


def test_anonymous_is_refused():
    assert Client().get("/api/v1/targets/").status_code in (401, 403)


# -- templates ------------------------------------------------------------------------------------------
def test_templates_list_and_retrieve(api):
    body = api("bj_town").get("/api/v1/target-templates/").json()
    assert body["count"] == 6
    t = api("bj_town").get(f"/api/v1/target-templates/{tpl('周政办字〔2017〕109号').pk}/").json()
    items = {(i["indicator"], i["year"]): i for i in t["items"]}
    assert items[("YL_BEDS", 2020)]["value"] == 4200
    assert items[("YL_MED_COVERAGE", 2020)]["value"] == "100.00"
    assert items[("YL_BEDS", 2020)]["clause"].startswith("一 ")
    assert t["seed_file"] == "000_a6a1084fb0cf220e.txt" and t["place"] == "山东省淄博市周村区"
    assert api("bj_town").get("/api/v1/target-templates/99999/").status_code == 404


def test_apply_dry_run_then_apply_then_nothing(api):
    h = api("health1")
    url = f"/api/v1/target-templates/{tpl('冯政发〔2018〕24号').pk}/apply/"
    dry = h.post(url, {"region": TOWN, "dry_run": True})
    assert dry.status_code == 200, dry.content
    assert (dry.json()["created"], dry.json()["dry_run"]) == (8, True) and not Target.objects.exists()
    done = h.post(url, {"region": TOWN}).json()
    assert (done["created"], done["updated"], done["unchanged"]) == (8, 0, 0)
    assert all(r["id"] for r in done["targets"])
    fd = next(r for r in done["targets"] if r["indicator"] == "FD_SIGNING_RATE" and r["year"] == 2018)
    assert fd["value"] == "70.00" and fd["action"] == "create"
    again = h.post(url, {"region": TOWN}).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 8)
    assert Target.objects.filter(region_id=TOWN).count() == 8


def test_apply_reports_what_it_replaces(api):
    h = api("health1")
    h.post("/api/v1/targets/", {"indicator": "YL_BEDS", "region": COUNTY, "year": 2020, "value": 3000})
    url = f"/api/v1/target-templates/{tpl('周政办字〔2017〕109号').pk}/apply/"
    dry = h.post(url, {"region": COUNTY, "dry_run": True}).json()
    beds = next(r for r in dry["targets"] if r["indicator"] == "YL_BEDS")
    assert beds["action"] == "update" and beds["previous"] == 3000 and beds["value"] == 4200


def test_apply_scope_and_roles(api):
    url = f"/api/v1/target-templates/{tpl('周政办字〔2017〕109号').pk}/apply/"
    assert api("bj_town").post(url, {"region": TOWN}).status_code == 403
    assert api("fin1").post(url, {"region": COUNTY}).status_code == 403
    resp = api("health2").post(url, {"region": COUNTY})
    assert resp.status_code == 400 and "region" in resp.json()["errors"]
    assert api("health1").post(url, {}).status_code == 400
    assert not Target.objects.exists()
