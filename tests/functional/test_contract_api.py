"""`/api/v1/contracts/` (issue 5): create with parties by code, read, change, terminate, visits,
file → approve through `/api/v1/filings/` → 已备案 and in coverage; scope 404; Chinese 400s."""

import datetime

import pytest

from tests.factories import FILING_FIXTURES, at, make_home, make_hospital
from tests.functional.test_filing_api import Api

pytestmark = pytest.mark.django_db
D = datetime.date
URL = "/api/v1/contracts/"


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_API_TOKEN_HOURS = 24 * 365


@pytest.fixture
def api(make_user):
    make_user("bj_town", "township", "370306100000")
    make_user("silk_town", "township", "370306001000")
    make_user("civil1", "civil", "370306000000")
    make_user("fin1", "finance", "370306000000")
    cache = {}

    def get(username):
        return cache.setdefault(username, Api(username))

    return get


@pytest.fixture
def parties(regions):
    return make_hospital(), make_home()


def body(hospital, home, **extra):
    return {
        "agreement_no": "BJ-2026-01",
        "medical": hospital.credit_code,
        "eldercare": home.portal_no,
        "mode": "agreement",
        "services": ["visits", "checkup"],
        "visit_frequency": "monthly",
        "start": "2026-01-01",
        "end": "2026-12-31",
        **extra,
    }


def test_a_township_signs_files_and_the_home_is_covered(api, parties, monkeypatch):
    hospital, home = parties
    town, civil = api("bj_town"), api("civil1")
    at(monkeypatch, D(2026, 3, 2))
    resp = town.post(URL, body(hospital, home))
    assert resp.status_code == 201, resp.content
    c = resp.json()
    assert (c["status"], c["status_label"], c["filed"]) == ("active", "生效中", False)
    assert c["medical"] == {
        "id": hospital.pk,
        "portal_no": hospital.portal_no,
        "credit_code": hospital.credit_code,
        "name": hospital.name,
    }
    filing = town.post(f"{URL}{c['id']}/file/").json()
    with open(FILING_FIXTURES / "application.pdf", "rb") as fh:
        town.client.post(
            f"/api/v1/filings/{filing['filing']}/attachments/",
            {"requirement": "agreement", "file": fh},
            **town.headers,
        )
    assert town.act(filing["filing"], "submit").status_code == 200
    assert civil.act(filing["filing"], "accept").status_code == 200
    assert civil.act(filing["filing"], "approve").status_code == 200
    c = civil.get(f"{URL}{c['id']}/").json()
    assert c["filed"] is True and c["filed_on"] == "2026-03-02"
    rows = {r["name"]: r for r in civil.get(f"{URL}coverage/?date=2026-12-31").json()["results"]}
    assert rows[home.name]["covered"] is True and rows[home.name]["routes"] == ["医养签约"]
    assert civil.get(f"{URL}coverage/?date=2027-01-01").json()["results"][0]["covered"] is False


def test_change_terminate_and_visits(api, parties, monkeypatch):
    hospital, home = parties
    civil = api("civil1")
    pk = civil.post(URL, body(hospital, home)).json()["id"]
    resp = civil.patch(f"{URL}{pk}/", {"end": "2027-06-30"})
    assert resp.status_code == 200 and resp.json()["end"] == "2027-06-30"
    at(monkeypatch, D(2026, 10, 20))
    resp = civil.post(f"{URL}{pk}/visits/", {"date": "2026-10-09", "persons": 18})
    assert resp.status_code == 201 and resp.json()["persons"] == 18
    resp = civil.post(f"{URL}{pk}/visits/", {"date": "2026-10-09"})
    assert resp.status_code == 400 and "已有该协议的巡诊记录" in resp.json()["detail"]
    resp = civil.post(f"{URL}{pk}/terminate/", {"terminated_on": "2026-11-15", "reason": "养老院停业整顿"})
    assert resp.status_code == 200 and resp.json()["terminated_on"] == "2026-11-15"
    assert resp.json()["status"] == "active"  # today (frozen) is 10-20: still in force
    assert len(civil.get(f"{URL}{pk}/").json()["visits"]) == 1


