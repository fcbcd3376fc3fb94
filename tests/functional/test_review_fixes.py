"""Regression tests for defects found in review (each failed before its fix)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from eldercare.accounts import services
from eldercare.accounts.lockout import is_locked, locked_usernames
from eldercare.accounts.models import User
from eldercare.audit.models import Action, AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_admin_cannot_take_over_security_or_audit_accounts(make_user, login):
    admin = make_user("adm", "admin")
    auditor = make_user("aud", "auditor")
    c = login(Client(), admin)
    resp = c.post(
        f"/users/{auditor.pk}/edit/",
        {"username": "aud", "region": "370306000000", "is_active": "on", "password": "Takeover#2026"},
    )
    assert resp.status_code == 403
    assert User.objects.get(pk=auditor.pk).check_password(PASSWORD)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.user_save(
            actor=admin,
            user=make_user("sec", "security"),
            username="sec",
            region="370306000000",
            is_active=False,
        )


def test_new_user_page_does_not_overwrite_an_existing_account(make_user, login):
    existing = make_user("Civil1", "civil")
    c = login(Client(), make_user("adm", "admin"))
    resp = c.post(
        "/users/new/",
        {"username": "CIVIL1", "region": "370306001000", "is_active": "on", "password": "Other#Pass2026"},
    )
    assert resp.status_code == 200 and "已" in resp.content.decode()
    existing.refresh_from_db()
    assert existing.region_id == "370306000000" and existing.check_password(PASSWORD)


def test_lockout_spread_over_addresses_is_shown_and_unlockable(make_user):
    make_user("h1", "health")
    for i in range(5):
        Client().post("/accounts/login/", {"username": "h1", "password": "x"}, REMOTE_ADDR=f"10.2.0.{i}")
    assert is_locked("h1") and "h1" in locked_usernames()


def test_api_only_account_is_not_dormant(make_user, client):
    from eldercare.accounts.backends import is_dormant

    u = make_user("api", "health")
    resp = client.post(
        "/api/v1/auth/token/", {"username": "api", "password": PASSWORD}, content_type="application/json"
    )
    key = resp.json()["token"]
    Client().get("/api/v1/regions/", HTTP_AUTHORIZATION=f"Token {key}")
    User.objects.filter(pk=u.pk).update(last_login=timezone.now() - timedelta(days=100))
    assert not is_dormant(User.objects.get(pk=u.pk))


def test_failed_second_factor_is_audited(make_user, client):
    from tests.factories import current_code, totp_device

    u = make_user("aud", "auditor")
    totp_device(u)
    wrong = "000000" if current_code() != "000000" else "111111"
    client.post("/accounts/login/", {"username": "aud", "password": PASSWORD})
    client.post("/accounts/2fa/", {"token": wrong})
    Client().post(
        "/api/v1/auth/token/",
        {"username": "aud", "password": PASSWORD, "otp": wrong},
        content_type="application/json",
    )
    events = AuditEvent.objects.filter(action=Action.LOGIN_FAILED, username="aud")
    # The page attempt is always recorded; the API one too unless the throttle from the page
    # failure refused it first (it is refused either way).
    assert "page" in {e.detail["channel"] for e in events}
    assert all(e.detail["factor"] == "otp" and e.result == "denied" for e in events)


def test_periodic_change_refuses_the_same_password(make_user, login):
    u = make_user("h1", "health")
    User.objects.filter(pk=u.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    c = login(Client(), u)
    resp = c.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert resp.status_code == 200
    assert c.get("/").status_code == 302


def test_beat_schedule_changes_in_the_admin_site_are_audited(make_user, login):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=10, period="minutes")
    task = PeriodicTask.objects.create(name="probe", task="eldercare.core.tasks.health_check", interval=every)
    c = login(Client(), make_user("adm", "admin"))
    resp = c.post(f"/system/django_celery_beat/periodictask/{task.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 302 and not PeriodicTask.objects.filter(pk=task.pk).exists()
    ev = AuditEvent.objects.get(action=Action.DELETE, object_type="django_celery_beat.periodictask")
    assert ev.username == "adm" and ev.changes["name"] == ["probe", None]


def test_region_parent_must_contain_the_code(make_user, tmp_path):
    from eldercare.regions.services import import_regions

    admin = make_user("adm", "admin")
    f = tmp_path / "r.csv"
    f.write_text("区划代码,名称,上级区划代码\n370306001009,错挂村,370306100000\n", encoding="utf-8")
    s = import_regions(actor=admin, path=f)
    assert [(e["row"], e["column"]) for e in s.errors] == [(2, "上级区划代码")]


def test_load_demo_is_idempotent_and_refused_outside_debug(db, settings, monkeypatch, tmp_path):
    from django.core.management import CommandError, call_command

    from eldercare.workflow.models import Filing

    settings.PORTAL_UPLOAD_ROOT = str(tmp_path)
    monkeypatch.delenv("PORTAL_ALLOW_DEMO", raising=False)
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("load_demo", "--quiet-logins")
    settings.DEBUG = True
    call_command("load_demo", "--quiet-logins")
    counts = (User.objects.count(), AuditEvent.objects.count())
    call_command("load_demo", "--quiet-logins")
    assert User.objects.count() == counts[0] == 8
    assert User.objects.get(username="township01").region_id == "370306001000"
    from eldercare.regions.models import Region

    assert Region.objects.filter(level=4).count() == 9 and Region.objects.filter(level=5).count() > 150
    from contracts.models import Contract

    assert Contract.objects.count() == 6  # contracts in every derived status, once
    from subsidies.models import Application, Payment

    # subsidy applications in every state, one approved with its first installment paid
    assert sorted(Application.objects.values_list("filing__status", flat=True)) == [
        "accepted",
        "approved",
        "draft",
        "rejected",
        "submitted",
    ]
    assert Payment.objects.count() == 1
    # filings in every open state, made through the service, once
    assert sorted(Filing.objects.exclude(type__code="subsidy").values_list("status", flat=True)) == [
        "accepted",
        "approved",
        "draft",
        "returned",
        "submitted",
    ]


def test_admin_site_is_403_not_a_redirect_loop_for_other_roles(make_user, login):
    c = login(Client(), make_user("h1", "health"))
    resp = c.get("/system/", follow=True)
    assert resp.status_code == 403 and len(resp.redirect_chain) <= 1


def test_password_length_message_is_chinese(make_user, login):
    c = login(Client(), make_user("h1", "health"))
    body = c.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": "Ab1!", "new_password2": "Ab1!"}
    ).content.decode()
    assert "密码长度太短" in body and "too short" not in body


def test_admin_role_accounts_not_editable_from_the_user_form(make_user, login):
    admin = make_user("adm", "admin")
    c = login(Client(), admin)
    assert c.get(f"/users/{admin.pk}/edit/").status_code == 403
    assert c.get(f"/users/{make_user('aud2', 'auditor').pk}/edit/").status_code == 403
    assert c.get(f"/users/{make_user('h9', 'health').pk}/edit/").status_code == 200


def test_warnings_cite_document_numbers():
    from institutions.rules import Facts, warnings_for

    w = warnings_for(Facts(family="eldercare", type="elder_home", beds_eldercare=120))[0]
    assert ".txt" in w.source and ".txt" not in w.citation and "§二(二)5" in w.citation
