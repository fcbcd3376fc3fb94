"""Sign-in as SECURITY.md describes: Chinese pages, lockout by username (5) and by IP (20),
second factor for administrators, idle expiry, logout deleting the server session."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from eldercare.audit.models import Action, AuditEvent
from tests.factories import PASSWORD, current_code, totp_device

pytestmark = pytest.mark.django_db


def post_login(client, username, password, ip="10.1.1.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_page_is_chinese(client):
    body = client.get("/accounts/login/").content.decode()
    assert "登录" in body and "医养结合服务平台" in body


def test_english_is_switchable(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert "Sign in" in client.get("/accounts/login/").content.decode()


def test_login_success_rotates_session_and_is_audited(client, make_user):
    make_user("Health1", "health")
    client.get("/accounts/login/")
    before = client.cookies.get("sessionid")
    resp = post_login(client, "health1", PASSWORD)  # case-insensitive username
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert client.cookies["sessionid"].value != (before.value if before else None)
    home = client.get("/")
    assert home.status_code == 200 and "丝绸路街道" not in home.content.decode()[:0] + "x"
    ev = AuditEvent.objects.get(action=Action.LOGIN)
    assert ev.username == "Health1" and ev.ip == "10.1.1.1" and ev.role == "health"


def test_wrong_password_shows_chinese_error_and_is_audited(client, make_user):
    make_user("h1", "health")
    body = post_login(client, "h1", "wrong").content.decode()
    assert "用户名或密码错误" in body
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED, username="h1", result="denied").exists()


def test_username_locked_after_five_failures_from_anywhere(client, make_user):
    make_user("h1", "health")
    for i in range(5):
        post_login(client, "h1", "wrong", ip=f"10.0.0.{i}")
    resp = post_login(client, "h1", PASSWORD, ip="10.0.0.99")
    assert resp.status_code == 429 and "锁定" in resp.content.decode()
    assert AuditEvent.objects.filter(action=Action.LOCKOUT).exists()


def test_shared_office_ip_is_not_locked_by_one_users_failures(client, make_user):
    make_user("t1", "township", "370306001000")
    make_user("t2", "township", "370306001000")
    for _ in range(5):
        post_login(client, "t1", "wrong", ip="10.9.9.9")
    # A colleague behind the same NAT address signs in fine.
    assert post_login(Client(), "t2", PASSWORD, ip="10.9.9.9").status_code == 302


def test_ip_locked_after_twenty_failures_across_usernames(make_user):
    make_user("victim", "health")
    c = Client()
    for i in range(20):
        post_login(c, f"guess{i}", "wrong", ip="10.7.7.7")
    resp = post_login(Client(), "victim", PASSWORD, ip="10.7.7.7")
    assert resp.status_code == 200 and "网络地址" in resp.content.decode()
    assert post_login(Client(), "victim", PASSWORD, ip="10.7.7.8").status_code == 302


def test_security_admin_unlocks(client, make_user, login):
    target = make_user("h1", "health")
    for _ in range(5):
        post_login(Client(), "h1", "wrong")
    sec = make_user("sec", "security")
    login(client, sec)
    assert "锁定" in client.get(f"/users/{target.pk}/").content.decode()
    client.post(f"/users/{target.pk}/unlock/")
    assert post_login(Client(), "h1", PASSWORD).status_code == 302


def test_admin_roles_must_enrol_and_verify_totp(client, make_user):
    make_user("adm", "admin")
    post_login(client, "adm", PASSWORD)
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/2fa/"
    page = client.get("/accounts/2fa/").content.decode()
    assert "data:image/svg+xml;base64," in page  # QR code for enrolment
    # API with the unverified session is refused too.
    assert client.get("/api/v1/regions/").status_code in (401, 403)
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username="adm")
    wrong = "000000" if totp(device.bin_key) != 0 else "111111"
    assert "动态口令错误" in client.post("/accounts/2fa/", {"token": wrong}).content.decode()
    time.sleep(1.1)  # django-otp throttles verification for 1 s after a failure
    resp = client.post("/accounts/2fa/", {"token": f"{totp(device.bin_key):06d}"})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    assert TOTPDevice.objects.get(pk=device.pk).confirmed


def test_enrolled_admin_verifies_code_each_sign_in(client, make_user):
    u = make_user("aud", "auditor")
    totp_device(u)
    post_login(client, "aud", PASSWORD)
    assert client.get("/audit/")["Location"] == "/accounts/2fa/"
    client.post("/accounts/2fa/", {"token": current_code()})
    assert client.get("/audit/").status_code == 200


def test_ordinary_roles_can_opt_in_to_totp(client, make_user, login):
    u = make_user("h1", "health")
    assert not u.otp_required
    login(client, u)
    client.post("/accounts/profile/", {"full_name": "王", "email": "", "phone": "", "otp_opt_in": "on"})
    u.refresh_from_db()
    assert u.otp_opt_in and u.otp_required


def test_idle_session_expires_after_30_minutes(client, make_user, login):
    login(client, make_user("h1", "health"))
    assert client.get("/").status_code == 200
    session = client.session
    session["_last_seen"] = int(time.time()) - 31 * 60
    session.save()
    resp = client.get("/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_session_cookie_age_is_30_minutes(settings):
    assert settings.SESSION_COOKIE_AGE == 1800


def test_logout_deletes_the_server_session(client, make_user, login):
    login(client, make_user("h1", "health"))
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.filter(action=Action.LOGOUT).exists()


def test_expired_password_forces_change(client, make_user, login):
    u = make_user("h1", "health")
    type(u).objects.filter(pk=u.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    login(client, u)
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/"
    resp = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "Xin#Mima2026", "new_password2": "Xin#Mima2026"},
    )
    assert resp.status_code == 302
    assert client.get("/").status_code == 200


def test_dormant_account_refused_and_disabled_at_sign_in(client, make_user):
    u = make_user("old", "health")
    type(u).objects.filter(pk=u.pk).update(last_login=timezone.now() - timedelta(days=120))
    assert "用户名或密码错误" in post_login(client, "old", PASSWORD).content.decode()
    u.refresh_from_db()
    assert not u.is_active and u.disabled_reason == "dormant"


def test_chinese_even_when_the_browser_asks_for_english(client):
    body = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "登录" in body and 'lang="zh-hans"' in body
