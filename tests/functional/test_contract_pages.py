"""医养签约 pages (issue 5): create through the form (the service's Chinese errors on their
fields), edit, terminate, record visits, file (→ a draft 医养签约协议备案 whose subject is the
contract) with CSRF enforced; the list's filters, its overlap flag and constant query count;
the export (CONTRACT.md's `contracts` columns, neutralised, audited); the coverage page's
numbers on the hand-checked county of tests/integration/test_contracts.py, with suggestions for
the uncovered homes; the non-performing list; scope (404 for another township) and roles
(finance reads, never writes); the home-page cards."""

import csv
import datetime
import io
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from contracts import page_selectors as ps
from contracts import services
from contracts.models import Contract, Visit
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent
from eldercare.workflow import services as wf
from eldercare.workflow.models import Filing
from tests.factories import at, csrf_client, make_home, make_hospital, post_form, upload
from tests.integration import test_contracts as built

pytestmark = pytest.mark.django_db
D = datetime.date
county = built.county  # the hand-checked county of 31 December 2026 (fixture)
CONTRACT_COLUMNS = [
    "协议编号",
    "医疗机构信用代码",
    "养老机构信用代码",
    "合作方式",
    "服务内容",
    "巡诊频次",
    "开始日期",
    "结束日期",
    "终止日期",
]


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Uploads in a temporary directory; sessions in signed cookies (the tests move
    timezone.now about, and a database session saved "in" 2026 would look expired)."""
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def bj_town(make_user):
    """Township staff of 北郊镇 (370306100000), where the county fixture's homes are."""
    return make_user("bj_town", "township", "370306100000", full_name="北郊 张")


@pytest.fixture
def other(make_user):
    """Township staff of 丝绸路街道: another township."""
    return make_user("other", "township", "370306001000")


@pytest.fixture
def finance(make_user):
    return make_user("fin1", "finance", "370306000000")


def text(resp) -> str:
    return resp.content.decode()


