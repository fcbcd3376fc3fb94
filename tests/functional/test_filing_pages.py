"""备案审批 pages (issue 4): a township files through the form, uploads (by content), submits; the
officer's inbox with its deadlines, filters and colours; accept / return / resubmit / approve by
POST with CSRF enforced; the stale page (已被他人处理); bulk accept with one refusal; scope
(404 for another township); separation of duties (no edit for the officer); the county card's
numbers on a hand-checked set; the home-page counts; constant query counts on the inbox."""

import datetime
import re
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eldercare.workflow import machine
from eldercare.workflow import services as wf
from eldercare.workflow.models import Attachment, Filing
from tests.factories import (
    FILING_FIXTURES,
    RUN_BY_PAYLOAD,
    at,
    csrf_client,
    make_home,
    make_hospital,
    page_token,
    post_form,
    ready_filing,
)

pytestmark = pytest.mark.django_db
D = datetime.date
ELDERCARE_PAYLOAD = {
    "name": "银子社区养老服务中心",
    "type": "community_center",
    "beds_eldercare": 30,
    "credit_code": "52370306MJD600080P",
}


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Uploads in a temporary directory; sessions in signed cookies, whose age is checked
    against the real clock — the tests move timezone.now about (as the service tests do), and a
    database session saved "in" September would have expired by a request "in" October."""
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def bj_town(make_user):
    """Township staff of 北郊镇 (370306100000), where the hospital and the home are."""
    return make_user("bj_town", "township", "370306100000", full_name="北郊 张")


@pytest.fixture
def other(make_user):
    """Township staff of 丝绸路街道: another township."""
    return make_user("other", "township", "370306001000")


@pytest.fixture
def civil2(make_user):
    return make_user("civil2", "civil", "370306000000")


def post(client, page_url, url, data=None, follow=True):
    return post_form(client, page_url, url, data, follow=follow)


def act(client, f, action, comment="", expected=None):
    """The detail page's action form, as rendered (expected_status = the state shown)."""
    url = f"/filings/{f.pk}/"
    return post(
        client,
        url,
        f"{url}transition/",
        {
            "action": action,
            "comment": comment,
            "expected_status": expected or Filing.objects.get(pk=f.pk).status,
        },
    )


def upload(client, f, requirement, fixture, name=None):
    data = (FILING_FIXTURES / fixture).read_bytes()
    return post(
        client,
        f"/filings/{f.pk}/",
        f"/filings/{f.pk}/attachments/",
        {"requirement": requirement, "file": SimpleUploadedFile(name or fixture, data)},
    )


def text(resp) -> str:
    return resp.content.decode()


