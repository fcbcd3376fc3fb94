"""床位补贴 pages (issue 6): an application made through the form is judged by the same services
as the API (same eligible, amount and checks for the same facts) and explained one sentence per
condition with its clause; it walks submit → accept → approve through the page's buttons; finance
pays an installment on the page, once; back-dating is civil's; the printable 补助审批表 carries the
checks and the signature boxes, and its PDF is a PDF; another township sees nothing (404); the
list costs a constant number of queries."""

import datetime
import re
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eldercare.audit.models import AuditEvent
from subsidies import services
from subsidies.models import Application, Installment, Payment
from subsidies.payments import DOUBLE_PAYMENT
from subsidies.views import pending_card
from tests.factories import at, csrf_client, make_home, make_hospital, post_form
from tests.functional.test_filing_api import Api
from tests.functional.test_filing_documents import (
    _mapped_characters,
    _noto_cjk_installed,
    pdf_fonts,
    pdf_text,
)

pytestmark = pytest.mark.django_db
D = datetime.date
LIST = "/subsidies/applications/"
NEW = "/subsidies/applications/new/"
API = "/api/v1/subsidies/applications/"
CITE = "东政办〔2022〕42号 三(一)"


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_API_TOKEN_HOURS = 24 * 365
    # Signed-cookie sessions: the tests move timezone.now about (see test_filing_pages).
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def users(make_user):
    return {
        "town": make_user("bj_town", "township", "370306100000", full_name="北郊 张丽"),
        "silk": make_user("silk_town", "township", "370306001000"),
        "civil": make_user("civil1", "civil", "370306000000", full_name="李民政"),
        "finance": make_user("fin1", "finance", "370306000000", full_name="赵财政"),
    }


@pytest.fixture
def homes(regions):
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    run = make_home(name="卫生院医养中心", run_by=hospital.pk, beds_eldercare=60, opened_on=D(2020, 1, 1))
    plain = make_home(
        name="民办养老院", credit_code="52370306MJD600080P", beds_eldercare=80, opened_on=D(2020, 1, 1)
    )
    return run, plain


def text(resp) -> str:
    return resp.content.decode()


