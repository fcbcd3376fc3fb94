"""乡镇年报 through the real pages in Chromium (issue 7): two townships enter and submit their
yearly figures (a numerator above its denominator is refused on its field first); a civil
affairs officer ticks the select-all box and accepts both at once; the list shows them locked."""

import datetime

import pytest

from assessments import catalogue
from assessments.models import ReportStatus, TownshipReport
from tests.browser.test_filing_flow import _page, _user
from tests.factories import at, make_tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = datetime.date
FIGURES = {
    "pop60": "1,200",
    "fd_signed60": "900",
    "pop65": "950",
    "health_managed65": "720",
    "villages": "2",
    "villages_with_center": "2",
    "satisfaction": "93.5",
}


def _fill(page, figures):
    for code, value in figures.items():
        page.fill(f"input[data-field={code}]", value)


def test_townships_submit_and_the_county_accepts_all_at_once(
    browser, live_server, artifacts, monkeypatch, settings
):
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = settings.SESSION_COOKIE_AGE = 400 * 24 * 3600
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = False
    catalogue.install()  # the flush removed the shipped reported fields
    make_tree()
    _user("silk_town", "township", "370306001000")
    _user("bj_town", "township", "370306100000")
    _user("civil05", "civil", "370306000000")
    at(monkeypatch, D(2026, 1, 20))
    base = live_server.url

    for username, code in (("silk_town", "370306001000"), ("bj_town", "370306100000")):
        page = _page(browser, base, username)
        page.goto(base + "/reports/township/")
        with page.expect_navigation():
            page.click(f"tr[data-region='{code}'] a")
        _fill(page, {**FIGURES, "fd_signed60": "1,300"})
        with page.expect_navigation():
            page.click("[data-testid=save-submit]")
        assert "不能大于“60岁以上常住老年人数”" in page.inner_text("[data-error=fd_signed60]")
        page.screenshot(path=str(artifacts / f"township-report-form-{username}.png"), full_page=True)
        _fill(page, FIGURES)
        with page.expect_navigation():
            page.click("[data-testid=save-submit]")
        assert page.inner_text("[data-testid=status]") == "已提交待审核"
        page.context.close()

    civil = _page(browser, base, "civil05")
    civil.goto(base + "/reports/township/?year=2025")
    assert civil.locator("input[name=report]").count() == 2
    civil.check("input[data-select-all=report]")
    assert civil.locator("input[name=report]:checked").count() == 2
    civil.screenshot(path=str(artifacts / "township-reports-bulk-accept.png"), full_page=True)
    with civil.expect_navigation():
        civil.click("[data-testid=accept-selected]")
    assert "已审核 2 份乡镇年报" in civil.inner_text("main")
    assert civil.locator("[data-status=accepted]").count() == 2
    assert set(TownshipReport.objects.values_list("status", flat=True)) == {ReportStatus.ACCEPTED}
    civil.goto(base + "/reports/township/370306001000/2025/")
    civil.screenshot(path=str(artifacts / "township-report-accepted.png"), full_page=True)
    civil.context.close()
