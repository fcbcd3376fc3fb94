"""Session idle expiry and lockout with the clock moved (SECURITY.md "Identity and sessions"):
30 idle minutes end a session — on the server, not just in the cookie — while activity keeps
it alive; a username locked after 5 failures stays locked for 15 minutes and no longer; failures
older than 15 minutes do not count; an IP address over 20 failures is refused for 15 minutes.

Without the clock: tests/functional/test_login.py (the thresholds, the shared NAT address, the
security admin's unlock, logout deleting the session, the session id rotating at login)."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client

from eldercare.audit.models import Action, AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def post_login(client, username, password, ip="10.1.1.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_idle_session_slides_with_activity_and_expires_after_30_idle_minutes(clock, make_user):
    make_user("h1", "health")
    c = Client()
    assert post_login(c, "h1", PASSWORD).status_code == 302
    key = c.session.session_key
    assert c.get("/").status_code == 200
    for _ in range(3):  # 87 minutes signed in, never 30 idle
        clock.advance(minutes=29)
        assert c.get("/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    resp = c.get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    assert SessionStore(session_key=key).load() == {}  # dead on the server, not just in the cookie
    assert c.get("/").status_code == 302
    assert c.get("/api/v1/regions/").status_code in (401, 403)


def test_server_session_expires_even_if_the_middleware_is_bypassed(clock, make_user):
    """The stored session's own expiry is 30 minutes (SESSION_COOKIE_AGE): a replayed cookie
    is worthless after that whatever the idle check does."""
    make_user("h1", "health")
    c = Client()
    post_login(c, "h1", PASSWORD)
    key = c.session.session_key
    store = Session.objects.get(session_key=key)
    assert (store.expire_date - clock.now()).total_seconds() == pytest.approx(30 * 60, abs=5)
    clock.advance(minutes=31)
    assert SessionStore(session_key=key).load() == {}
    assert c.get("/").status_code == 302


def test_idle_check_signs_out_a_session_that_outlives_its_store(clock, make_user, settings):
    """With sessions that do not expire by themselves (signed cookies), the middleware's own
    check ends them after 30 idle minutes."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SESSION_COOKIE_AGE = 24 * 3600
    make_user("h1", "health")
    c = Client()
    post_login(c, "h1", PASSWORD)
    assert c.get("/").status_code == 200
    clock.advance(minutes=29)
    assert c.get("/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    resp = c.get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.filter(action=Action.LOGOUT, username="h1").count() == 1
    assert c.get("/").status_code == 302  # signed out: the cookie no longer carries the user


def test_username_lockout_lasts_15_minutes(clock, make_user):
    make_user("h1", "health")
    for i in range(5):  # from five different addresses
        post_login(Client(), "h1", "wrong", ip=f"10.0.0.{i}")
    assert AuditEvent.objects.filter(action=Action.LOCKOUT, username="h1").exists()
    clock.advance(minutes=14, seconds=50)
    resp = post_login(Client(), "H1", PASSWORD, ip="10.0.0.99")  # any case, any address
    assert resp.status_code == 429 and "锁定" in resp.content.decode()
    token = Client().post(
        "/api/v1/auth/token/", {"username": "h1", "password": PASSWORD}, content_type="application/json"
    )
    assert token.status_code == 429  # the API's door is locked as well
    clock.advance(minutes=15, seconds=20)
    assert post_login(Client(), "h1", PASSWORD, ip="10.0.0.99").status_code == 302


def test_failures_older_than_15_minutes_do_not_count(clock, make_user):
    make_user("h1", "health")
    for _ in range(4):
        post_login(Client(), "h1", "wrong")
    clock.advance(minutes=16)
    post_login(Client(), "h1", "wrong")  # the fifth, but the first four have expired
    assert post_login(Client(), "h1", PASSWORD).status_code == 302


def test_ip_lockout_lasts_15_minutes(clock, make_user):
    make_user("victim", "health")
    for i in range(20):
        post_login(Client(), f"guess{i}", "wrong", ip="10.7.7.7")
    clock.advance(minutes=14)
    resp = post_login(Client(), "victim", PASSWORD, ip="10.7.7.7")
    assert resp.status_code == 200 and "网络地址" in resp.content.decode()
    assert post_login(Client(), "victim", PASSWORD, ip="10.7.7.8").status_code == 302
    clock.advance(minutes=1, seconds=30)
    assert post_login(Client(), "victim", PASSWORD, ip="10.7.7.7").status_code == 302