def messages_of(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def contract(no) -> Contract:
    return Contract.objects.get(agreement_no=no)


def form_data(medical, home, no, **extra):
    return {
        "medical": medical.pk,
        "eldercare": home.pk,
        "agreement_no": no,
        "mode": "agreement",
        "services": ["visits", "checkup"],
        "visit_frequency": "monthly",
        "start": "2026-03-01",
        "end": "2027-02-28",
        **extra,
    }


# -- create / edit ------------------------------------------------------------------------------
def test_create_through_the_form_with_chinese_errors(county, bj_town, monkeypatch):
    hc, clinic, h = county
    far = make_hospital(
        name="丝绸路社区卫生服务中心", region="370306001000", credit_code=built.code("88", "12")
    )
    at(monkeypatch, D(2026, 2, 20))
    t = csrf_client(bj_town)
    page = t.get("/contracts/new/")
    assert page.status_code == 200
    body = text(page)
    # The medical party may be anywhere in the county: another township's is named, no code;
    # the township's own with its code.
    assert far.name in body and far.credit_code not in body
    assert f"北郊镇卫生院（{hc.credit_code}）" in body and h["none"].name in body
    assert "上门巡诊" in body and "健康体检" in body and "安宁疗护" in body  # the checklist

    bad = form_data(hc, h["none"], "BJ-2026-09", start="2026-05-01", end="2026-05-01")
    resp = post_form(t, "/contracts/new/", "/contracts/new/", bad)
    assert resp.status_code == 200 and not Contract.objects.filter(agreement_no="BJ-2026-09").exists()
    assert resp.context["form"].errors["end"] == ["结束日期应晚于开始日期。"]
    assert "结束日期应晚于开始日期。" in text(resp)

    resp = post_form(
        t, "/contracts/new/", "/contracts/new/", form_data(hc, h["none"], "BJ-2026-09", visit_frequency="")
    )
    assert resp.context["form"].errors["visit_frequency"] == ["选择了上门巡诊，请填写巡诊频次。"]
    assert "选择了上门巡诊，请填写巡诊频次。" in text(resp)

    resp = post_form(t, "/contracts/new/", "/contracts/new/", {"agreement_no": ""})
    errors = resp.context["form"].errors
    assert errors["medical"] == ["请选择签约的医疗卫生机构。"] and errors["agreement_no"] == [
        "请填写协议编号。"
    ]

    # The medical party of another township of the county is accepted.
    resp = post_form(t, "/contracts/new/", "/contracts/new/", form_data(far, h["none"], "SC-2026-01"))
    assert resp.status_code == 302
    c = contract("SC-2026-01")
    assert resp["Location"] == f"/contracts/{c.pk}/"
    assert (c.medical, c.eldercare, c.services, c.visit_frequency, c.created_by) == (
        far,
        h["none"],
        ["visits", "checkup"],
        "monthly",
        bj_town,
    )
    detail = t.get(resp["Location"])
    assert "已登记医养签约协议 SC-2026-01。" in messages_of(detail)
    # The medical party is outside the township's scope: named, not linked, no code.
    assert f'href="/institutions/{far.pk}/"' not in text(detail)
    assert far.name in text(detail) and far.credit_code not in text(detail)
    assert f'href="/institutions/{h["none"].pk}/"' in text(detail)

    # A second contract between the same pair over the same months: saved, and flagged.
    resp = post_form(
        t, "/contracts/new/", "/contracts/new/", form_data(far, h["none"], "SC-2026-02"), follow=True
    )
    warning = [m for m in messages_of(resp) if m.startswith("注意")]
    assert warning and "SC-2026-01" in warning[0]


def test_a_township_cannot_pick_another_townships_home(county, other, monkeypatch):
    hc, clinic, h = county
    t = csrf_client(other)
    assert h["none"].name not in text(t.get("/contracts/new/"))
    resp = post_form(t, "/contracts/new/", "/contracts/new/", form_data(hc, h["none"], "X-1"))
    assert resp.status_code == 200 and "所选机构不在可选范围内" in text(resp)
    assert not Contract.objects.filter(agreement_no="X-1").exists()


def test_edit_is_audited_and_shown_on_the_timeline(county, civil, monkeypatch):
    c = contract("BJ-2026-01")
    Contract.objects.filter(pk=c.pk).update(filed_on=D(2026, 2, 1))
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(civil)
    url = f"/contracts/{c.pk}/edit/"
    page = t.get(url)
    assert page.status_code == 200 and 'value="BJ-2026-01"' in text(page)
    data = form_data(c.medical, c.eldercare, "BJ-2026-01", start="2026-01-01", end="2027-06-30")
    data["services"] = ["checkup", "visits"]  # the same checklist, any order
    resp = post_form(t, url, url, data, follow=True)
    assert resp.redirect_chain[-1][0] == f"/contracts/{c.pk}/"
    c.refresh_from_db()
    assert c.end == D(2027, 6, 30) and c.services == ["visits", "checkup"] and c.filed_on is None
    msgs = messages_of(resp)
    assert "已保存协议 BJ-2026-01 的修改。" in msgs and any("重新办理备案" in m for m in msgs)
    event = AuditEvent.objects.filter(object_type="contracts.contract", object_id=str(c.pk)).latest("id")
    assert event.changes["end"] == ["2026-12-31", "2027-06-30"] and "services" not in event.changes
    timeline = {m.what: m for m in resp.context["timeline"]}
    assert set(timeline) == {"登记协议", "修改协议"}
    change = {ch.label: (ch.old, ch.new) for ch in timeline["修改协议"].changes}
    assert change["结束日期"] == ("2026-12-31", "2027-06-30") and change["已备案日期"] == ("2026-02-01", "—")
    body = text(resp)
    assert "结束日期：</span>2026-12-31" in body and "civil1" in body
    created = {ch.label: ch.new for ch in timeline["登记协议"].changes}
    assert created["医疗机构"] == "北郊镇卫生院" and created["服务内容"] == "上门巡诊、健康体检"
    assert created["巡诊频次"] == "每月"

    # Saving the form unchanged changes nothing.
    resp = post_form(t, url, url, {**data, "end": "2027-06-30"}, follow=True)
    assert "内容没有变化，未作修改。" in messages_of(resp)
    assert AuditEvent.objects.filter(object_type="contracts.contract", object_id=str(c.pk)).count() == 2


def test_terminate_with_errors_then_for_real(county, bj_town, monkeypatch):
    c = contract("BJ-2026-01")
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(bj_town)
    url = f"/contracts/{c.pk}/"
    resp = post_form(t, url, f"{url}terminate/", {"terminated_on": "2025-12-01", "reason": "x"})
    assert resp.status_code == 200 and "终止日期不能早于开始日期。" in text(resp)
    resp = post_form(t, url, f"{url}terminate/", {"terminated_on": ""})
    assert "请填写终止日期。" in text(resp)
    resp = post_form(
        t,
        url,
        f"{url}terminate/",
        {"terminated_on": "2026-06-15", "reason": "养老院更换签约机构"},
        follow=True,
    )
    c.refresh_from_db()
    assert (c.terminated_on, c.termination_reason) == (D(2026, 6, 15), "养老院更换签约机构")
    assert "协议 BJ-2026-01 已于 2026-06-15 终止。" in messages_of(resp)
    at(monkeypatch, D(2026, 6, 20))
    page = t.get(url)
    assert page.context["c"].status == "terminated" and 'data-testid="terminate"' not in text(page)
    assert 'data-testid="file"' not in text(page)  # an ended contract is not filed
    assert "终止协议" in [m.what for m in page.context["timeline"]]
    assert "养老院更换签约机构" in text(page)


def test_visits_are_recorded_and_a_duplicate_day_refused(county, bj_town, monkeypatch):
    c = contract("BJ-2026-01")
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(bj_town)
    url = f"/contracts/{c.pk}/"
    resp = post_form(t, url, f"{url}visits/", {"date": "2026-05-10", "persons": "18", "note": "血压筛查"})
    assert resp.status_code == 302 and resp["Location"] == f"{url}#visits"
    v = Visit.objects.get(contract=c)
    assert (v.date, v.persons, v.note, v.created_by) == (D(2026, 5, 10), 18, "血压筛查", bj_town)
    resp = post_form(t, url, f"{url}visits/", {"date": "2026-05-10"})
    assert resp.status_code == 200 and "2026-05-10 已有该协议的巡诊记录。" in text(resp)
    resp = post_form(t, url, f"{url}visits/", {"date": "2026-07-01"})
    assert "巡诊日期不能晚于今天。" in text(resp)
    resp = post_form(t, url, f"{url}visits/", {"date": "2026-05-11", "persons": "-2"})
    assert "服务人次不能为负数。" in text(resp)
    assert Visit.objects.filter(contract=c).count() == 1
    page = t.get(url)
    assert 'data-visit="2026-05-10"' in text(page)
    q2 = {(q.year, q.quarter): q for q in page.context["quarters"]}[(2026, 2)]
    assert (q2.expected, q2.logged, q2.verdict) == (3, 1, "进行中")
    q1 = {(q.year, q.quarter): q for q in page.context["quarters"]}[(2026, 1)]
    assert (q1.expected, q1.logged, q1.verdict) == (3, 0, "未履约")


def test_file_makes_a_draft_filing_with_the_contract_as_subject(county, bj_town, civil, monkeypatch):
    c = contract("BJ-2026-01")
    at(monkeypatch, D(2026, 3, 2))
    t = csrf_client(bj_town)
    url = f"/contracts/{c.pk}/"
    assert 'data-testid="file"' in text(t.get(url))
    resp = post_form(t, url, f"{url}file/")
    f = Filing.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/filings/{f.pk}/"
    assert (f.status, f.subject, f.type.code, f.region_id) == ("draft", c, "contract", "370306100000")
    page = t.get(url)
    assert page.context["open_filing"] == f and f'href="/filings/{f.pk}/"' in text(page)
    assert 'data-testid="file"' not in text(page)
    resp = post_form(t, url, f"{url}file/", follow=True)
    assert f"该协议已有办理中的备案申请（草稿 #{f.pk}），请在该申请中办理。" in messages_of(resp)
    # A civil officer sees that a draft is being prepared, not a link to it (the applicant's).
    officer = csrf_client(civil).get(url)
    assert officer.context["open_filing"] == f and f'href="/filings/{f.pk}/"' not in text(officer)
    assert "由申请方办理" in text(officer) and 'data-testid="file"' not in text(officer)
    assert Filing.objects.count() == 1

    # Through the engine to approval: the contract is 已备案 and the timeline shows the steps.
    wf.attachment_add(actor=bj_town, filing=f, requirement="agreement", uploaded=upload("application.pdf"))
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    wf.filing_transition(actor=civil, filing=f, action="accept")
    at(monkeypatch, D(2026, 3, 4))
    wf.filing_transition(actor=civil, filing=f, action="approve")
    f.refresh_from_db()
    page = t.get(url)
    assert page.context["c"].filed_on == D(2026, 3, 4) and "已于 2026-03-04 备案" in text(page)
    whats = [m.what for m in page.context["timeline"]]
    assert f"备案通过（{f.number}）" in whats and any(w.startswith(f"备案 {f.number}：") for w in whats)
    assert contract("BJ-2026-01").pk in {
        row.pk for row in t.get("/contracts/?filed=1").context["page"].object_list
    }


# -- the list -----------------------------------------------------------------------------------
def numbers(resp) -> set[str]:
    return {c.agreement_no for c in resp.context["page"].object_list}


def test_list_filters(county, civil, monkeypatch):
    hc, clinic, h = county
    at(monkeypatch, D(2026, 12, 5))
    t = csrf_client(civil)
    all_rows = t.get("/contracts/")
    assert numbers(all_rows) == {"BJ-2026-01", "BJ-2026-02", "BJ-2027-01", "LJ-2026-01"}
    assert numbers(t.get("/contracts/?status=expiring")) == {"BJ-2026-01", "LJ-2026-01"}
    assert numbers(t.get("/contracts/?status=terminated")) == {"BJ-2026-02"}
    assert numbers(t.get("/contracts/?status=not_started")) == {"BJ-2027-01"}
    assert numbers(t.get(f"/contracts/?medical={clinic.pk}")) == {"LJ-2026-01"}
    assert numbers(t.get("/contracts/?q=明年")) == {"BJ-2027-01"}
    assert numbers(t.get("/contracts/?filed=1")) == set()
    assert numbers(t.get("/contracts/?filed=0&status=expiring")) == {"BJ-2026-01", "LJ-2026-01"}
    assert numbers(t.get("/contracts/?township=370306001000")) == set()
    assert len(numbers(t.get("/contracts/?township=370306100000"))) == 4
    assert numbers(t.get("/contracts/?mode=entrusted")) == set()
    assert len(numbers(t.get("/contracts/?status=bogus&mode=bogus&medical=x"))) == 4  # ignored
    body = text(t.get("/contracts/?status=expiring"))
    assert 'data-status="expiring"' in body and "text-bg-warning" in body and "北郊镇" in body
    assert "?status=expiring&amp;format=xlsx" in body or "status=expiring" in body


@pytest.mark.usefixtures("no_versioned_cache")
def test_list_flags_overlaps_without_extra_queries(county, civil, monkeypatch):
    hc, clinic, h = county
    t = csrf_client(civil)
    t.get("/contracts/")
    with CaptureQueriesContext(connection) as few:
        resp = t.get("/contracts/")
    assert 'data-testid="overlap"' not in text(resp)
    built.sign(hc, h["contract"], "BJ-2026-01B", start=D(2026, 7, 1), end=D(2027, 6, 30))
    for i in range(8):
        home = built.home(f"新增{i}号养老院")
        built.sign(hc, home, f"N-{i}", visit_frequency="weekly", services=["visits"])
    with CaptureQueriesContext(connection) as more:
        resp = t.get("/contracts/")
    assert len(resp.context["page"].object_list) == 13
    assert len(more.captured_queries) == len(few.captured_queries)
    flagged = {c.agreement_no: [o.agreement_no for o in c.overlaps] for c in resp.context["page"].object_list}
    assert flagged["BJ-2026-01B"] == ["BJ-2026-01"] and flagged["BJ-2026-01"] == ["BJ-2026-01B"]
    assert flagged["BJ-2026-02"] == [] and text(resp).count('data-testid="overlap"') == 2


# -- export -------------------------------------------------------------------------------------
def test_export_xlsx_has_the_contract_columns_and_is_audited(county, civil, monkeypatch):
    hc, clinic, h = county
    happy = make_home(name="王家村幸福院", region="370306100202", credit_code="", type="rural_happiness_home")
    built.sign(hc, happy, "=HYPERLINK(1)", services=["education"])
    at(monkeypatch, D(2026, 12, 5))
    t = csrf_client(civil)
    assert "/contracts/export/?format=xlsx" in text(t.get("/contracts/"))
    resp = t.get("/contracts/export/?format=xlsx&status=expiring")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0][:9]) == CONTRACT_COLUMNS
    assert list(rows[0][9:]) == ["状态", "已备案日期", "医疗机构名称", "养老机构名称"]
    body = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(body) == {"BJ-2026-01", "LJ-2026-01", "'=HYPERLINK(1)"}
    first = body["BJ-2026-01"]
    assert (
        first["医疗机构信用代码"] == hc.credit_code and first["养老机构信用代码"] == h["contract"].credit_code
    )
    assert (first["合作方式"], first["服务内容"], first["巡诊频次"]) == (
        "签约合作",
        "上门巡诊、健康体检",
        "每月",
    )
    assert (first["开始日期"], first["结束日期"], first["状态"]) == ("2026-01-01", "2026-12-31", "即将到期")
    happy.refresh_from_db()
    assert body["'=HYPERLINK(1)"]["养老机构信用代码"] == happy.portal_no and happy.portal_no
    event = AuditEvent.objects.filter(action=Action.EXPORT, object_type="contracts.contract").latest("id")
    assert event.detail == {"rows": 3, "format": "xlsx"} and event.username == "civil1"

    resp = t.get("/contracts/export/?format=csv&status=terminated")
    lines = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert lines[0][:9] == CONTRACT_COLUMNS and [r[0] for r in lines[1:]] == ["BJ-2026-02"]
    assert lines[1][8] == "2026-11-15" and lines[1][9] == "已终止"


