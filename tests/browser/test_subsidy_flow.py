"""床位补贴 through the real pages in Chromium (issue 6, "done when"): a township clerk applies for
the construction subsidy of a hospital-run home on rented premises (a 5-year lease), seeing each
condition pass with its clause; a civil affairs officer accepts and approves; the five yearly
installments appear; a finance officer pays the first, and it reads 已拨付. Screenshots of the
application and of its printable 补助审批表 are left in tests/browser/artifacts/."""

import datetime
import importlib

import pytest

from subsidies.models import Application, Installment
from tests.browser.test_filing_flow import _act, _page
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


def _subsidy_rows():
    """Data migration rows a transaction=True flush removed: the shipped policy 东政办〔2022〕42号
    (subsidies 0002) and the "subsidy" filing type (subsidies 0003)."""
    from django.apps import apps

    ensure_filing_types()
    importlib.import_module("subsidies.migrations.0002_dongshan_policy").forwards(apps, None)
    importlib.import_module("subsidies.migrations.0003_subsidy_filing_type").forwards(apps, None)


def _user(username, role, region, full_name):
    user = make_user(username, role, region, full_name=full_name)
    if user.otp_required:
        totp_device(user)
    return user


def test_apply_accept_approve_pay(browser, live_server, artifacts, monkeypatch, settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = settings.SESSION_COOKIE_AGE = 400 * 24 * 3600
    make_tree()
    _subsidy_rows()
    _user("bj_town", "township", "370306100000", "张丽")
    _user("civil05", "civil", "370306000000", "李民政")
    _user("fin05", "finance", "370306000000", "赵财政")
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    home = make_home(name="卫生院医养中心", run_by=hospital.pk, beds_eldercare=60, opened_on=D(2020, 1, 1))
    base = live_server.url

    # The township clerk applies: rented premises, a 5-year lease.
    at(monkeypatch, D(2026, 3, 2))
    town = _page(browser, base, "bj_town")
    town.goto(base + "/")
    with town.expect_navigation():
        town.click("[data-testid=nav] [data-nav='subsidies:application_list']")
    with town.expect_navigation():
        town.click("[data-testid=new-application]")
    town.select_option("#id_institution", str(home.pk))
    town.check("#rule-construction_new_rented")
    assert town.is_hidden("#id_year") and town.is_visible("#id_lease_start")  # the rule's own fields
    town.fill("#id_lease_start", "2026-01-01")
    town.fill("#id_lease_end", "2030-12-31")  # both days inclusive: 5 years
    with town.expect_navigation():
        town.click("[data-testid=preview]")
    assert "¥300,000.00" in town.inner_text("[data-testid=preview-result]")
    assert not Application.objects.exists()
    with town.expect_navigation():
        town.click("[data-testid=save]")
    app = Application.objects.get()
    assert town.url.endswith(f"/subsidies/applications/{app.pk}/")
    assert town.inner_text("[data-testid=eligible]") == "符合"
    lease = town.inner_text("[data-testid=checks] [data-check=lease]")
    assert "租期 5 年（2026-01-01 至 2030-12-31" in lease and "达到 5 年以上的要求" in lease
    assert "东政办〔2022〕42号 三(一)" in lease
    at(monkeypatch, D(2026, 3, 3))
    _act(town, "submit")
    assert town.inner_text("[data-testid=status]") == "已提交"

    # The civil affairs officer accepts and approves.
    civil = _page(browser, base, "civil05")
    civil.goto(base + "/subsidies/applications/?status=open")
    with civil.expect_navigation():
        civil.click(f"tr[data-application='{app.pk}'] [data-testid=open]")
    _act(civil, "accept")
    _act(civil, "approve", "符合新建·租用床位建设补助条件，予以批准。")
    assert civil.inner_text("[data-testid=status]") == "已批准"
    rows = civil.locator("[data-testid=installments] tr[data-installment]")
    assert rows.count() == 5
    assert [rows.nth(i).get_attribute("data-due") for i in range(5)] == [str(2026 + i) for i in range(5)]
    assert "¥60,000.00" in rows.nth(4).inner_text()

    # Finance pays the first installment.
    fin = _page(browser, base, "fin05")
    fin.goto(base + f"/subsidies/applications/{app.pk}/")
    first = Installment.objects.get(application=app, due_year=2026)
    fin.fill(f"#id_i{first.pk}-voucher_no", "CZ-2026-0001")
    fin.fill(f"#id_i{first.pk}-payee_account", "6222 0000 1111 2222")
    fin.select_option(f"#id_i{first.pk}-funding_source", "higher")
    with fin.expect_navigation():
        fin.click("[data-testid=pay-2026]")
    row = fin.locator(f"[data-testid=installments] tr[data-installment='{first.pk}']")
    assert row.locator("[data-testid=installment-status]").inner_text() == "已拨付"
    assert "CZ-2026-0001" in row.inner_text() and "上级补助" in row.inner_text()
    assert fin.locator("[data-testid=pay-2026]").count() == 0  # no second payment offered
    fin.screenshot(path=str(artifacts / "subsidy-detail.png"), full_page=True)

    # The printable 补助审批表.
    fin.goto(base + f"/subsidies/applications/{app.pk}/form/")
    sheet = fin.inner_text("[data-testid=approval-form]")
    for phrase in ("养老床位补助审批表", "达到 5 年以上的要求", "分管领导", "李民政", "张丽"):
        assert phrase in sheet, phrase
    fin.screenshot(path=str(artifacts / "subsidy-approval-form.png"), full_page=True)
