"""乡镇年报 pages (issue 7) through Django's client with CSRF enforced: the list of a year (township
users see their own only, status badges, 「有修订」, bulk accept with a select-all box for county
users), the entry form (one input per reported field, Chinese labels, errors on their field),
submit, accept, reopen with a reason, the reporting calendar (default due date said so, the
not-yet-reported list, setting a due date) and the nav entry; other townships are 404."""

import datetime

import pytest

from assessments import township_reports as svc
from assessments.models import ReportingPeriod, ReportStatus, TownshipReport
from tests.factories import at, csrf_client, page_token, post_form

pytestmark = pytest.mark.django_db
D = datetime.date
SILK, BEIJIAO, COUNTY = "370306001000", "370306100000", "370306000000"
LIST = "/reports/township/"
FULL = {
    "pop60": "1,200",
    "fd_signed60": "900",
    "pop65": "950",
    "health_managed65": "720",
    "villages": "2",
    "villages_with_center": "2",
    "satisfaction": "93.5",
}


def page(code=SILK, year=2025):
    return f"/reports/township/{code}/{year}/"


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch):
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = False
    at(monkeypatch, D(2026, 1, 20))


@pytest.fixture
def users(make_user):
    return {
        "silk": make_user("silk_town", "township", SILK),
        "beijiao": make_user("bj_town", "township", BEIJIAO),
        "civil": make_user("civil1", "civil", COUNTY),
        "health": make_user("health1", "health", COUNTY),
        "finance": make_user("fin1", "finance", COUNTY),
    }


def text(resp) -> str:
    return resp.content.decode()


def test_nav_entry_for_those_who_see_reports(users):
    for who in ("silk", "civil", "health"):
        assert "乡镇年报" in text(csrf_client(users[who]).get("/")), who
    assert 'data-nav="assessments:township_reports"' not in text(csrf_client(users["finance"]).get("/"))
    assert csrf_client(users["finance"]).get(LIST).status_code == 403


def test_township_enters_checks_and_submits(users):
    c = csrf_client(users["silk"])
    resp = c.get(page())
    body = text(resp)
    assert resp.status_code == 200 and 'data-testid="report-form"' in body
    for label in ("60岁以上常住老年人数", "家庭医生签约60岁以上老年人数", "老年人满意度"):
        assert f">{label}</label>" in body
    assert "0–100，最多1位小数" in body and "默认为次年1月31日" in body
    # numerator above denominator: refused on its field, nothing saved
    resp = post_form(c, page(), page(), {**FULL, "fd_signed60": "1,300", "then": ""})
    assert resp.status_code == 400
    body = text(resp)
    assert 'data-error="fd_signed60"' in body and "不能大于“60岁以上常住老年人数”（1,200）" in body
    assert not TownshipReport.objects.exists()
    resp = post_form(c, page(), page(), {**FULL, "satisfaction": "120", "then": ""})
    assert 'data-error="satisfaction"' in text(resp) and "不能大于100" in text(resp)

    resp = post_form(c, page(), page(), {**FULL, "then": ""}, follow=True)
    assert "已保存" in text(resp)
    r = TownshipReport.objects.get()
    assert (r.status, r.values["pop60"], r.values["satisfaction"]) == (ReportStatus.DRAFT, 1200, 93.5)
    assert 'value="1200"' in text(resp)  # the form shows the stored figure
    resp = post_form(c, page(), page() + "submit/", follow=True)
    assert "已提交" in text(resp)
    r.refresh_from_db()
    assert r.status == ReportStatus.SUBMITTED
    body = text(c.get(page()))
    assert 'data-testid="report-form"' not in body and 'data-status="submitted"' in body
    # no accept button for a township; posting is refused
    assert 'data-testid="accept"' not in body
    assert post_form(c, page(), page() + "accept/").status_code == 403