# -- coverage -----------------------------------------------------------------------------------
def test_coverage_page_on_31_december(county, civil):
    hc, clinic, h = county
    t = csrf_client(civil)
    resp = t.get("/contracts/coverage/?date=2026-12-31")
    assert resp.status_code == 200
    ctx = resp.context
    assert (ctx["operating"], ctx["covered"], ctx["uncovered"], ctx["rate"]) == (8, 4, 4, Decimal("50.00"))
    towns = {r.code: r for r in ctx["towns"]}
    bj = towns["370306100000"]
    assert (bj.operating, bj.covered, bj.rate) == (8, 4, Decimal("50.00"))
    assert (towns["370306001000"].operating, towns["370306001000"].rate) == (0, None)
    body = text(resp)
    assert re.search(r'data-township="370306001000"><td>丝绸路街道</td>.*?data-col="rate">—<', body)
    uncovered = {u.row.name: u for u in bj.uncovered_list}
    assert set(uncovered) == {h[k].name for k in ("terminated", "next_year", "medical_closed", "none")}
    # Suggestions: no coordinates, so the same township's operating medical institutions (the
    # clinic is suspended): the 卫生院, "同乡镇".
    names = [s.institution.name for s, _link in uncovered[h["none"].name].suggestions]
    assert names == ["北郊镇卫生院"] and "同乡镇" in body
    routes = {r.name: r.routes for r in bj.all_rows}
    assert routes[h["unit"].name] == ["养中办医"] and routes[h["run_by"].name] == ["医中办养"]
    assert "医养签约" in body and "<details" in body
    # The chart: its data as a JSON block, ECharts served locally, no inline script.
    data = json.loads(re.search(r'id="coverage-data" type="application/json">(.*?)</script>', body).group(1))
    assert data["townships"] == ["丝绸路街道", "北郊镇"] and data["covered"] == [0, 4]
    assert data["uncovered"] == [0, 4] and data["rates"] == [None, "50.00"]
    assert "/static/vendor/echarts/echarts.min.js" in body and "/static/js/coverage-chart.js" in body
    # Another day, another answer (history, not today's copy).
    nov = t.get("/contracts/coverage/?date=2026-11-14").context
    assert (nov["operating"], nov["covered"]) == (8, 5)  # 戊 and 庚 still covered, 乙 not yet
    # An expired contract drops coverage the next year.
    jan = t.get("/contracts/coverage/?date=2027-01-15").context
    assert h["contract"].name in {u.row.name for t_ in jan["towns"] for u in t_.uncovered_list}