def messages_of(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def submitted(actor, type_code, institution, payload, monkeypatch, day, region=None):
    f = ready_filing(actor, type_code, institution, payload, region=region)
    at(monkeypatch, day)
    return wf.filing_transition(actor=actor, filing=f, action="submit")


# -- the whole journey through the pages -----------------------------------------------------------
def test_township_files_uploads_submits_and_the_officer_decides(bj_town, civil, monkeypatch):
    hospital = make_hospital()
    t = csrf_client(bj_town)
    at(monkeypatch, D(2026, 9, 28))

    chooser = t.get("/filings/new/")
    body = text(chooser)
    assert "医疗卫生机构设立养老机构" in body and "养老机构内设医疗机构备案" in body
    assert "医养签约协议备案" not in body  # inactive, and created from the contract's page anyway
    assert "东政办〔2022〕42号" in body  # the basis
    url = "/filings/new/?type=medical_runs_eldercare"
    form = t.get(url)
    assert form.status_code == 200 and "北郊镇卫生院" in text(form)
    assert "核定养老床位数" in text(form) and "医疗卫生机构设立养老机构" in text(form)

    # A field error from the service lands on its field; nothing is created.
    resp = post(t, url, url, {"institution": hospital.pk, "beds_eldercare": "-3"}, follow=False)
    assert resp.status_code == 200 and not Filing.objects.exists()
    assert resp.context["form"].errors["beds_eldercare"]

    resp = post(
        t, url, url, {"institution": hospital.pk, **RUN_BY_PAYLOAD, "beds_eldercare": "40"}, follow=False
    )
    assert resp.status_code == 302, resp.context["form"].errors if resp.context else resp
    f = Filing.objects.get()
    assert resp["Location"] == f"/filings/{f.pk}/"
    assert (f.status, f.institution, f.region_id, f.payload["beds_eldercare"]) == (
        machine.DRAFT,
        hospital,
        "370306100000",
        40,
    )

    detail = t.get(f"/filings/{f.pk}/")
    body = text(detail)
    assert "缺少必需的材料：备案书、医疗机构执业许可证、服务场所产权或租赁证明" in body
    assert 'accept=".pdf,.jpg,.jpeg,.png"' in body and f"/filings/{f.pk}/edit/" in body
    assert [a["action"] for a in detail.context["actions"]] == ["submit", "withdraw"]

    # Attachments, by content: a renamed text file is refused in Chinese.
    resp = upload(t, f, "premises", "renamed.pdf")
    assert any("“renamed.pdf”不是 PDF、JPG 或 PNG 文件" in m for m in messages_of(resp))
    assert not Attachment.objects.exists()
    resp = upload(t, f, "application", "application.pdf", name="备案书.pdf")
    assert "已上传“备案书.pdf”。" in messages_of(resp)
    upload(t, f, "licence", "floorplan.png")

    # Submitting with an item missing: the service refuses and says what is missing.
    resp = act(t, f, "submit")
    assert any("缺少必需的材料：服务场所产权或租赁证明" in m for m in messages_of(resp))
    assert Filing.objects.get(pk=f.pk).status == machine.DRAFT
    upload(t, f, "premises", "application.pdf")
    resp = act(t, f, "submit")
    assert "已提交，等待主管部门受理。" in messages_of(resp)
    f.refresh_from_db()
    assert (f.status, f.submitted_on, f.due_on) == (machine.SUBMITTED, D(2026, 9, 28), D(2026, 10, 10))

    # The download: the sniffed type, the original (Chinese) name RFC 5987-encoded, nosniff.
    att = Attachment.objects.get(original_name="备案书.pdf")
    dl = t.get(f"/filings/{f.pk}/attachments/{att.pk}/")
    assert dl.status_code == 200 and dl["Content-Type"] == "application/pdf"
    assert b"".join(dl.streaming_content).startswith(b"%PDF-")
    assert dl["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" + quote("备案书.pdf") in dl["Content-Disposition"]
    assert dl["X-Content-Type-Options"] == "nosniff"
    png = Attachment.objects.get(requirement="licence")
    assert t.get(f"/filings/{f.pk}/attachments/{png.pk}/")["Content-Type"] == "image/png"

    # The officer's inbox: the filing, its due date across National Day, a checkbox to accept.
    c = csrf_client(civil)
    at(monkeypatch, D(2026, 9, 29))
    inbox = c.get("/filings/")
    body = text(inbox)
    assert f.number in body and "2026-10-10" in body and "北郊镇" in body and "北郊 张" in body
    assert f'name="ids" value="{f.pk}"' in body and "批量受理" in body
    officer = c.get(f"/filings/{f.pk}/")
    body = text(officer)
    assert [a["action"] for a in officer.context["actions"]] == ["accept", "return"]
    assert "受理时限" in body and "2026-10-10" in body
    assert f"/filings/{f.pk}/edit/" not in body and 'data-testid="upload-form"' not in body
    assert "退回补正" in body and "一次性补正告知" in body

    # Separation of duties: the officer cannot edit the content, on the page or by POST.
    assert c.get(f"/filings/{f.pk}/edit/").status_code == 403
    resp = c.post(
        f"/filings/{f.pk}/edit/",
        {"csrfmiddlewaretoken": page_token(officer), "beds_eldercare": "99"},
    )
    assert resp.status_code == 403
    assert Filing.objects.get(pk=f.pk).payload["beds_eldercare"] == 40
    resp = c.post(
        f"/filings/{f.pk}/attachments/{att.pk}/delete/", {"csrfmiddlewaretoken": page_token(officer)}
    )
    assert resp.status_code == 403 and Attachment.objects.filter(pk=att.pk).exists()

    at(monkeypatch, D(2026, 9, 30))
    resp = act(c, f, "accept")
    assert any(m.startswith("已受理。已出具受理通知书") for m in messages_of(resp))
    f.refresh_from_db()
    assert (f.status, f.due_on, f.clock_phase) == (machine.ACCEPTED, D(2026, 10, 20), "decision")
    assert "办理时限" in text(resp) and "2026-10-20" in text(resp)

    at(monkeypatch, D(2026, 10, 12))
    resp = act(c, f, "return", "   ")  # the 一次性补正告知 is required
    assert any("须填写" in m for m in messages_of(resp))
    assert Filing.objects.get(pk=f.pk).status == machine.ACCEPTED
    resp = act(c, f, "return", "1. 缺少消防安全证明材料\n2. 床位数与平面图不符")
    assert any(m.startswith("已退回补正") for m in messages_of(resp))
    f.refresh_from_db()
    assert f.status == machine.RETURNED and f.due_on is None

    # The township sees the correction list, corrects, and resubmits.
    page = t.get(f"/filings/{f.pk}/")
    body = text(page)
    assert "缺少消防安全证明材料" in body and "时限暂停" in body
    assert [a["action"] for a in page.context["actions"]] == ["resubmit", "withdraw"]
    edit_url = f"/filings/{f.pk}/edit/"
    edit = t.get(edit_url)
    assert edit.status_code == 200 and 'value="40"' in text(edit)
    resp = post(t, edit_url, edit_url, {**RUN_BY_PAYLOAD, "beds_eldercare": "50"}, follow=False)
    assert resp.status_code == 302
    assert Filing.objects.get(pk=f.pk).payload["beds_eldercare"] == 50
    upload(t, f, "fire", "floorplan.png", name="消防验收意见书.png")
    at(monkeypatch, D(2026, 10, 13))
    resp = act(t, f, "resubmit")
    assert "已补正并重新提交，等待主管部门受理。" in messages_of(resp)
    assert 'data-testid="upload-form"' not in text(resp)  # no uploads once submitted

    at(monkeypatch, D(2026, 10, 14))
    act(c, f, "accept")
    at(monkeypatch, D(2026, 10, 16))
    resp = act(c, f, "approve", "同意备案")
    f.refresh_from_db()
    assert f.status == machine.APPROVED and f.result_institution is not None
    assert any("已在机构名录中登记“北郊镇卫生院医养中心”" in m for m in messages_of(resp))
    body = text(resp)
    assert "已在机构名录中登记" in body and f"/institutions/{f.result_institution.pk}/" in body
    assert "北郊镇卫生院医养中心" in body

    # The ledger as a timeline, each issued paper linked to its print view and PDF.
    steps = resp.context["steps"]
    assert [s.action for s in steps] == ["submit", "accept", "return", "resubmit", "accept", "approve"]
    assert [s.to_label for s in steps][:3] == ["已提交", "已受理", "退回补正"]
    docs = [s.doc for s in steps if s.doc]
    assert [d.kind for d in docs] == ["receipt", "correction", "receipt", "decision"]
    for d in docs:
        assert f"/filings/{f.pk}/documents/{d.pk}/" in body
        assert f"/filings/{f.pk}/documents/{d.pk}/pdf/" in body
    assert "civil1" in body and "同意备案" in body
    assert t.get(f"/filings/{f.pk}/documents/{docs[1].pk}/").status_code == 200  # the print view
    assert resp.context["actions"] == []


def test_withdraw_and_actions_that_the_page_did_not_offer(bj_town, civil, monkeypatch):
    f = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    c = csrf_client(civil)
    # approve is not a button on a submitted filing; posting it anyway is refused by the service.
    resp = act(c, f, "approve")
    assert any("当前状态为“已提交”" in m for m in messages_of(resp))
    resp = act(c, f, "withdraw")
    assert any("只有申请方" in m for m in messages_of(resp))
    assert Filing.objects.get(pk=f.pk).status == machine.SUBMITTED
    t = csrf_client(bj_town)
    resp = act(t, f, "accept")
    assert any("申请方不能审核自己的申请" in m for m in messages_of(resp))
    resp = act(t, f, "withdraw")
    assert "已撤回。" in messages_of(resp)
    assert Filing.objects.get(pk=f.pk).status == machine.WITHDRAWN


def test_a_stale_page_is_told_someone_else_got_there_first(bj_town, civil, civil2, monkeypatch):
    f = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    first, second = csrf_client(civil), csrf_client(civil2)
    page1, page2 = first.get(f"/filings/{f.pk}/"), second.get(f"/filings/{f.pk}/")
    assert 'name="expected_status" value="submitted"' in text(page2)
    form = {"action": "accept", "comment": "", "expected_status": "submitted"}
    r1 = first.post(
        f"/filings/{f.pk}/transition/", {**form, "csrfmiddlewaretoken": page_token(page1)}, follow=True
    )
    assert "已受理。" in messages_of(r1)[0]
    # The second officer's page still said "submitted": they even chose to return it.
    r2 = second.post(
        f"/filings/{f.pk}/transition/",
        {**form, "action": "return", "comment": "材料不全", "csrfmiddlewaretoken": page_token(page2)},
        follow=True,
    )
    assert any("已被他人处理" in m and "civil1" in m for m in messages_of(r2))
    f.refresh_from_db()
    assert f.status == machine.ACCEPTED and f.steps.count() == 2


def test_bulk_accept_accepts_each_on_its_own(bj_town, civil, civil2, make_user, monkeypatch):
    hospital = make_hospital()
    f1 = submitted(bj_town, "medical_runs_eldercare", hospital, RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28))
    f2 = submitted(
        bj_town,
        "medical_runs_eldercare",
        hospital,
        {**RUN_BY_PAYLOAD, "name": "第二医养中心"},
        monkeypatch,
        D(2026, 9, 28),
    )
    f3 = submitted(
        bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"}, monkeypatch, D(2026, 9, 28)
    )
    c = csrf_client(civil)
    inbox = c.get("/filings/")
    body = text(inbox)
    assert f'name="ids" value="{f1.pk}"' in body and f'name="ids" value="{f2.pk}"' in body
    assert f'name="ids" value="{f3.pk}"' not in body  # a health matter: not civil's to accept
    assert inbox.context["selectable"] == 2
    # Meanwhile a colleague accepts f2.
    wf.filing_transition(actor=civil2, filing=f2, action="accept", expected_status="submitted")
    resp = c.post(
        "/filings/bulk-accept/",
        {
            "ids": [f1.pk, f2.pk, 999999],
            "next": "/filings/?status=open",
            "csrfmiddlewaretoken": page_token(inbox),
        },
    )
    assert resp.status_code == 302 and resp["Location"] == "/filings/?status=open"
    msgs = messages_of(c.get(resp["Location"]))
    assert msgs[0] == f"已受理 1 件：{f1.number}。"
    assert any(m.startswith(f"未受理 {f2.number}：") and "已被他人处理" in m for m in msgs)
    assert any("999999" in m and "不在您的管辖范围内" in m for m in msgs)
    f1.refresh_from_db()
    assert f1.status == machine.ACCEPTED and f1.documents.filter(kind="receipt").exists()
    # An offsite `next` is not followed; the township may not bulk-accept at all.
    resp = c.post(
        "/filings/bulk-accept/",
        {"ids": [f3.pk], "next": "https://evil.example/", "csrfmiddlewaretoken": page_token(inbox)},
    )
    assert resp["Location"] == "/filings/"
    assert Filing.objects.get(pk=f3.pk).status == machine.SUBMITTED  # civil is not the deciding role
    t = csrf_client(bj_town)
    page = t.get("/filings/")
    assert "批量受理" not in text(page)
    resp = t.post("/filings/bulk-accept/", {"ids": [f3.pk], "csrfmiddlewaretoken": page_token(page)})
    assert resp.status_code == 403


# -- the inbox's filters and colours ---------------------------------------------------------------
@pytest.fixture
def inbox_set(bj_town, township, civil, monkeypatch):
    """Four filings seen on 2026-10-13: A overdue (due 10-10), B due soon (due 10-14), C on time
    (due 10-19, in 丝绸路街道), D a draft."""
    a = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    b = submitted(
        bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"}, monkeypatch, D(2026, 10, 8)
    )
    c = submitted(township, "eldercare", None, ELDERCARE_PAYLOAD, monkeypatch, D(2026, 10, 12))
    d = ready_filing(bj_town, "eldercare", None, {**ELDERCARE_PAYLOAD, "name": "李家村幸福院"})
    assert (a.due_on, b.due_on, c.due_on) == (D(2026, 10, 10), D(2026, 10, 14), D(2026, 10, 19))
    at(monkeypatch, D(2026, 10, 13))
    return {"A": a, "B": b, "C": c, "D": d}


def listed(client, query=""):
    resp = client.get("/filings/" + query)
    assert resp.status_code == 200
    return resp, [f.pk for f in resp.context["page"]]


def test_inbox_filters_sort_and_colours(inbox_set, civil):
    a, b, c, d = (inbox_set[k].pk for k in "ABCD")
    client = csrf_client(civil)
    resp, pks = listed(client)
    assert pks == [a, b, c]  # open ones by due date, then the rest, newest first
    # D is 北郊镇's draft: its applicant side sees it, the officers only once it is submitted
    assert d in listed(csrf_client(inbox_set["D"].created_by))[1]
    assert client.get(f"/filings/{d}/").status_code == 404
    body = text(resp)
    assert re.search(rf'<tr class="table-danger" data-filing="{a}" data-alert="overdue"', body)
    assert re.search(rf'<tr class="table-warning" data-filing="{b}" data-alert="due_soon"', body)
    assert re.search(rf'<tr class="" data-filing="{c}" data-alert=""', body)
    assert "已超期" in body and "即将到期" in body
    assert listed(client, "?type=internal_medical")[1] == [b]
    assert listed(client, "?status=draft")[1] == []
    assert listed(client, "?status=open")[1] == [a, b, c]
    assert listed(client, "?township=370306001000")[1] == [c]
    assert listed(client, "?township=370306100000")[1] == [a, b]
    assert listed(client, "?township=370307001000")[1] == [a, b, c]  # not in scope: ignored
    assert listed(client, "?due=overdue")[1] == [a]
    assert listed(client, "?due=due_soon")[1] == [b]
    assert listed(client, "?due=alert")[1] == [a, b]
    assert listed(client, "?q=" + quote(inbox_set["A"].number))[1] == [a]
    assert listed(client, "?q=" + quote("李家村"))[1] == []  # the draft's title: not the officer's
    assert listed(client, "?todo=1")[1] == [a, c]  # civil decides A and C; B is health's
    assert listed(client, "?type=nonsense&status=flying&due=never")[1] == [a, b, c]
    assert [r.code for r in resp.context["townships"]] == ["370306001000", "370306100000"]


def test_the_region_switcher_narrows_the_inbox(inbox_set, civil):
    client = csrf_client(civil)
    page = client.get("/filings/")
    client.post(
        "/region/switch/", {"region": "370306001000", "next": "/", "csrfmiddlewaretoken": page_token(page)}
    )
    assert listed(client)[1] == [inbox_set["C"].pk]


def test_provisional_deadlines_are_flagged(bj_town, civil, monkeypatch):
    f = submitted(
        bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"}, monkeypatch, D(2026, 12, 28)
    )
    assert f.due_on == D(2027, 1, 4) and f.due_provisional
    body = text(csrf_client(civil).get("/filings/"))
    assert "2027-01-04" in body and "节假日安排未发布" in body
    detail = text(csrf_client(bj_town).get(f"/filings/{f.pk}/"))
    assert "节假日安排未发布" in detail and "暂按周一至周五计算工作日" in detail


# -- scope ------------------------------------------------------------------------------------------
def test_another_township_gets_404_everywhere(bj_town, other, monkeypatch):
    f = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    att = f.files.first()
    o = csrf_client(other)
    page = o.get("/filings/")
    assert f.pk not in [x.pk for x in page.context["page"]]
    for url in (f"/filings/{f.pk}/", f"/filings/{f.pk}/edit/", f"/filings/{f.pk}/attachments/{att.pk}/"):
        assert o.get(url).status_code == 404, url
    tok = page_token(page)
    for url, data in (
        (f"/filings/{f.pk}/transition/", {"action": "withdraw", "expected_status": "submitted"}),
        (f"/filings/{f.pk}/attachments/", {"requirement": "fire"}),
        (f"/filings/{f.pk}/attachments/{att.pk}/delete/", {}),
    ):
        assert o.post(url, {**data, "csrfmiddlewaretoken": tok}).status_code == 404, url
    f.refresh_from_db()
    assert f.status == machine.SUBMITTED and f.files.filter(pk=att.pk).exists()
    # An attachment id of another filing is not reachable through one's own filing either.
    mine = ready_filing(other, "eldercare", None, ELDERCARE_PAYLOAD)
    assert o.get(f"/filings/{mine.pk}/attachments/{att.pk}/").status_code == 404
    # The new-filing form offers only institutions in scope.
    form = o.get("/filings/new/?type=medical_runs_eldercare")
    assert "北郊镇卫生院" not in text(form)


def test_csrf_is_enforced(bj_town, monkeypatch):
    f = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    t = csrf_client(bj_town)
    resp = t.post(f"/filings/{f.pk}/transition/", {"action": "withdraw", "expected_status": "submitted"})
    assert resp.status_code == 403
    assert Filing.objects.get(pk=f.pk).status == machine.SUBMITTED


# -- the county card -------------------------------------------------------------------------------
@pytest.fixture
def decided_set(bj_town, township, civil, health, monkeypatch):
    """F1 (civil's, 北郊镇): submitted 09-28, accepted 09-30, approved 10-16 — on time, 8
    working days (10-08, 10-09, 10-10 调休, 10-12…10-16). F2 (health's, 北郊镇): submitted 10-08,
    accepted 10-09 (due 10-22), rejected 10-30 — late, 16 working days. F3 (丝绸路街道): submitted
    10-12, still awaiting acceptance (due 10-19)."""
    f1 = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    f2 = submitted(
        bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"}, monkeypatch, D(2026, 10, 8)
    )
    f3 = submitted(township, "eldercare", None, ELDERCARE_PAYLOAD, monkeypatch, D(2026, 10, 12))
    for day, actor, f, action in (
        (D(2026, 9, 30), civil, f1, "accept"),
        (D(2026, 10, 9), health, f2, "accept"),
        (D(2026, 10, 16), civil, f1, "approve"),
        (D(2026, 10, 30), health, f2, "reject"),
    ):
        at(monkeypatch, day)
        wf.filing_transition(actor=actor, filing=f, action=action, comment="理由")
    f1.refresh_from_db()
    f2.refresh_from_db()
    assert (f1.on_time, f1.working_days_to_decision) == (True, 8)
    assert (f2.on_time, f2.working_days_to_decision) == (False, 16)
    return {"F1": f1, "F2": f2, "F3": f3}


def test_stats_per_type_and_township_on_a_hand_checked_set(decided_set, civil, bj_town, monkeypatch):
    at(monkeypatch, D(2026, 11, 2))
    client = csrf_client(civil)
    resp = client.get("/filings/stats/?month=2026-10")
    assert resp.status_code == 200
    total = resp.context["total"]
    assert (total["submitted"], total["decided"], total["on_time"]) == (2, 2, 1)  # F1 was submitted in Sept
    assert (total["rate"], total["avg"]) == (50.0, 12.0)
    assert (total["open"], total["overdue"], total["due_soon"]) == (1, 1, 0)  # F3: due 10-19
    by_type = {r["type"].code: r for r in resp.context["by_type"]}
    assert (by_type["medical_runs_eldercare"]["decided"], by_type["medical_runs_eldercare"]["rate"]) == (
        1,
        100.0,
    )
    assert (
        by_type["medical_runs_eldercare"]["avg"] == 8.0
        and by_type["medical_runs_eldercare"]["submitted"] == 0
    )
    assert (by_type["internal_medical"]["submitted"], by_type["internal_medical"]["rate"]) == (1, 0.0)
    assert by_type["internal_medical"]["avg"] == 16.0
    assert (by_type["eldercare"]["submitted"], by_type["eldercare"]["rate"], by_type["eldercare"]["avg"]) == (
        1,
        None,
        None,
    )
    assert (by_type["contract"]["submitted"], by_type["contract"]["rate"]) == (0, None)  # opened, unused
    towns = {r["code"]: r for r in resp.context["by_township"]}
    assert list(towns) == ["370306001000", "370306100000"]
    bj, sc = towns["370306100000"], towns["370306001000"]
    assert (bj["label"], bj["submitted"], bj["decided"], bj["rate"], bj["avg"]) == (
        "北郊镇",
        1,
        2,
        50.0,
        12.0,
    )
    assert (sc["label"], sc["submitted"], sc["decided"], sc["rate"], sc["overdue"]) == (
        "丝绸路街道",
        1,
        0,
        None,
        1,
    )
    body = text(resp)
    assert "50.0%" in body and "12.0" in body and "—" in body

    # September: one submission, nothing decided — "—", not 0%.
    sept = client.get("/filings/stats/?month=2026-09")
    assert (sept.context["total"]["submitted"], sept.context["total"]["decided"]) == (1, 0)
    assert sept.context["total"]["rate"] is None
    assert re.search(r'data-total="rate">—<', text(sept))
    # A malformed month is this month; the township sees its own township only.
    assert csrf_client(civil).get("/filings/stats/?month=13-2026").context["month"] == "2026-11"
    mine = csrf_client(bj_town).get("/filings/stats/?month=2026-10")
    assert (mine.context["total"]["submitted"], mine.context["total"]["decided"]) == (1, 2)
    assert [r["code"] for r in mine.context["by_township"]] == ["370306100000"]


@pytest.mark.usefixtures("no_versioned_cache")
def test_stats_use_database_aggregates(decided_set, bj_town, civil, monkeypatch):
    client = csrf_client(civil)
    client.get("/filings/stats/")
    with CaptureQueriesContext(connection) as few:
        client.get("/filings/stats/?month=2026-10")
    home = make_home(name="王家村幸福院", region="370306100202", credit_code="", type="rural_happiness_home")
    for _ in range(5):
        submitted(
            bj_town, "internal_medical", home, {"internal_unit": "infirmary"}, monkeypatch, D(2026, 10, 20)
        )
    with CaptureQueriesContext(connection) as more:
        resp = client.get("/filings/stats/?month=2026-10")
    assert resp.context["total"]["submitted"] == 7
    assert len(more.captured_queries) == len(few.captured_queries)


# -- the home page ----------------------------------------------------------------------------------
def cards(client) -> dict:
    resp = client.get("/")
    return {str(c["label"]): (c["value"], c.get("link")) for c in resp.context["cards"]}


def test_home_cards_count_what_awaits_each_officer(inbox_set, bj_town, civil, civil2, health, monkeypatch):
    own = submitted(
        civil,
        "eldercare",
        None,
        {**ELDERCARE_PAYLOAD, "name": "丝绸路长者之家"},
        monkeypatch,
        D(2026, 10, 12),
        region="370306001000",
    )
    assert own.region_id == "370306001000"
    at(monkeypatch, D(2026, 10, 13))
    mine = cards(csrf_client(civil))
    assert mine["待受理/待办理的备案"] == (2, "/filings/?todo=1")  # A and C; not their own filing
    assert mine["已超期的备案"] == (1, "/filings/?todo=1&due=overdue")
    assert mine["即将到期的备案（≤2个工作日）"][0] == 0
    assert "退回补正待修改的备案" not in mine
    assert cards(csrf_client(civil2))["待受理/待办理的备案"][0] == 3  # a colleague decides civil1's
    h = cards(csrf_client(health))
    assert (h["待受理/待办理的备案"][0], h["已超期的备案"][0], h["即将到期的备案（≤2个工作日）"][0]) == (
        1,
        0,
        1,
    )

    t = csrf_client(bj_town)
    assert cards(t)["退回补正待修改的备案"] == (0, "/filings/?status=returned")
    wf.filing_transition(actor=civil, filing=inbox_set["A"], action="return", comment="补充消防材料")
    assert cards(t)["退回补正待修改的备案"][0] == 1
    assert "待受理/待办理的备案" not in cards(t)
    assert listed(t, "?status=returned")[1] == [inbox_set["A"].pk]
    assert cards(csrf_client(civil))["待受理/待办理的备案"][0] == 1


def test_nav_shows_the_inbox_to_filing_roles_only(bj_town, make_user):
    body = text(csrf_client(bj_town).get("/"))
    assert 'data-nav="workflow:list"' in body and "备案审批" in body
    finance = csrf_client(make_user("fin", "finance"))
    assert 'data-nav="workflow:list"' not in text(finance.get("/"))
    assert finance.get("/filings/").status_code == 403
    assert finance.get("/filings/stats/").status_code == 403


# -- no N+1 on the inbox ----------------------------------------------------------------------------
def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.usefixtures("no_versioned_cache")
def test_inbox_queries_do_not_grow_with_rows(bj_town, civil, monkeypatch):
    hospital = make_hospital()
    for i in range(2):
        submitted(
            bj_town,
            "medical_runs_eldercare",
            hospital,
            {**RUN_BY_PAYLOAD, "name": f"医养{i}"},
            monkeypatch,
            D(2026, 9, 28),
        )
    client = csrf_client(civil)
    queries(client, "/filings/")  # warm-up
    few = queries(client, "/filings/")
    home = make_home()
    for i in range(2, 12):
        submitted(
            bj_town,
            "medical_runs_eldercare",
            hospital,
            {**RUN_BY_PAYLOAD, "name": f"医养{i}"},
            monkeypatch,
            D(2026, 9, 28),
        )
    submitted(bj_town, "internal_medical", home, {"internal_unit": "infirmary"}, monkeypatch, D(2026, 9, 28))
    assert queries(client, "/filings/") == few


def test_a_new_eldercare_institution_is_filed_with_its_village(bj_town, make_user):
    """养老机构备案 for a home not yet in the registry: no institution, the village chosen."""
    t = csrf_client(bj_town)
    url = "/filings/new/?type=eldercare"
    resp = post(
        t,
        url,
        url,
        {
            "region": "370306100201",
            "name": "李家村幸福院",
            "type": "rural_happiness_home",
            "beds_eldercare": "12",
        },
        follow=False,
    )
    assert resp.status_code == 302, resp.context["form"].errors if resp.context else resp
    f = Filing.objects.get(title__startswith="李家村幸福院")
    assert (f.institution_id, f.region_id, f.number) == (None, "370306100201", None)


def test_the_same_internal_unit_is_not_filed_twice(bj_town):
    home = make_home(internal_unit="infirmary")
    f = ready_filing(bj_town, "internal_medical", home, {"internal_unit": "infirmary"})
    with pytest.raises(ValidationError) as exc:
        wf.filing_transition(actor=bj_town, filing=f, action="submit")
    assert "已登记内设医务室，无需重复备案" in exc.value.message_dict["internal_unit"][0]


def test_the_403_page_says_why(bj_town, civil, monkeypatch):
    f = submitted(
        bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD, monkeypatch, D(2026, 9, 28)
    )
    resp = csrf_client(civil).get(f"/filings/{f.pk}/edit/")
    assert resp.status_code == 403 and "审核人员不能修改" in text(resp)