def test_save_and_submit_in_one_step_and_the_county_saves_and_accepts(users):
    c = csrf_client(users["silk"])
    post_form(c, page(), page(), {**FULL, "then": "submit"})
    assert TownshipReport.objects.get().status == ReportStatus.SUBMITTED
    county = csrf_client(users["civil"])
    assert 'data-testid="save-accept"' in text(county.get(page(BEIJIAO)))
    resp = post_form(county, page(BEIJIAO), page(BEIJIAO), {**FULL, "then": "accept"}, follow=True)
    assert "已保存并审核" in text(resp)
    r = TownshipReport.objects.get(region_id=BEIJIAO)
    assert (r.status, r.accepted_by, r.acceptances) == (ReportStatus.ACCEPTED, users["civil"], 1)


def test_accept_reopen_marker_and_reaccept(users):
    silk = csrf_client(users["silk"])
    civil = csrf_client(users["civil"])
    post_form(silk, page(), page(), {**FULL, "then": "submit"})
    body = text(civil.get(page()))
    assert 'data-testid="accept"' in body and 'data-testid="reopen-form"' in body
    resp = post_form(civil, page(), page() + "accept/", follow=True)
    assert "已审核" in text(resp) and 'data-status="accepted"' in text(resp)
    # locked for the township
    body = text(silk.get(page()))
    assert 'data-testid="report-form"' not in body and "已审核锁定" in body
    resp = post_form(silk, page(), page(), {**FULL, "pop60": "1300", "then": ""}, follow=True)
    assert "已审核锁定，如需更正请县级退回" in text(resp)
    assert TownshipReport.objects.get().values["pop60"] == 1200
    # reopen needs a reason
    resp = post_form(civil, page(), page() + "reopen/", {"reason": ""}, follow=True)
    assert "请填写退回修订的原因" in text(resp)
    resp = post_form(civil, page(), page() + "reopen/", {"reason": "签约人数有误"}, follow=True)
    assert "已退回修订" in text(resp)
    body = text(silk.get(page()))
    assert "签约人数有误" in body and 'data-testid="report-form"' in body
    post_form(silk, page(), page(), {**FULL, "fd_signed60": "880", "then": "submit"})
    body = text(civil.get(page()))
    assert 'data-testid="changed"' in body and 'data-testid="differs"' in body
    assert 'data-testid="changed"' in text(civil.get(LIST + "?year=2025"))
    post_form(civil, page(), page() + "accept/")
    r = TownshipReport.objects.get()
    assert (r.acceptances, r.accepted_values["fd_signed60"], r.previous_accepted_values["fd_signed60"]) == (
        2,
        880,
        900,
    )
    assert 'data-testid="changed"' in text(civil.get(LIST + "?year=2025&status=changed"))


def test_list_scope_badges_and_bulk_accept(users):
    for who, code in (("silk", SILK), ("beijiao", BEIJIAO)):
        c = csrf_client(users[who])
        post_form(c, page(code), page(code), {**FULL, "then": "submit"})
    silk = text(csrf_client(users["silk"]).get(LIST + "?year=2025"))
    assert f'data-region="{SILK}"' in silk and f'data-region="{BEIJIAO}"' not in silk
    assert "data-select-all" not in silk and 'name="report"' not in silk

    civil = csrf_client(users["civil"])
    body = text(civil.get(LIST + "?year=2025"))
    assert f'data-region="{SILK}"' in body and f'data-region="{BEIJIAO}"' in body
    assert 'data-select-all="report"' in body and body.count('name="report"') == 2
    assert body.count('data-status="submitted"') == 2
    assert "1,200" in body and "默认为次年1月31日" in body
    ids = list(TownshipReport.objects.values_list("pk", flat=True))
    resp = civil.post(
        "/reports/township/accept/",
        {"report": ids, "year": "2025", "csrfmiddlewaretoken": page_token(civil.get(LIST))},
        follow=True,
    )
    assert "已审核 2 份乡镇年报" in text(resp)
    assert set(TownshipReport.objects.values_list("status", flat=True)) == {ReportStatus.ACCEPTED}
    assert text(resp).count('data-status="accepted"') == 2
    # filters
    assert f'data-region="{SILK}"' not in text(civil.get(LIST + "?year=2025&status=missing"))
    body = text(civil.get(LIST + "?year=2024"))
    assert body.count('data-status="missing"') == 2
    # a township's id in another township's bulk accept is not theirs
    resp = csrf_client(users["silk"]).post("/reports/township/accept/", {"report": ids, "year": "2025"})
    assert resp.status_code == 403  # (CSRF-enforced client, no token: refused either way)


