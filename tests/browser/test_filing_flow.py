"""备案审批 through the real pages in Chromium (issue 4, "done when"): a township clerk files
医疗卫生机构设立养老机构 for the township hospital; a civil affairs officer accepts it, returns it
for correction, the clerk corrects and resubmits, the officer approves, and the registry shows
the new elder-care record run by that hospital. A health officer decides a 内设医疗机构备案 and
the home shows its 医务室. The deadlines shown are right across the 2026 National Day holiday
(submitted 09-28 → accept by 10-10, a 调休 Saturday; accepted 09-30 → decide by 10-20) and
flagged 「节假日安排未发布」 for a date in 2027.

The server's clock is moved day by day (the live server runs in this process); the session
lifetime is raised so each user keeps one signed-in browser across the jumps."""

import datetime

import pytest

from eldercare.workflow.models import Filing
from institutions.models import Institution
from tests.browser.test_roles import sign_in
from tests.factories import FILING_FIXTURES as FIX
from tests.factories import (
    at,
    ensure_filing_types,
    make_home,
    make_hospital,
    make_tree,
    make_user,
    totp_device,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = datetime.date


def _user(username, role, region):
    user = make_user(
        username, role, region, full_name={"township": "张丽", "civil": "李民政", "health": "王卫健"}[role]
    )
    if user.otp_required:
        totp_device(user)
    return user


def _page(browser, base, username):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, username)
    return page


def _act(page, action, comment=""):
    if comment:
        page.fill(f"#comment-{action}", comment)
    with page.expect_navigation():
        page.click(f"[data-testid=action-{action}]")


def _upload(page, requirement, fixture):
    page.select_option("#att-req", requirement)
    page.set_input_files("#att-file", str(FIX / fixture))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")


def _messages(page) -> str:
    return page.inner_text("main")


