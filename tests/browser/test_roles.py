"""Each role signs in through the real page in Chromium and sees its own navigation, at the
common office screen (1366×768) and at a phone width."""

import re

import pytest

from tests.factories import PASSWORD, current_code, make_tree, make_user, totp_device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAV = {
    # role: (must see, must not see) — nav data-nav names
    "health": (
        {"core:home", "regions:list", "api-docs"},
        {"accounts:user_list", "audit:list", "admin:index"},
    ),
    "civil": ({"core:home", "regions:list"}, {"audit:list", "admin:index"}),
    "township": ({"core:home", "regions:list", "accounts:user_list"}, {"audit:list", "admin:index"}),
    "finance": ({"core:home", "regions:list"}, {"audit:list", "admin:index"}),
    "admin": ({"core:home", "regions:list", "accounts:user_list", "admin:index"}, {"audit:list"}),
    "security": ({"core:home", "accounts:user_list"}, {"audit:list", "admin:index"}),
    "auditor": ({"core:home", "audit:list"}, {"admin:index", "regions:list"}),
}


def sign_in(page, base, username):
    page.goto(base + "/accounts/login/")
    assert "登录" in page.content()
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click(".login-wrap button[type=submit]")
    if "/accounts/2fa/" in page.url:
        page.fill("#id_token", current_code())
        with page.expect_navigation():
            page.click("main button[type=submit]")


@pytest.mark.parametrize("role", list(NAV))
def test_role_signs_in_and_sees_its_navigation(browser, live_server, artifacts, role):
    make_tree()
    region = "370306001000" if role == "township" else "370306000000"
    user = make_user(f"{role}01", role, region)
    if user.otp_required:
        totp_device(user)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, user.username)
    assert page.url.rstrip("/") == live_server.url, page.url
    names = set(
        page.locator("[data-testid=nav] [data-nav]").evaluate_all("els => els.map(e => e.dataset.nav)")
    )
    must, must_not = NAV[role]
    assert must <= names, (role, names)
    assert not (must_not & names), (role, names)
    assert "欢迎" in page.inner_text("main")
    page.screenshot(path=str(artifacts / f"home-{role}-1366.png"), full_page=True)
    # Phone width: the sidebar folds into the menu button.
    page.set_viewport_size({"width": 390, "height": 844})
    assert not page.locator("[data-testid=nav]").is_visible()
    page.click(".navbar-toggler")
    page.locator("[data-testid=nav-mobile]").wait_for(state="visible")
    assert page.locator("[data-testid=nav-mobile] a").count() == len(names)
    page.screenshot(path=str(artifacts / f"home-{role}-phone.png"), full_page=True)
    # Signing out ends the session.
    page.set_viewport_size({"width": 1366, "height": 768})
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    page.goto(live_server.url + "/")
    assert re.search(r"/accounts/login/", page.url)
    context.close()


def test_county_user_switches_region(browser, live_server):
    make_tree()
    make_user("health02", "health", "370306000000")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    sign_in(page, live_server.url, "health02")
    with page.expect_navigation():
        page.select_option("#region-switch", "370306100000")
    assert "北郊镇" in page.inner_text("[data-testid=home-region]")
    context.close()
