"""`/api/v1/filings/` (CONTRACT.md, issue 4 "done when" through the API): a township files
医疗卫生机构设立养老机构 for a hospital; a civil officer accepts, returns it, the township
corrects and resubmits, the officer approves, and the registry API shows the new elder-care
record run by that hospital; a health officer decides a 内设医疗机构备案 and the home shows its
医务室. Refusals are 403/409/400 with Chinese messages; other townships get 404."""

import datetime

import pytest
from django.test import Client

from eldercare.workflow.models import Filing
from tests.factories import FILING_FIXTURES, RUN_BY_PAYLOAD, at, make_home, make_hospital
from tests.functional.test_api import auth, token_for

pytestmark = pytest.mark.django_db
D = datetime.date
URL = "/api/v1/filings/"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_API_TOKEN_HOURS = 24 * 365  # the tests move the clock by weeks


@pytest.fixture
def users(make_user):
    return {
        "bj": make_user("bj_town", "township", "370306100000"),
        "silk": make_user("silk_town", "township", "370306001000"),
        "civil": make_user("civil1", "civil", "370306000000"),
        "health": make_user("health1", "health", "370306000000"),
        "neighbour": make_user("civil9", "civil", "370307000000"),
    }


class Api:
    def __init__(self, username):
        self.client = Client()
        resp = token_for(self.client, username)
        assert resp.status_code == 200, resp.content
        self.headers = auth(resp.json()["token"])

    def get(self, url):
        return self.client.get(url, **self.headers)

    def post(self, url, data=None):
        return self.client.post(url, data or {}, content_type="application/json", **self.headers)

    def patch(self, url, data):
        return self.client.patch(url, data, content_type="application/json", **self.headers)

    def upload(self, url, requirement, name="application.pdf"):
        with open(FILING_FIXTURES / name, "rb") as fh:
            return self.client.post(url, {"requirement": requirement, "file": fh}, **self.headers)

    def act(self, pk, action, comment="", **extra):
        return self.post(f"{URL}{pk}/transitions/", {"action": action, "comment": comment, **extra})


@pytest.fixture
def api(users):
    cache = {}

    def get(username):
        if username not in cache:
            cache[username] = Api(username)
        return cache[username]

    return get