def test_a_filing_walks_from_township_to_registry(
    browser, live_server, artifacts, monkeypatch, settings, tmp_path
):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = settings.SESSION_COOKIE_AGE = 400 * 24 * 3600
    make_tree()
    ensure_filing_types()
    _user("bj_town", "township", "370306100000")
    _user("civil05", "civil", "370306000000")
    _user("health05", "health", "370306000000")
    hospital = make_hospital()
    home = make_home()
    base = live_server.url

    # 2026-09-28 (Mon): the township clerk files for the hospital.
    at(monkeypatch, D(2026, 9, 28))
    town = _page(browser, base, "bj_town")
    town.goto(base + "/filings/")
    with town.expect_navigation():
        town.click("[data-testid=new-filing]")
    with town.expect_navigation():
        town.click("[data-testid=filing-types] a[href$='?type=medical_runs_eldercare']")
    town.select_option("#id_institution", str(hospital.pk))
    town.select_option("#id_mode", label="医疗卫生机构设立养老机构")
    town.fill("#id_name", "北郊镇卫生院医养结合中心")
    town.select_option("#id_type", label="老年养护院")
    town.fill("#id_beds_eldercare", "40")
    with town.expect_navigation():
        town.click("[data-testid=save]")
    filing = Filing.objects.get()
    assert town.url.endswith(f"/filings/{filing.pk}/")
    assert "备案书" in town.inner_text("[data-testid=missing]")
    _upload(town, "application", "application.pdf")
    _upload(town, "licence", "application.pdf")
    _upload(town, "premises", "floorplan.png")
    _act(town, "submit")
    deadline = town.inner_text("[data-testid=deadline]")
    assert "受理时限" in deadline and "2026-10-10" in deadline, deadline
    filing.refresh_from_db()  # numbered on submission
    town.screenshot(path=str(artifacts / "filing-submitted.png"), full_page=True)

    # 2026-09-30: the civil officer finds it in the inbox and accepts it.
    at(monkeypatch, D(2026, 9, 30))
    civil = _page(browser, base, "civil05")
    civil.goto(base + "/filings/?todo=1")
    row = civil.inner_text("[data-testid=filings] tbody")
    assert filing.number in row and "2026-10-10" in row, row
    with civil.expect_navigation():
        civil.click(f"[data-testid=filings] a[href$='/filings/{filing.pk}/']")
    assert civil.locator("[data-testid=edit]").count() == 0  # the officer never edits the content
    _act(civil, "accept")
    deadline = civil.inner_text("[data-testid=deadline]")
    assert "2026-10-20" in deadline, deadline
    assert "受理通知书" in civil.inner_text("[data-testid=ledger]")

    # 2026-10-12: returned for correction, with the one-time list of what to correct.
    at(monkeypatch, D(2026, 10, 12))
    civil.reload()
    _act(civil, "return", "1. 请补充消防安全证明材料；\n2. 核定床位数与平面图不一致。")
    assert "核定床位数与平面图不一致" in civil.inner_text("[data-testid=correction]")
    assert "一次性补正告知书" in civil.inner_text("[data-testid=ledger]")
    assert "2026-10-20" not in civil.inner_text("[data-testid=deadline]")  # the clock has stopped

    # 2026-10-13: the clerk corrects the content, adds the material and resubmits.
    at(monkeypatch, D(2026, 10, 13))
    town.goto(base + f"/filings/{filing.pk}/")
    assert "请补充消防安全证明材料" in town.inner_text("[data-testid=correction]")
    with town.expect_navigation():
        town.click("[data-testid=edit]")
    town.fill("#id_beds_eldercare", "45")
    with town.expect_navigation():
        town.click("[data-testid=save]")
    _upload(town, "fire", "floorplan.png")
    _act(town, "resubmit")
    assert "2026-10-20" in town.inner_text("[data-testid=deadline]")  # 5 working days from 10-13

    # 2026-10-14 accepted afresh (decide by 10-28), 2026-10-16 approved.
    at(monkeypatch, D(2026, 10, 14))
    civil.goto(base + f"/filings/{filing.pk}/")
    _act(civil, "accept")
    assert "2026-10-28" in civil.inner_text("[data-testid=deadline]")
    at(monkeypatch, D(2026, 10, 16))
    civil.reload()
    _act(civil, "approve", "材料齐全，准予备案。")
    result = civil.inner_text("[data-testid=result]")
    assert "北郊镇卫生院医养结合中心" in result and "2026-10-16" in result
    civil.screenshot(path=str(artifacts / "filing-approved.png"), full_page=True)
    with civil.expect_navigation():
        civil.click("[data-testid=result] a")
    card = civil.inner_text("main")
    assert "北郊镇卫生院医养结合中心" in card and "北郊镇卫生院" in card
    record = Institution.objects.get(name="北郊镇卫生院医养结合中心")
    assert (record.family, record.run_by_id, record.beds_eldercare) == ("eldercare", hospital.pk, 45)

    # The health bureau decides a 内设医疗机构备案 accepted on 2026-12-21: due in 2027, flagged.
    at(monkeypatch, D(2026, 12, 18))
    town.goto(base + "/filings/new/?type=internal_medical")
    town.select_option("#id_institution", str(home.pk))
    town.select_option("#id_internal_unit", label="医务室")
    town.fill("#id_doctors", "1")
    with town.expect_navigation():
        town.click("[data-testid=save]")
    _upload(town, "application", "application.pdf")
    _upload(town, "staff", "application.pdf")
    _act(town, "submit")
    at(monkeypatch, D(2026, 12, 21))
    health = _page(browser, base, "health05")
    health.goto(base + "/filings/?todo=1")
    with health.expect_navigation():
        health.click("[data-testid=filings] a[href*='/filings/']:has-text('养老机构内设医疗机构备案')")
    _act(health, "accept")
    deadline = health.inner_text("[data-testid=deadline]")
    assert "2027-01-04" in deadline and "节假日安排未发布" in deadline, deadline
    health.screenshot(path=str(artifacts / "filing-provisional.png"), full_page=True)
    _act(health, "approve")
    health.goto(base + f"/institutions/{home.pk}/")
    assert "医务室" in health.inner_text("main")