def test_rates_are_rounded_half_up_to_two_decimals():
    assert ps.percent(2, 3) == Decimal("66.67") and str(ps.percent(2, 3)) == "66.67"
    assert str(ps.percent(1, 8)) == "12.50" and str(ps.percent(1, 3)) == "33.33"
    assert str(ps.percent(1, 40000)) == "0.00" and str(ps.percent(1, 20000)) == "0.01"  # ½ → up
    assert str(ps.percent(5, 5)) == "100.00" and str(ps.percent(0, 4)) == "0.00"
    assert ps.percent(0, 0) is None


def test_coverage_rate_of_two_homes_in_three(regions, civil, monkeypatch):
    hc = make_hospital(opened_on=D(2010, 1, 1))
    homes = [built.home(f"丝绸路{i}号养老院", region="370306001000") for i in range(3)]
    built.sign(hc, homes[0], "SC-1")
    built.sign(hc, homes[1], "SC-2")
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(civil)
    resp = t.get("/contracts/coverage/")
    ctx = resp.context
    assert (ctx["day"], ctx["operating"], ctx["covered"]) == (D(2026, 6, 1), 3, 2)
    assert ctx["rate"] == Decimal("66.67")
    towns = {r.code: r for r in ctx["towns"]}
    assert towns["370306001000"].rate == Decimal("66.67") and towns["370306100000"].rate is None
    body = text(resp)
    assert re.search(r'data-township="370306001000">.*?data-col="rate">66\.67%<', body)
    assert re.search(r'data-township="370306100000">.*?data-col="rate">—<', body)
    assert 'data-total="rate">66.67%<' in body and "66.7%" not in body
    data = json.loads(re.search(r'id="coverage-data" type="application/json">(.*?)</script>', body).group(1))
    assert data["townships"] == ["丝绸路街道", "北郊镇"] and data["rates"] == ["66.67", None]
    # The shortcuts: 31 December of past years; the current year means today, never a future day.
    assert [(d, label) for d, label, _current in ctx["year_ends"]] == [
        (D(2024, 12, 31), "2024年末"),
        (D(2025, 12, 31), "2025年末"),
        (D(2026, 6, 1), "今年（截至今日）"),
    ]
    assert "今年（截至今日）" in body and "2026-12-31" not in body
    older = t.get("/contracts/coverage/?date=2021-03-01").context
    assert [d for d, _label, _c in older["year_ends"]][0] == D(2021, 12, 31)
    future = t.get("/contracts/coverage/?date=2027-03-01").context
    assert max(d for d, _label, _c in future["year_ends"]) == D(2026, 6, 1)