def test_a_pending_township_upload_shows_as_reported_awaiting_the_county(users, settings, tmp_path):
    from pathlib import Path

    from eldercare.sheets import engine

    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    data = (Path(__file__).parents[1] / "fixtures" / "sheets" / "township_reports_township.xlsx").read_bytes()
    batch = engine.start_import(actor=users["silk"], kind="township_reports", data=data, filename="年报.xlsx")
    body = text(csrf_client(users["civil"]).get(LIST + "?year=2025"))
    assert f'data-region="{SILK}" data-state="pending"' in body and f"/imports/{batch.pk}/" in body
    body = text(csrf_client(users["silk"]).get(page()))
    assert 'data-testid="pending-upload"' in body
    calendar = text(csrf_client(users["civil"]).get("/reports/township/calendar/?year=2025"))
    assert f'data-region="{SILK}"' not in calendar and f'data-region="{BEIJIAO}"' in calendar


def test_other_townships_and_odd_urls_are_404(users):
    c = csrf_client(users["silk"])
    assert c.get(page(BEIJIAO)).status_code == 404
    assert c.get(page(COUNTY)).status_code == 404
    assert c.get(page(SILK, 1999)).status_code == 404
    assert c.get(page(SILK, 2027)).status_code == 404
    assert c.get("/reports/township/370307001000/2025/").status_code == 404
    svc.report_save(actor=users["beijiao"], region=BEIJIAO, year=2025, values={"pop60": 1, "fd_signed60": 1})
    token = page_token(c.get(page()))
    for action in ("submit", "accept", "reopen"):
        resp = c.post(page(BEIJIAO) + f"{action}/", {"csrfmiddlewaretoken": token, "reason": "x"})
        assert resp.status_code in (403, 404), action
    assert TownshipReport.objects.get().status == ReportStatus.DRAFT


def test_calendar_default_due_date_outstanding_and_setting_it(users):
    svc.report_submit(
        actor=users["beijiao"],
        report=svc.report_save(
            actor=users["beijiao"], region=BEIJIAO, year=2025, values={"pop60": 1, "fd_signed60": 1}
        ),
    )
    url = "/reports/township/calendar/?year=2025"
    health = csrf_client(users["health"])
    body = text(health.get(url))
    assert "2026-01-31" in body and "默认为次年1月31日" in body and "还有 11 天" in body
    assert f'data-region="{SILK}"' in body and f'data-region="{BEIJIAO}"' not in body
    assert "已报送 1 / 2" in body and 'data-testid="period-form"' in body
    resp = post_form(
        health, url, url, {"year": "2025", "due_on": "2026-01-10", "note": "提前截止"}, follow=True
    )
    assert "已将2025年度乡镇年报的截止日期设为 2026-01-10" in text(resp)
    assert ReportingPeriod.objects.get().due_on == D(2026, 1, 10)
    body = text(health.get(url))
    assert "已逾期 10 天" in body and "未单独设置" not in body and "提前截止" in body
    # civil and townships read it; only who may set periods sees and posts the form
    civil = csrf_client(users["civil"])
    assert 'data-testid="period-form"' not in text(civil.get(url))
    resp = civil.post(
        url, {"year": "2025", "due_on": "2026-02-01", "csrfmiddlewaretoken": page_token(civil.get(url))}
    )
    assert resp.status_code == 403
    silk = text(csrf_client(users["silk"]).get(url))
    assert f'data-region="{SILK}"' in silk and "未填报" in silk