def test_hospital_files_to_run_an_eldercare_institution_end_to_end(api, monkeypatch):
    hospital = make_hospital()
    town, civil = api("bj_town"), api("civil1")

    resp = town.post(
        URL,
        {"type": "medical_runs_eldercare", "institution": hospital.credit_code, "payload": RUN_BY_PAYLOAD},
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    pk = body["id"]
    assert body["status"] == "draft" and body["institution"]["name"] == "北郊镇卫生院"
    assert set(body["missing"]) == {"attachments"} and "submit" in body["actions"]

    resp = town.act(pk, "submit")
    assert resp.status_code == 400 and "缺少必需的材料" in resp.json()["detail"]
    for req in ("application", "licence", "premises"):
        assert town.upload(f"{URL}{pk}/attachments/", req).status_code == 201
    bad = town.upload(f"{URL}{pk}/attachments/", "fire", "renamed.pdf")
    assert bad.status_code == 400 and "不是 PDF、JPG 或 PNG" in bad.json()["detail"]

    at(monkeypatch, D(2026, 9, 28))
    body = town.act(pk, "submit").json()
    assert (body["status"], body["due_on"], body["clock_phase"]) == ("submitted", "2026-10-10", "acceptance")
    assert civil.get(f"{URL}{pk}/").json()["actions"] == ["accept", "return"]

    at(monkeypatch, D(2026, 9, 30))
    body = civil.act(pk, "accept", expected_status="submitted").json()
    assert (body["status"], body["due_on"]) == ("accepted", "2026-10-20")
    assert [d["title"] for d in body["documents"]] == ["受理通知书"]

    resp = civil.act(pk, "return")
    assert resp.status_code == 400 and "须填写" in resp.json()["detail"]
    body = civil.act(pk, "return", "请补充消防安全证明材料").json()
    assert body["status"] == "returned" and body["due_on"] is None

    resp = civil.patch(f"{URL}{pk}/", {"payload": {**RUN_BY_PAYLOAD, "beds_eldercare": 45}})
    assert resp.status_code == 403  # the deciding side never edits the content
    assert town.patch(f"{URL}{pk}/", {"payload": {**RUN_BY_PAYLOAD, "beds_eldercare": 45}}).status_code == 200
    assert town.upload(f"{URL}{pk}/attachments/", "fire", "floorplan.png").status_code == 201
    at(monkeypatch, D(2026, 10, 13))
    assert town.act(pk, "submit").json()["status"] == "submitted"
    at(monkeypatch, D(2026, 10, 14))
    assert civil.act(pk, "accept").json()["due_on"] == "2026-10-28"

    resp = town.act(pk, "approve")
    assert resp.status_code == 403 and resp.json()["detail"] == "申请方不能审核自己的申请。"
    at(monkeypatch, D(2026, 10, 16))
    body = civil.act(pk, "approve", "同意备案").json()
    assert body["status"] == "approved" and body["on_time"] is True
    assert [s["action"] for s in body["steps"]] == [
        "submit",
        "accept",
        "return",
        "submit",
        "accept",
        "approve",
    ]
    assert body["result_institution"]["name"] == "北郊镇卫生院医养中心"

    rows = civil.get(f"/api/v1/institutions/?family=eldercare&credit_code={hospital.credit_code}").json()[
        "results"
    ]
    assert len(rows) == 1
    assert rows[0]["run_by"] == hospital.credit_code and rows[0]["beds_eldercare"] == 45

    resp = civil.act(pk, "approve")
    assert resp.status_code == 409 and "当前状态为“已批准”" in resp.json()["detail"]


def test_health_decides_an_internal_unit_and_the_home_shows_its_infirmary(api):
    home = make_home()
    town, health, civil = api("bj_town"), api("health1"), api("civil1")
    pk = town.post(
        URL,
        {"type": "internal_medical", "institution": home.portal_no, "payload": {"internal_unit": "医务室"}},
    ).json()["id"]
    for req in ("application", "staff"):
        town.upload(f"{URL}{pk}/attachments/", req)
    assert town.act(pk, "submit").status_code == 200
    resp = civil.act(pk, "accept")
    assert resp.status_code == 403 and "须由卫健局经办人员执行" in resp.json()["detail"]
    assert health.act(pk, "accept").status_code == 200
    assert health.act(pk, "approve").status_code == 200
    row = health.get(f"/api/v1/institutions/?credit_code={home.credit_code}").json()["results"][0]
    assert row["internal_unit"] == "infirmary"


def test_a_deadline_in_2027_is_flagged(api, monkeypatch):
    home = make_home()
    town, health = api("bj_town"), api("health1")
    pk = town.post(
        URL,
        {"type": "internal_medical", "institution": home.credit_code, "payload": {"internal_unit": "护理站"}},
    ).json()["id"]
    for req in ("application", "staff"):
        town.upload(f"{URL}{pk}/attachments/", req)
    at(monkeypatch, D(2026, 12, 18))
    town.act(pk, "submit")
    at(monkeypatch, D(2026, 12, 21))
    body = health.act(pk, "accept").json()
    assert body["due_on"] == "2027-01-04" and body["due_provisional"] is True
    assert body["due_note"] == "节假日安排未发布"
    listed = health.get(f"{URL}?status=accepted").json()["results"]
    assert [r["id"] for r in listed] == [pk] and listed[0]["due_provisional"] is True


def test_scope_is_404_and_lists_never_leak(api):
    hospital = make_hospital()
    pk = (
        api("bj_town")
        .post(
            URL,
            {
                "type": "medical_runs_eldercare",
                "institution": hospital.credit_code,
                "payload": RUN_BY_PAYLOAD,
            },
        )
        .json()["id"]
    )
    for who in ("silk_town", "civil9"):
        client = api(who)
        assert client.get(f"{URL}{pk}/").status_code == 404
        assert client.act(pk, "withdraw").status_code == 404
        assert client.upload(f"{URL}{pk}/attachments/", "application").status_code == 404
        assert client.patch(f"{URL}{pk}/", {"payload": {}}).status_code == 404
        assert client.get(URL).json()["results"] == []
    # a township cannot file for a hospital outside it: the lookup is scoped
    resp = api("silk_town").post(URL, {"type": "medical_runs_eldercare", "institution": hospital.credit_code})
    assert resp.status_code == 400 and "找不到机构" in resp.json()["detail"]
    assert Filing.objects.count() == 1


def test_bad_requests_are_chinese_400s(api):
    town = api("bj_town")
    resp = town.post(URL, {"type": "nonsense"})
    assert resp.status_code == 400 and "没有名为" in str(resp.json())
    resp = town.post(
        URL,
        {
            "type": "medical_runs_eldercare",
            "institution": make_hospital().credit_code,
            "payload": {"beds_eldercare": "很多"},
        },
    )
    assert resp.status_code == 400
    assert resp.json()["errors"]["beds_eldercare"] == ["“核定养老床位数”应为整数，收到“很多”。"]
    pk = town.post(URL, {"type": "internal_medical", "institution": make_home().credit_code}).json()["id"]
    resp = town.act(pk, "fly")
    assert resp.status_code == 400


def test_types_describe_forms_and_materials(api):
    types = {t["code"]: t for t in api("bj_town").get(f"{URL}types/").json()}
    assert set(types) == {"internal_medical", "medical_runs_eldercare", "eldercare", "contract", "subsidy"}
    run_by = types["medical_runs_eldercare"]
    assert (
        run_by["decider_role"],
        run_by["subject_family"],
        run_by["accept_days"],
        run_by["decide_days"],
    ) == ("civil", "medical", 5, 10)
    assert {"name", "type", "beds_eldercare"} <= {f["name"] for f in run_by["fields"] if f["required"]}
    assert "东政办〔2022〕42号" in run_by["basis"]


def test_filings_are_in_the_schema(api):
    client = api("civil1")
    resp = client.client.get("/api/schema/", **client.headers)
    text = resp.content.decode()
    for path in (
        "/api/v1/filings/",
        "/api/v1/filings/{id}/transitions/",
        "/api/v1/filings/{id}/attachments/",
    ):
        assert path in text


def test_accept_racing_return_without_expected_status_is_one_transition(api, make_user, monkeypatch):
    """A client that does not send `expected_status` is held to the state its request read:
    two officers answering the same submitted filing do not both succeed."""
    from eldercare.accounts.models import User
    from eldercare.workflow import services as wf

    hospital = make_hospital()
    town, civil = api("bj_town"), api("civil1")
    make_user("civil2", "civil", "370306000000")
    pk = town.post(
        URL,
        {"type": "medical_runs_eldercare", "institution": hospital.credit_code, "payload": RUN_BY_PAYLOAD},
    ).json()["id"]
    for req in ("application", "licence", "premises"):
        town.upload(f"{URL}{pk}/attachments/", req)
    town.act(pk, "submit")
    real = wf.filing_transition

    def civil1_accepts_first(**kw):
        """civil2's request has read "submitted"; civil1's accept lands before it takes the lock."""
        real(actor=User.objects.get(username="civil1"), filing=kw["filing"].pk, action="accept")
        return real(**kw)

    monkeypatch.setattr(wf, "filing_transition", civil1_accepts_first)
    resp = api("civil2").act(pk, "return", "请补充材料")
    monkeypatch.undo()
    assert resp.status_code == 409 and "已被他人处理" in resp.json()["detail"]
    assert [s["action"] for s in civil.get(f"{URL}{pk}/").json()["steps"]] == ["submit", "accept"]


def test_write_answers_ignore_list_filters_and_patch_is_partial(api):
    town = api("bj_town")
    pk = town.post(
        URL,
        {
            "type": "medical_runs_eldercare",
            "institution": make_hospital().credit_code,
            "payload": RUN_BY_PAYLOAD,
        },
    ).json()["id"]
    resp = town.client.patch(
        f"{URL}{pk}/?status=submitted",
        {"payload": {"beds_eldercare": 45}},
        content_type="application/json",
        **town.headers,
    )
    assert resp.status_code == 200
    assert resp.json()["payload"] == {**RUN_BY_PAYLOAD, "beds_eldercare": 45}
    resp = town.client.patch(
        f"{URL}{pk}/", {"title": "新标题"}, content_type="application/json", **town.headers
    )
    assert resp.status_code == 200 and resp.json()["title"] == "新标题"


def test_bad_region_is_a_400_not_a_500(api):
    for region in ("370306", "370306999000", "abc"):
        resp = api("civil1").post(URL, {"type": "eldercare", "region": region, "payload": {}})
        assert resp.status_code == 400 and resp.json()["errors"]["region"], region
    resp = api("civil1").post(f"{URL}1/transitions/", {"action": "fly"})
    assert resp.status_code == 404


def test_the_region_filter_narrows_the_list(api):
    town = api("bj_town")
    town.post(
        URL,
        {
            "type": "medical_runs_eldercare",
            "institution": make_hospital().credit_code,
            "payload": RUN_BY_PAYLOAD,
        },
    )
    assert town.get(f"{URL}?region=370306100000").json()["count"] == 1
    assert town.get(f"{URL}?region=370306100201").json()["count"] == 0
    assert town.get(f"{URL}?region=abc").status_code == 400
    assert (
        api("civil1").get(f"{URL}?region=370306100000").json()["count"] == 0
    )  # a draft: the applicant's only