def test_medical_party_of_another_township_is_named_without_its_code(county, bj_town, civil, monkeypatch):
    from institutions import services as registry

    hc, clinic, h = county
    far = make_hospital(
        name="丝绸路社区卫生服务中心", region="370306001000", credit_code=built.code("88", "12")
    )
    far.refresh_from_db()
    c = built.sign(far, h["none"], "SC-2026-01", visit_frequency="monthly", services=["visits"])
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(bj_town)
    hidden = [far.credit_code, *([far.portal_no] if far.portal_no else [])]

    detail = text(t.get(f"/contracts/{c.pk}/"))
    assert far.name in detail and f'href="/institutions/{far.pk}/"' not in detail
    assert not any(code in detail for code in hidden) and 'data-testid="medical-code"' not in detail
    assert h["none"].credit_code in detail  # the township's own home: with its code
    listing = text(t.get("/contracts/"))
    assert far.name in listing and not any(code in listing for code in hidden)
    form = text(t.get(f"/contracts/{c.pk}/edit/"))
    assert far.name in form and not any(code in form for code in hidden)
    assert f"{hc.name}（{hc.credit_code}）" in form  # in scope: with its code, as before
    # A coverage suggestion outside the township: named only (no link, no distance either).
    registry.institution_change(
        actor=SYSTEM, institution=h["terminated"], changes={"latitude": "36.80", "longitude": "117.87"}
    )
    registry.institution_change(
        actor=SYSTEM, institution=far, changes={"latitude": "36.90", "longitude": "117.87"}
    )
    cov = text(t.get("/contracts/coverage/?date=2026-12-31"))
    row = re.search(rf'data-home="{h["terminated"].pk}">(.*?)</tr>', cov, re.S).group(1)
    assert far.name in row and f'href="/institutions/{far.pk}/"' not in row and " km" not in row
    assert not any(code in cov for code in hidden)

    # A county officer's scope covers it: code and link as before.
    officer = text(csrf_client(civil).get(f"/contracts/{c.pk}/"))
    assert far.credit_code in officer and f'href="/institutions/{far.pk}/"' in officer
    assert 'data-testid="medical-code"' in officer


