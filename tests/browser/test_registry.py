"""Civil affairs registers an elder-care institution, records a late closure, and sees both in
the history — through the real pages in Chromium."""

import datetime

import pytest

from institutions.models import Institution, versions_on
from tests.browser.test_roles import sign_in
from tests.factories import make_tree, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_civil_registers_and_closes_an_institution(browser, live_server, artifacts):
    make_tree()
    make_user("civil09", "civil", "370306000000")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    sign_in(page, live_server.url, "civil09")
    page.click("[data-nav='institutions:list']")
    with page.expect_navigation():
        page.click("text=新增养老服务机构")
    page.fill("#id_credit_code", "91310110666007217T")
    page.fill("#id_name", "北郊颐养院")
    page.select_option("#id_type", "elder_home")
    page.select_option("#id_region", "370306100000")
    page.fill("#id_opened_on", "2020-01-01")
    page.fill("#id_beds_eldercare", "120")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "北郊颐养院" in page.inner_text("h1")
    assert "缺" in page.inner_text("main") or "内设医疗机构" in page.inner_text("main")  # ≥100 beds, no unit
    with page.expect_navigation():
        page.click("text=变更状态")
    page.select_option("#id_status", "closed")
    page.fill("#id_effective", "2025-12-15")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "注销" in page.inner_text("main")
    page.screenshot(path=str(artifacts / "registry-detail.png"), full_page=True)
    inst = Institution.objects.get(name="北郊颐养院")
    assert versions_on(datetime.date(2025, 12, 14)).get(institution=inst).status == "operating"
    assert versions_on(datetime.date(2025, 12, 15)).get(institution=inst).status == "closed"
    context.close()
