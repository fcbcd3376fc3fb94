"""Pages: home counts in scope, the region switcher, user administration, the audit page,
security headers."""

import pytest
from django.test import Client

from eldercare.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def cards(resp):
    return {str(c["label"]): c["value"] for c in resp.context["cards"]}


def test_home_counts_in_the_users_scope(make_user, login):
    t = login(Client(), make_user("t1", "township", "370306001000"))
    c = login(Client(), make_user("h1", "health", "370306000000"))
    t_cards, c_cards = cards(t.get("/")), cards(c.get("/"))
    assert t_cards["村（社区）"] == 2 and c_cards["村（社区）"] == 4
    assert t_cards["乡镇（街道）"] == 1 and c_cards["乡镇（街道）"] == 2


def test_region_switcher_narrows_and_refuses_outside(make_user, login):
    c = login(Client(), make_user("h1", "health", "370306000000"))
    c.post("/region/switch/", {"region": "370306100000", "next": "/"})
    assert cards(c.get("/"))["村（社区）"] == 2
    c.post("/region/switch/", {"region": "370307000000", "next": "/"})
    assert cards(c.get("/"))["村（社区）"] == 2  # unchanged: outside the scope
    t = login(Client(), make_user("t1", "township", "370306001000"))
    assert t.post("/region/switch/", {"region": "370306001000"}).status_code == 403


def test_switcher_rejects_offsite_next(make_user, login):
    c = login(Client(), make_user("h1", "health"))
    resp = c.post("/region/switch/", {"region": "370306100000", "next": "https://evil.example/"})
    assert resp["Location"] == "/"


def test_admin_creates_user_security_assigns_roles(make_user, login):
    admin = login(Client(), make_user("adm", "admin"))
    resp = admin.post(
        "/users/new/",
        {
            "username": "civil02",
            "full_name": "民政 二",
            "region": "370306000000",
            "is_active": "on",
            "password": "Abcdef12!x",
        },
    )
    assert resp.status_code == 302
    from eldercare.accounts.models import User

    u = User.objects.get(username="civil02")
    assert u.must_change_password and not u.roles
    assert admin.get(f"/users/{u.pk}/roles/").status_code == 403  # not the admin's duty
    sec = login(Client(), make_user("sec", "security"))
    resp = sec.post(f"/users/{u.pk}/roles/", {"roles": ["admin", "auditor"], "region": "370306000000"})
    assert resp.status_code == 200 and "三权分立" in resp.content.decode() or "不得" in resp.content.decode()
    assert (
        sec.post(f"/users/{u.pk}/roles/", {"roles": ["civil"], "region": "370306000000"}).status_code == 302
    )
    assert User.objects.get(pk=u.pk).roles == {"civil"}
    assert AuditEvent.objects.filter(object_id=str(u.pk), action=Action.UPDATE, username="sec").exists()


def test_auditor_searches_the_trail(make_user, login):
    aud = login(Client(), make_user("aud", "auditor"))
    Client().post("/accounts/login/", {"username": "ghost", "password": "x"})
    resp = aud.get("/audit/", {"action": "login_failed"})
    assert resp.status_code == 200 and "ghost" in resp.content.decode()
    assert "ghost" not in aud.get("/audit/", {"action": "logout"}).content.decode()


def test_business_roles_cannot_read_the_audit_trail(make_user, login):
    for role in ("health", "civil", "finance", "admin", "security"):
        c = login(Client(), make_user(f"u-{role}", role))
        assert c.get("/audit/").status_code == 403, role


def test_security_headers(client):
    resp = client.get("/accounts/login/")
    csp = resp["Content-Security-Policy"]
    for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert part in csp
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["X-Frame-Options"] == "DENY"


def test_pages_reference_only_local_assets(client):
    body = client.get("/accounts/login/").content.decode()
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in body
    assert "http://" not in body.replace("http://www.w3.org", "") and "https://" not in body


def test_error_pages_show_no_stack_trace(make_user, login):
    c = login(Client(), make_user("t1", "township", "370306001000"))
    resp = c.get("/regions/999999999999/")
    assert resp.status_code == 404 and "Traceback" not in resp.content.decode()


def test_notifications_listed_and_marked_read(make_user, login, django_capture_on_commit_callbacks):
    from eldercare.accounts import services
    from eldercare.accounts.scope import SYSTEM

    with django_capture_on_commit_callbacks(execute=True):
        u = services.user_save(actor=SYSTEM, username="newbie", region="370306000000", password="Abcdef12!x")
        services.user_set_roles(actor=SYSTEM, user=u, roles={"health"})
    c = login(Client(), u)
    assert "欢迎" in c.get("/notifications/").content.decode()
    assert c.get("/").context["unread_notifications"] == 1
    c.post("/notifications/")
    assert c.get("/").context["unread_notifications"] == 0
    # Another user's notifications are not theirs to read or mark.
    other = login(Client(), make_user("other", "health"))
    assert "欢迎" not in other.get("/notifications/").content.decode()


def test_pending_outbox_work_is_visible(make_user, login):
    from eldercare.core.models import OutboxMessage

    c = login(Client(), make_user("h1", "health"))
    assert 'data-testid="outbox-notice"' not in c.get("/").content.decode()
    OutboxMessage.objects.create(task_name="eldercare.core.tasks.health_check")
    body = c.get("/").content.decode()
    assert 'data-testid="outbox-notice"' in body and "队列" in body


def test_otp_next_is_not_an_open_redirect(make_user):
    from tests.factories import current_code, totp_device

    u = make_user("adm", "admin")
    totp_device(u)
    c = Client()
    c.post("/accounts/login/", {"username": "adm", "password": "Yiyang@2026"})
    resp = c.post("/accounts/2fa/?next=https://evil.example/", {"token": current_code()})
    assert resp["Location"] == "/"