def test_quarter_table_counts_only_visits_on_active_days(county, bj_town, monkeypatch):
    c = contract("BJ-2026-01")
    at(monkeypatch, D(2026, 6, 1))
    for day in (D(2026, 5, 10), D(2026, 5, 20)):
        services.visit_record(actor=bj_town, contract=c, date=day)
    # The term shortened afterwards (e.g. a terminating import): 20 May is no longer in term.
    Contract.objects.filter(pk=c.pk).update(terminated_on=D(2026, 5, 15))
    page = csrf_client(bj_town).get(f"/contracts/{c.pk}/")
    q2 = {(q.year, q.quarter): q for q in page.context["quarters"]}[(2026, 2)]
    assert q2.logged == 1
    assert len(page.context["visits"]) == 2  # the visits are still listed


def test_uncovered_suggestions_by_distance(county, civil):
    from institutions import services as registry

    hc, clinic, h = county
    registry.institution_change(
        actor=SYSTEM, institution=h["none"], changes={"latitude": "36.80", "longitude": "117.87"}
    )
    registry.institution_change(
        actor=SYSTEM, institution=hc, changes={"latitude": "36.90", "longitude": "117.87"}
    )
    body = text(csrf_client(civil).get("/contracts/coverage/?date=2026-12-31"))
    row = re.search(rf'data-home="{h["none"].pk}">(.*?)</tr>', body, re.S).group(1)
    assert "北郊镇卫生院" in row and "11.1 km" in row
    assert f"/contracts/new/?eldercare={h['none'].pk}&amp;medical={hc.pk}" in row


