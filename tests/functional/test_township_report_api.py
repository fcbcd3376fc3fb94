"""`/api/v1/township-reports/` (issue 7, CONTRACT.md "township reports: CRUD and workflow
actions"): a township creates and PATCHes its report, submits; a county officer accepts it
(locked: a PATCH is 409), reopens it with a comment, re-accepts; the shared error shape for 400
(errors per field code), 403 (role) and 409 (state, already accepted); filters; other
townships' reports are 404 on every read and write path."""

import datetime

import pytest

from assessments.models import ReportStatus, TownshipReport
from tests.factories import at
from tests.functional.test_filing_api import Api

pytestmark = pytest.mark.django_db
D = datetime.date
URL = "/api/v1/township-reports/"
SILK, BEIJIAO, COUNTY = "370306001000", "370306100000", "370306000000"
FULL = {
    "pop60": 1200,
    "fd_signed60": 900,
    "pop65": 950,
    "health_managed65": 720,
    "villages": 2,
    "villages_with_center": 2,
    "satisfaction": 93.5,
}


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    settings.PORTAL_API_TOKEN_HOURS = 24 * 365
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = False
    at(monkeypatch, D(2026, 1, 20))


@pytest.fixture
def api(make_user):
    make_user("silk_town", "township", SILK)
    make_user("bj_town", "township", BEIJIAO)
    make_user("civil1", "civil", COUNTY)
    make_user("health1", "health", COUNTY)
    make_user("fin1", "finance", COUNTY)
    cache = {}

    def get(username):
        return cache.setdefault(username, Api(username))

    return get


def act(client, pk, action, comment=""):
    return client.post(f"{URL}{pk}/transitions/", {"action": action, "comment": comment})


def test_create_patch_submit_accept_lock_reopen_reaccept(api):
    town, civil = api("silk_town"), api("civil1")
    resp = town.post(URL, {"region": SILK, "year": 2025, "values": {"pop60": "1,200", "fd_signed60": 900}})
    assert resp.status_code == 201, resp.content
    data = resp.json()
    pk = data["id"]
    assert (data["region"], data["region_name"], data["status"], data["values"]) == (
        SILK,
        "丝绸路街道",
        "draft",
        {"pop60": 1200, "fd_signed60": 900},
    )
    assert data["actions"] == ["edit", "submit"] and data["accepted_values"] is None
    # a second create for the same township and year
    resp = town.post(URL, {"region": SILK, "year": 2025})
    assert resp.status_code == 400 and "已存在" in resp.json()["errors"]["year"][0]

    resp = town.patch(f"{URL}{pk}/", {"values": {"fd_signed60": 1300}})
    assert resp.status_code == 400
    err = resp.json()
    assert "不能大于“60岁以上常住老年人数”（1,200）" in err["errors"]["fd_signed60"][0] and err["detail"]
    resp = town.patch(
        f"{URL}{pk}/", {"values": {k: v for k, v in FULL.items() if k not in ("pop60", "fd_signed60")}}
    )
    assert resp.status_code == 200 and resp.json()["values"] == FULL

    resp = act(town, pk, "submit")
    assert resp.status_code == 200 and resp.json()["status"] == "submitted"
    assert act(town, pk, "accept").status_code == 403
    resp = act(civil, pk, "accept")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert (data["status"], data["accepted_values"], data["accepted_by"], data["acceptances"]) == (
        "accepted",
        FULL,
        "civil1",
        1,
    )
    resp = act(api("health1"), pk, "accept")
    assert resp.status_code == 409 and "已被他人审核" in resp.json()["detail"]
    resp = town.patch(f"{URL}{pk}/", {"values": {"pop60": 1300}})
    assert resp.status_code == 409 and "已审核锁定，如需更正请县级退回" in resp.json()["detail"]
    assert resp.json()["code"] == "locked"

    resp = act(civil, pk, "reopen")
    assert resp.status_code == 400 and "原因" in resp.json()["detail"]
    resp = act(civil, pk, "reopen", "签约人数按季度台账核对")
    assert resp.status_code == 200
    data = resp.json()
    assert (data["status"], data["reopened_reason"], data["accepted_values"]) == (
        "reopened",
        "签约人数按季度台账核对",
        FULL,
    )
    resp = town.patch(f"{URL}{pk}/", {"values": {"fd_signed60": 880}})
    assert resp.json()["changed_since_accepted"] is True
    act(town, pk, "submit")
    data = act(civil, pk, "accept").json()
    assert (data["acceptances"], data["previous_accepted_values"], data["changed_since_accepted"]) == (
        2,
        FULL,
        True,
    )
    assert act(civil, pk, "submit").status_code == 409


def test_list_filters_and_scope(api):
    town, bj, civil = api("silk_town"), api("bj_town"), api("civil1")
    silk_pk = town.post(URL, {"region": SILK, "year": 2025, "values": {"pop60": 1}}).json()["id"]
    bj_pk = bj.post(URL, {"region": BEIJIAO, "year": 2024, "values": {"pop60": 2}}).json()["id"]
    resp = act(bj, bj_pk, "submit")  # a pair must be whole to submit
    assert resp.status_code == 400 and "须同时填写“家庭医生签约60岁以上老年人数”" in resp.json()["detail"]
    bj.patch(f"{URL}{bj_pk}/", {"values": {"fd_signed60": 1}})
    assert act(bj, bj_pk, "submit").status_code == 200
    assert [r["id"] for r in town.get(URL).json()["results"]] == [silk_pk]
    data = civil.get(URL).json()
    assert data["count"] == 2 and {"count", "next", "previous", "results"} <= set(data)
    assert [r["id"] for r in civil.get(URL + "?year=2024").json()["results"]] == [bj_pk]
    assert [r["id"] for r in civil.get(URL + "?status=submitted").json()["results"]] == [bj_pk]
    assert [r["id"] for r in civil.get(URL + f"?region={SILK}").json()["results"]] == [silk_pk]
    for bad in ("?year=x", "?status=done", "?region=123"):
        resp = civil.get(URL + bad)
        assert resp.status_code == 400, bad
    # another township's report: 404 on every path
    assert town.get(f"{URL}{bj_pk}/").status_code == 404
    assert town.patch(f"{URL}{bj_pk}/", {"values": {"pop60": 3}}).status_code == 404
    assert act(town, bj_pk, "submit").status_code == 404
    assert api("fin1").get(URL).status_code == 403
    # creating for another township or a county-level region: not found in scope
    resp = town.post(URL, {"region": BEIJIAO, "year": 2025})
    assert resp.status_code == 400 and "找不到" in resp.json()["errors"]["region"][0]
    resp = civil.post(URL, {"region": COUNTY, "year": 2025})
    assert resp.status_code == 400
    assert TownshipReport.objects.get(pk=bj_pk).values == {"pop60": 2, "fd_signed60": 1}
    # bad body
    resp = town.post(f"{URL}{silk_pk}/transitions/", {"action": "approve"})
    assert resp.status_code == 400 and "action" in resp.json()["errors"]
    resp = town.patch(f"{URL}{silk_pk}/", {"values": {"satisfaction": "很好"}})
    assert resp.status_code == 400 and "不是数字" in resp.json()["errors"]["satisfaction"][0]
    assert TownshipReport.objects.get(pk=silk_pk).status == ReportStatus.DRAFT


def test_schema_documents_the_endpoint(api):
    resp = api("civil1").client.get("/api/schema/", **api("civil1").headers)
    assert resp.status_code == 200
    assert b"/api/v1/township-reports/{id}/transitions/" in resp.content