def messages_of(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def create(client, institution, rule, **fields):
    data = {"institution": institution.pk, "rule": rule, **{k: v for k, v in fields.items() if v is not None}}
    resp = post_form(client, NEW, NEW, data)
    assert resp.status_code == 302, text(resp)[:3000]
    return Application.objects.get(pk=int(re.search(r"/(\d+)/$", resp["Location"]).group(1)))


def act(client, app, action, comment=""):
    """The detail page's action form, as rendered (the state and the last step it showed)."""
    app.refresh_from_db()
    f = app.filing
    last = f.steps.order_by("-at", "-id").first()
    url = f"{LIST}{app.pk}/"
    return post_form(
        client,
        url,
        f"{url}transition/",
        {
            "action": action,
            "comment": comment,
            "expected_status": f.status,
            "expected_step": last.pk if last else 0,
        },
        follow=True,
    )


def approved_rented(users, run, monkeypatch) -> Application:
    town, civil = csrf_client(users["town"]), csrf_client(users["civil"])
    at(monkeypatch, D(2026, 3, 2))
    app = create(town, run, "construction_new_rented", lease_start="2026-01-01", lease_end="2031-01-01")
    at(monkeypatch, D(2026, 3, 3))
    act(town, app, "submit")
    act(civil, app, "accept")
    act(civil, app, "approve", "同意")
    return app


# -- the form, the explanation, the same decision as the API ----------------------------------
def test_a_short_lease_is_explained_with_its_clause(users, homes, monkeypatch):
    run, _ = homes
    town = csrf_client(users["town"])
    at(monkeypatch, D(2026, 3, 2))
    page = text(town.get(NEW))
    assert "系统将自动采集：" in page and "核定养老床位" in page and "入住月报" in page
    assert "租期起止日均计入，如 2026-01-01 至 2030-12-31 为 5 年" in page  # the interpretation, stated
    app = create(town, run, "construction_new_rented", lease_start="2026-01-01", lease_end="2030-12-01")
    assert app.beds == 60  # the 核定 beds by default
    detail = town.get(f"{LIST}{app.pk}/")
    body = text(detail)
    li = re.search(r'<li[^>]*data-check="lease"[^>]*>(.*?)</li>', body, re.S).group(1)
    assert "✗" in li and "租期 4 年 11 个月 1 天（2026-01-01 至 2030-12-01，起止日均计入），不足 5 年" in li
    assert CITE in li
    assert 'data-testid="eligible">不符合' in body
    assert "核定养老床位" in body and "已批准建设补助床位" in body  # the facts snapshot, in Chinese
    assert "✓" in body  # the passing conditions too


def test_the_page_and_the_api_give_the_same_decision(users, homes, monkeypatch):
    run, plain = homes
    at(monkeypatch, D(2026, 3, 2))
    town = csrf_client(users["town"])
    api = Api("bj_town")
    cases = [
        (run, "construction_new_rented", {"lease_start": "2026-01-01", "lease_end": "2031-01-01"}),
        (run, "construction_new_rented", {"lease_start": "2026-01-01", "lease_end": "2030-12-01"}),
        (plain, "construction_conversion", {"beds": 10}),
        (run, "construction_new_owned", {"committed_years": 5}),  # no report: 数据不完整
    ]
    for inst, rule, fields in cases:
        body = api.post(API, {"institution": inst.credit_code, "rule": rule, **fields}).json()
        app = create(town, inst, rule, **fields)
        d = services.current_decision(app)
        assert (d.eligible, f"{d.amount:.2f}" if d.eligible else "0.00", d.checks) == (
            body["eligible"],
            body["amount"],
            body["checks"],
        ), rule
        page = text(town.get(f"{LIST}{app.pk}/"))
        label = {True: "符合", False: "不符合", None: "数据不完整"}[body["eligible"]]
        assert f'data-testid="eligible">{label}<' in page
        if body["eligible"]:
            assert "¥300,000.00" in page
        for c in body["checks"]:
            assert c["message"] in page


def test_preview_shows_the_judgement_without_saving(users, homes, monkeypatch):
    run, _ = homes
    town = csrf_client(users["town"])
    at(monkeypatch, D(2026, 3, 2))
    resp = post_form(
        town,
        NEW,
        NEW,
        {
            "institution": run.pk,
            "rule": "construction_new_rented",
            "lease_start": "2026-01-01",
            "lease_end": "2031-01-01",
            "preview": "1",
        },
    )
    assert resp.status_code == 200
    body = text(resp)
    assert 'data-testid="preview-result"' in body and "¥300,000.00" in body
    assert "2026 年 ¥60,000.00" in body and "达到 5 年以上的要求" in body
    assert not Application.objects.exists()


def test_service_refusals_show_on_the_form(users, homes, monkeypatch):
    _, plain = homes
    town = csrf_client(users["town"])
    resp = post_form(town, NEW, NEW, {"institution": plain.pk, "rule": "operation"})
    assert resp.status_code == 200 and "运营补助须填写补助年度。" in text(resp)
    assert not Application.objects.exists()


def test_back_dating_is_for_civil_only(users, homes, monkeypatch):
    run, _ = homes
    at(monkeypatch, D(2026, 3, 2))
    town, civil = csrf_client(users["town"]), csrf_client(users["civil"])
    assert 'name="application_date"' not in text(town.get(NEW))
    assert "补录纸质申请的申请日期（留空为今天）" in text(civil.get(NEW))
    # A township user posting the field anyway: the form has no such field, it is ignored.
    app = create(town, run, "construction_conversion", application_date="2025-12-01")
    assert (app.application_date, app.backdated) == (D(2026, 3, 2), False)
    app = create(civil, run, "construction_conversion", application_date="2025-12-01")
    assert (app.application_date, app.backdated, app.filing.status) == (D(2025, 12, 1), True, "submitted")
    rows = text(civil.get(LIST))
    assert 'data-testid="backdated">补录<' in rows


# -- the workflow, installments and payments ---------------------------------------------------
def test_submit_accept_approve_through_the_buttons_and_finance_pays_once(users, homes, monkeypatch):
    run, _ = homes
    town, civil = csrf_client(users["town"]), csrf_client(users["civil"])
    at(monkeypatch, D(2026, 3, 2))
    app = create(town, run, "construction_new_rented", lease_start="2026-01-01", lease_end="2031-01-01")
    page = text(town.get(f"{LIST}{app.pk}/"))
    assert 'data-testid="action-submit"' in page
    assert 'data-testid="action-accept"' not in page
    at(monkeypatch, D(2026, 3, 3))
    resp = act(town, app, "submit")
    assert any("已提交" in m for m in messages_of(resp))
    app.refresh_from_db()
    assert (app.filing.status, app.application_date) == ("submitted", D(2026, 3, 3))
    # The applicant cannot decide; the refusal is a message, not an error page.
    resp = act(town, app, "accept")
    assert resp.status_code == 200 and messages_of(resp)
    assert app.filing.__class__.objects.get(pk=app.filing_id).status == "submitted"
    page = text(civil.get(f"{LIST}{app.pk}/"))
    assert 'data-testid="action-accept"' in page
    act(civil, app, "accept")
    resp = act(civil, app, "approve", "同意")
    assert any("已生成 5 期拨付计划" in m for m in messages_of(resp)), messages_of(resp)
    rows = list(Installment.objects.filter(application=app).values_list("due_year", "status"))
    assert rows == [(2026 + i, "scheduled") for i in range(5)]
    assert 'data-testid="pay-2026"' not in text(civil.get(f"{LIST}{app.pk}/"))  # not finance

    fin = csrf_client(users["finance"])
    url = f"{LIST}{app.pk}/"
    page = text(fin.get(url))
    assert 'data-testid="pay-2026"' in page and "¥60,000.00" in page
    first = Installment.objects.get(application=app, due_year=2026)
    pay_url = f"{url}installments/{first.pk}/pay/"
    data = {
        f"i{first.pk}-paid_on": "2026-03-03",
        f"i{first.pk}-amount": "60000.00",
        f"i{first.pk}-voucher_no": "CZ-2026-001",
        f"i{first.pk}-payee_account": "6222000011112222",
        f"i{first.pk}-funding_source": "county",
    }
    resp = post_form(fin, url, pay_url, data, follow=True)
    assert any("已登记 2026 年度拨付 ¥60,000.00" in m for m in messages_of(resp)), messages_of(resp)
    first.refresh_from_db()
    assert first.status == "paid"
    assert 'data-testid="installment-status">已拨付<' in text(resp)
    # Twice: refused with the Chinese message (a stale page posting again).
    resp = post_form(fin, url, pay_url, {**data, f"i{first.pk}-voucher_no": "CZ-2026-002"}, follow=True)
    assert any(DOUBLE_PAYMENT in m for m in messages_of(resp)), messages_of(resp)
    assert Payment.objects.filter(installment=first).count() == 1
    # Reverse it: the installment is payable again.
    pay = Payment.objects.get(installment=first)
    resp = post_form(
        fin,
        url,
        f"{url}payments/{pay.pk}/reverse/",
        {f"p{pay.pk}-on": "2026-03-03", f"p{pay.pk}-voucher_no": "CX-001", f"p{pay.pk}-reason": "账号填错"},
        follow=True,
    )
    assert any("已冲销" in m for m in messages_of(resp)), messages_of(resp)
    first.refresh_from_db()
    assert first.status == "scheduled"
    # Townships cannot pay.
    resp = town.post(pay_url, data)
    assert resp.status_code == 403


def test_rejudge_before_and_correction_after_the_decision(users, homes, monkeypatch):
    run, _ = homes
    app = approved_rented(users, run, monkeypatch)
    civil = csrf_client(users["civil"])
    url = f"{LIST}{app.pk}/"
    page = text(civil.get(url))
    assert 'data-testid="rejudge"' not in page and 'data-testid="correct"' in page
    resp = post_form(civil, url, f"{url}correct/", {"reason": ""}, follow=True)
    assert any("更正核定须说明理由" in m for m in messages_of(resp)), messages_of(resp)
    resp = post_form(civil, url, f"{url}correct/", {"reason": "核定床位录入有误"}, follow=True)
    assert any("已更正核定" in m for m in messages_of(resp))
    body = text(resp)
    assert 'data-testid="earlier"' in body and "历次核定" in body
    assert app.decisions.count() == 3  # created, submitted, corrected
    town = csrf_client(users["town"])
    assert 'data-testid="correct"' not in text(town.get(url))


# -- the printable 补助审批表 ------------------------------------------------------------------
def test_the_print_page_carries_checks_ledger_and_signatures(users, homes, monkeypatch):
    run, _ = homes
    app = approved_rented(users, run, monkeypatch)
    civil = csrf_client(users["civil"])
    body = text(civil.get(f"{LIST}{app.pk}/form/"))
    assert "养老床位补助审批表" in body
    assert "租期 5 年 1 天（2026-01-01 至 2031-01-01，起止日均计入），达到 5 年以上的要求。" in body
    assert CITE in body
    assert "用房属租用且租用年限在5年以上" in body  # the clause text
    for who in ("经办人", "审核人", "分管领导", "财政局"):
        assert who in body
    assert "北郊 张丽" in body and "李民政" in body  # the ledger: who submitted, accepted, approved
    assert "¥300,000.00" in body and "2030 年 ¥60,000.00" in body
    assert "<style" not in body and " style=" not in body  # CSP: static stylesheets only


def test_the_pdf_is_a_pdf_and_audited(users, homes, monkeypatch, tmp_path):
    run, _ = homes
    app = approved_rented(users, run, monkeypatch)
    civil = csrf_client(users["civil"])
    resp = civil.get(f"{LIST}{app.pk}/form.pdf")
    if resp.status_code == 503:
        pytest.skip("WeasyPrint/Pango not installed")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF") and resp["Content-Disposition"].startswith("inline;")
    ev = AuditEvent.objects.get(action="export", object_type="subsidies.application")
    assert ev.detail["format"] == "pdf" and ev.object_id == str(app.pk)
    if not _noto_cjk_installed():
        pytest.skip("fonts-noto-cjk is not installed (Noto Serif/Sans CJK SC)")
    words = pdf_text(resp.content, tmp_path)
    if words is not None:
        for phrase in ("养老床位补助审批表", "分管领导", "达到5年以上的要求", "¥300,000.00"):
            assert phrase in words, phrase
        assert "下载PDF" not in words and "返回申请详情" not in words  # the toolbar is not on the paper
    else:
        assert set("养老床位补助审批表分管领导") <= _mapped_characters(resp.content)
    assert "NotoSansCJKSC" in pdf_fonts(resp.content, tmp_path).replace("-", "")


def test_the_pdf_answers_503_without_weasyprint(users, homes, monkeypatch):
    run, _ = homes
    at(monkeypatch, D(2026, 3, 2))
    app = create(csrf_client(users["town"]), run, "construction_conversion")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` raises ImportError
    resp = csrf_client(users["town"]).get(f"{LIST}{app.pk}/form.pdf")
    assert resp.status_code == 503
    body = text(resp)
    assert "PDF 暂不可用" in body and f"{LIST}{app.pk}/form/" in body
    assert not AuditEvent.objects.filter(action="export").exists()


# -- scope and cost ----------------------------------------------------------------------------
def test_another_township_sees_nothing(users, homes, monkeypatch):
    run, _ = homes
    at(monkeypatch, D(2026, 3, 2))
    app = create(csrf_client(users["town"]), run, "construction_conversion")
    silk = csrf_client(users["silk"])
    for suffix in ("", "form/", "form.pdf"):
        assert silk.get(f"{LIST}{app.pk}/{suffix}").status_code == 404, suffix
    resp = post_form(silk, LIST, f"{LIST}{app.pk}/transition/", {"action": "submit"})
    assert resp.status_code == 404
    assert str(app.pk) not in re.findall(r'data-application="(\d+)"', text(silk.get(LIST)))
    # The institution is not offered to them either.
    assert run.name not in text(silk.get(NEW))
    # A draft is the applicant side's: the civil officer sees it once submitted.
    civil = csrf_client(users["civil"])
    assert civil.get(f"{LIST}{app.pk}/").status_code == 404
    act(csrf_client(users["town"]), app, "submit")
    assert civil.get(f"{LIST}{app.pk}/").status_code == 200


def test_list_filters_and_constant_query_count(users, homes, monkeypatch):
    run, plain = homes
    at(monkeypatch, D(2026, 3, 2))
    town = csrf_client(users["town"])
    create(town, run, "construction_new_rented", lease_start="2026-01-01", lease_end="2031-01-01")
    create(town, plain, "construction_conversion")

    def count(url=LIST):
        with CaptureQueriesContext(connection) as ctx:
            assert town.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(4):
        create(town, plain if i % 2 else run, "construction_conversion", beds=1)
    assert count() == few
    body = text(town.get(LIST))
    assert body.count("data-application=") == 6
    assert "¥300,000.00" in body and "不符合" in body
    body = text(town.get(LIST + "?rule=construction_new_rented"))
    assert body.count("data-application=") == 1 and "60 张" in body
    assert text(town.get(LIST + "?status=submitted")).count("data-application=") == 0
    assert text(town.get(LIST + "?year=2025")).count("data-application=") == 0
    assert text(town.get(LIST + "?year=2026")).count("data-application=") == 6


def test_home_card_counts_what_waits_for_civil(users, homes, monkeypatch):
    run, _ = homes
    at(monkeypatch, D(2026, 3, 2))
    town = csrf_client(users["town"])
    app = create(town, run, "construction_conversion")
    card = pending_card(users["civil"], users["civil"].region)
    assert (card["label"], card["value"]) == ("待审批的补贴申请", 0)
    act(town, app, "submit")
    card = pending_card(users["civil"], users["civil"].region)
    assert card["value"] == 1 and card["link"] == LIST + "?status=open"
    assert pending_card(users["town"], users["town"].region) is None  # not a decider
    civil = csrf_client(users["civil"])
    assert text(civil.get(card["link"])).count("data-application=") == 1


def test_navigation_shows_the_item(users, homes):
    assert "床位补贴" in text(csrf_client(users["town"]).get("/"))
    assert "床位补贴" in text(csrf_client(users["finance"]).get("/"))