@pytest.mark.usefixtures("no_versioned_cache")
def test_coverage_queries_do_not_grow_with_homes(county, civil):
    t = csrf_client(civil)
    url = "/contracts/coverage/?date=2026-12-31"
    t.get(url)
    with CaptureQueriesContext(connection) as few:
        t.get(url)
    for i in range(6):
        built.home(f"加测{i}号养老院", region="370306001000" if i % 2 else "370306100201")
    make_hospital(
        name="丝绸路街道社区卫生服务中心", region="370306001000", credit_code=built.code("99", "12")
    )
    with CaptureQueriesContext(connection) as more:
        resp = t.get(url)
    assert resp.context["uncovered"] == 10
    assert len(more.captured_queries) == len(few.captured_queries)


# -- performance --------------------------------------------------------------------------------
def test_performance_page_lists_the_non_performing_first(county, civil, monkeypatch):
    hc, clinic, h = county
    monthly = contract("BJ-2026-01")
    weekly = built.sign(hc, h["none"], "BJ-2026-W", visit_frequency="weekly")
    at(monkeypatch, D(2027, 1, 5))
    for day in (D(2026, 10, 9), D(2026, 11, 13)):
        services.visit_record(actor=civil, contract=monthly, date=day, persons=20)
    for week in range(13):
        services.visit_record(
            actor=civil, contract=weekly, date=D(2026, 10, 2) + datetime.timedelta(days=7 * week)
        )
    t = csrf_client(civil)
    resp = t.get("/contracts/performance/")  # default: the last complete quarter
    assert (resp.context["year"], resp.context["quarter"]) == (2026, 4)
    items = resp.context["items"]
    assert [(p.contract.agreement_no, p.expected, p.logged, p.non_performing) for p in items] == [
        ("BJ-2026-01", 3, 2, True),
        ("BJ-2026-W", 13, 13, False),
    ]
    body = text(resp)
    assert re.search(rf'data-contract="{monthly.pk}" data-non-performing="1" class="table-danger"', body)
    assert "未履约" in body
    town = resp.context["by_township"]
    assert [(g.label, g.non_performing, g.judged) for g in town] == [("北郊镇", 1, 2)]
    assert [(g.label, g.non_performing, g.judged) for g in resp.context["by_medical"]] == [
        ("北郊镇卫生院", 1, 2)
    ]
    q3 = t.get("/contracts/performance/?year=2026&quarter=3").context["items"]
    assert [(p.expected, p.logged, p.non_performing) for p in q3] == [(3, 0, True), (13, 0, True)]
    assert t.get("/contracts/performance/?year=x&quarter=9").context["quarter"] == 4


# -- scope and roles ------------------------------------------------------------------------------
def test_another_township_gets_404_and_sees_nothing(county, other, bj_town, make_user, monkeypatch):
    c = contract("BJ-2026-01")
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(other)
    url = f"/contracts/{c.pk}/"
    assert t.get(url).status_code == 404
    assert t.get(f"{url}edit/").status_code == 404
    page = t.get("/contracts/")  # a page with a CSRF token
    assert numbers(page) == set()
    for action, data in (
        ("terminate/", {"terminated_on": "2026-06-15"}),
        ("visits/", {"date": "2026-05-10"}),
        ("file/", {}),
    ):
        resp = post_form(t, "/contracts/", f"{url}{action}", data)
        assert resp.status_code == 404, action
    c.refresh_from_db()
    assert c.terminated_on is None and not Visit.objects.exists() and not Filing.objects.exists()
    cov = t.get("/contracts/coverage/?date=2026-12-31").context
    assert (cov["operating"], cov["covered"]) == (0, 0)
    assert t.get("/contracts/export/?format=xlsx").status_code == 403  # townships do not export
    # A county officer of the neighbouring county exports, and gets none of these.
    far = csrf_client(make_user("civil_far", "civil", "370307000000"))
    rows = list(
        load_workbook(io.BytesIO(far.get("/contracts/export/").content)).active.iter_rows(values_only=True)
    )
    assert len(rows) == 1 and list(rows[0][:9]) == CONTRACT_COLUMNS
    # The home's own township does see it.
    assert csrf_client(bj_town).get(url).status_code == 200