def test_bad_input_is_a_chinese_400(api, parties):
    hospital, home = parties
    civil = api("civil1")
    resp = civil.post(URL, body(hospital, home, end="2025-12-31"))
    assert resp.status_code == 400 and resp.json()["errors"]["end"] == ["结束日期应晚于开始日期。"]
    resp = civil.post(URL, body(hospital, home, medical="91000000000000000X"))
    assert resp.status_code == 400 and "找不到医疗卫生机构" in resp.json()["detail"]
    resp = civil.post(URL, body(hospital, home, mode="handshake"))
    assert resp.status_code == 400 and resp.json()["detail"].startswith("mode：")
    assert civil.post(URL, body(hospital, home)).status_code == 201
    resp = civil.post(URL, body(hospital, home))
    assert resp.status_code == 400 and "已有协议编号" in resp.json()["detail"]


def test_scope(api, parties):
    hospital, home = parties
    pk = api("civil1").post(URL, body(hospital, home)).json()["id"]
    silk = api("silk_town")
    assert silk.get(f"{URL}{pk}/").status_code == 404
    assert silk.patch(f"{URL}{pk}/", {"end": "2027-01-01"}).status_code == 404
    assert silk.post(f"{URL}{pk}/terminate/", {"terminated_on": "2026-06-01"}).status_code == 404
    assert silk.get(URL).json()["results"] == [] and silk.get(f"{URL}coverage/").json()["results"] == []
    # A township cannot sign for another township's home (the lookup is scoped).
    resp = silk.post(URL, body(hospital, home, agreement_no="X"))
    assert resp.status_code == 400 and "找不到养老机构" in resp.json()["detail"]
    fin = api("fin1")
    assert fin.get(f"{URL}{pk}/").status_code == 200
    assert fin.patch(f"{URL}{pk}/", {"end": "2027-01-01"}).status_code == 403
    assert fin.post(URL, body(hospital, home, agreement_no="Y")).status_code == 403


def test_list_filters(api, parties, monkeypatch):
    hospital, home = parties
    civil = api("civil1")
    civil.post(URL, body(hospital, home))
    civil.post(URL, body(hospital, home, agreement_no="BJ-2027-01", start="2027-01-01", end="2027-12-31"))
    at(monkeypatch, D(2026, 12, 10))
    assert [c["agreement_no"] for c in civil.get(f"{URL}?status=expiring").json()["results"]] == [
        "BJ-2026-01"
    ]
    assert [c["agreement_no"] for c in civil.get(f"{URL}?status=not_started").json()["results"]] == [
        "BJ-2027-01"
    ]
    assert civil.get(f"{URL}?township=370306001000").json()["count"] == 0
    assert civil.get(f"{URL}?q=BJ-2027").json()["count"] == 1


def test_list_parameters_are_checked_and_today_is_not_the_clients(api, parties):
    civil = api("civil1")
    for query in ("?medical=abc", "?status=forever", "?township=3703", "?filed=maybe", "?mode=hug"):
        resp = civil.get(URL + query)
        assert resp.status_code == 400, query
    assert civil.get(URL + "?today=1999-01-01").status_code == 200  # ignored


def test_a_township_sees_only_the_name_of_a_medical_partner_elsewhere(api, regions):
    """CONTRACT.md: the medical party is found by exact code anywhere in the county; only its
    id and name are revealed — and it is not found by guessing ids."""
    district = make_hospital(name="周村区人民医院", region="370306001000", credit_code="12370306MB2857330K")
    home = make_home()
    town = api("bj_town")
    by_id = town.post(URL, {**body(district, home), "medical": str(district.pk)})
    assert by_id.status_code == 400 and "找不到医疗卫生机构" in by_id.json()["detail"]
    resp = town.post(URL, body(district, home))
    assert resp.status_code == 201
    assert resp.json()["medical"] == {"id": district.pk, "name": "周村区人民医院"}
    assert town.get(f"{URL}{resp.json()['id']}/").json()["medical"] == {
        "id": district.pk,
        "name": "周村区人民医院",
    }
    assert (
        api("civil1").get(f"{URL}{resp.json()['id']}/").json()["medical"]["credit_code"]
        == district.credit_code
    )