def test_finance_reads_but_never_writes(county, finance, monkeypatch):
    c = contract("BJ-2026-01")
    at(monkeypatch, D(2026, 6, 1))
    t = csrf_client(finance)
    assert t.get("/contracts/").status_code == 200
    page = t.get(f"/contracts/{c.pk}/")
    assert page.status_code == 200
    body = text(page)
    assert 'data-testid="edit"' not in body and 'data-testid="terminate"' not in body
    assert 'data-testid="visit-form"' not in body and 'data-testid="file"' not in body
    assert (
        t.get("/contracts/coverage/").status_code == 200
        and t.get("/contracts/performance/").status_code == 200
    )
    assert t.get("/contracts/new/").status_code == 403
    assert t.get(f"/contracts/{c.pk}/edit/").status_code == 403
    assert (
        post_form(
            t, "/contracts/", f"/contracts/{c.pk}/terminate/", {"terminated_on": "2026-06-15"}
        ).status_code
        == 403
    )
    assert (
        post_form(t, "/contracts/", f"/contracts/{c.pk}/visits/", {"date": "2026-05-10"}).status_code == 403
    )
    assert post_form(t, "/contracts/", f"/contracts/{c.pk}/file/").status_code == 403
    assert t.get("/contracts/export/").status_code == 403
    assert "医养签约" in [str(i["label"]) for i in page.context["nav_items"]]


def test_writes_need_post_and_csrf(county, civil):
    c = contract("BJ-2026-01")
    t = csrf_client(civil)
    assert t.get(f"/contracts/{c.pk}/terminate/").status_code == 405
    assert t.post(f"/contracts/{c.pk}/terminate/", {"terminated_on": "2026-06-15"}).status_code == 403
    c.refresh_from_db()
    assert c.terminated_on is None


# -- the home page ------------------------------------------------------------------------------
def cards(client) -> dict:
    resp = client.get("/")
    return {str(c["label"]): (c["value"], c.get("link")) for c in resp.context["cards"]}


def test_home_cards(county, civil, other, monkeypatch):
    at(monkeypatch, D(2026, 12, 5))
    mine = cards(csrf_client(civil))
    assert mine["即将到期的医养签约"] == (2, "/contracts/?status=expiring")
    # On 5 December: 甲 (unit), 丙 (run by), 丁 (contract) covered; 乙's unit starts on the 20th.
    assert mine["未提供医养结合服务的养老机构"] == (5, "/contracts/coverage/")
    theirs = cards(csrf_client(other))
    assert theirs["即将到期的医养签约"][0] == 0 and theirs["未提供医养结合服务的养老机构"][0] == 0


@pytest.mark.parametrize("role", ["health", "civil", "township", "finance", "admin", "auditor"])
def test_every_page_answers_every_role_without_data(role, make_user, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"  # the second factor's session
    user = make_user(f"u-{role}", role, "370306100000" if role == "township" else "370306000000")
    t = csrf_client(user)
    allowed = user.has_perm("contracts.view_contract")
    for url in (
        "/contracts/",
        "/contracts/coverage/",
        "/contracts/coverage/?date=2026-12-31",
        "/contracts/coverage/?date=bogus",
        "/contracts/performance/",
        "/contracts/performance/?year=2026&quarter=1",
        "/contracts/new/",
        "/contracts/export/?format=csv",
        "/",
    ):
        resp = t.get(url)
        if url == "/":
            assert resp.status_code == 200
            continue
        expected = {200} if allowed else {403}
        if url.startswith("/contracts/new/") and not user.has_perm("contracts.add_contract"):
            expected = {403}
        if url.startswith("/contracts/export/") and not user.has_perm("contracts.export_contract"):
            expected = {403}
        assert resp.status_code in expected, (role, url, resp.status_code)
    assert t.get("/contracts/999999/").status_code == (404 if allowed else 403)
