"""Account services: audited writes, 三权分立, township scope, dormancy, password age, tokens."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from eldercare.accounts import services
from eldercare.accounts.models import ApiToken, User, hash_token
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def test_roles_are_groups_with_explicit_permissions(regions):
    for role in ("health", "civil", "township", "finance", "admin", "security", "auditor"):
        assert Group.objects.filter(name=role).exists()
    auditor = Group.objects.get(name="auditor")
    codes = set(auditor.permissions.values_list("codename", flat=True))
    assert "view_auditevent" in codes and "change_user" not in codes
    assert not Group.objects.get(name="admin").permissions.filter(codename="view_auditevent").exists()


def test_create_user_is_audited_with_new_values(make_user):
    admin = make_user("admin1", "admin")
    user = services.user_save(
        actor=admin, username="Health02", region="370306000000", full_name="王医生", password="Abcdef12!"
    )
    ev = AuditEvent.objects.filter(action=Action.CREATE, object_id=str(user.pk)).get()
    assert ev.username == "admin1" and ev.role == "admin"
    assert ev.changes["full_name"] == [None, "王医生"]
    assert ev.changes["password"] == "***"  # changed, value never logged
    services.user_save(actor=admin, user=user, username="health02", region="370306000000", full_name="王建国")
    upd = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(user.pk)).get()
    assert upd.changes == {"full_name": ["王医生", "王建国"], "username": ["Health02", "health02"]}


def test_usernames_are_case_insensitive_unique(make_user):
    make_user("Zhang", "health")
    # The service matches case-insensitively and updates rather than duplicating.
    services.user_save(actor=SYSTEM, username="zhang", region="370306000000")
    assert User.objects.filter(username__iexact="zhang").count() == 1
    with pytest.raises(Exception):  # noqa: B017 - the database constraint itself
        User.objects.create(username="ZHANG")


@pytest.mark.parametrize("combo", [{"admin", "auditor"}, {"security", "health"}])
def test_exclusive_admin_roles_refused_by_service(make_user, combo):
    u = make_user("u1", None)
    with pytest.raises(ValidationError):
        services.user_set_roles(actor=SYSTEM, user=u, roles=combo)


def test_exclusive_admin_roles_refused_below_the_service(make_user):
    from django.db import transaction

    u = make_user("u1", "auditor")
    with pytest.raises(ValidationError), transaction.atomic():
        u.groups.add(Group.objects.get(name="admin"))
    with pytest.raises(ValidationError), transaction.atomic():
        Group.objects.get(name="health").user_set.add(u)
    assert User.objects.get(pk=u.pk).roles == {"auditor"}


def test_township_role_needs_a_township_scope(make_user):
    u = make_user("u1", None)
    with pytest.raises(ValidationError):
        services.user_set_roles(actor=SYSTEM, user=u, roles={"township"})  # scope is the county
    services.user_set_roles(actor=SYSTEM, user=u, roles={"township"}, region="370306001000")
    assert User.objects.get(pk=u.pk).roles == {"township"}


def test_security_assigns_roles_but_cannot_change_own(make_user):
    sec = make_user("sec", "security")
    target = make_user("t", "health")
    services.user_set_roles(actor=sec, user=target, roles={"civil"})
    assert User.objects.get(pk=target.pk).roles == {"civil"}
    with pytest.raises(PermissionDenied):
        services.user_set_roles(actor=sec, user=sec, roles={"security", "health"})


def test_admin_cannot_assign_roles_and_auditor_cannot_create_users(make_user):
    admin = make_user("adm", "admin")
    auditor = make_user("aud", "auditor")
    target = make_user("t", "health")
    with pytest.raises(PermissionDenied):
        services.user_set_roles(actor=admin, user=target, roles={"finance"})
    with pytest.raises(PermissionDenied):
        services.user_save(actor=auditor, username="x", region="370306000000")


def test_county_admin_cannot_create_users_outside_scope(make_user):
    admin = make_user("adm", "admin")
    with pytest.raises(PermissionDenied):
        services.user_save(actor=admin, username="x", region="370307000000")


def test_password_rules(make_user):
    with pytest.raises(ValidationError):
        make_user("weak", "health", password="password1")  # common, 2 classes
    with pytest.raises(ValidationError):
        make_user("short", "health", password="Ab1!")


def test_password_expires_after_90_days(make_user):
    u = make_user("u", "health")
    assert not u.password_expired
    u.password_changed_at = timezone.now() - timedelta(days=91)
    assert u.password_expired


def test_dormant_accounts_disabled_by_the_nightly_task(make_user):
    from eldercare.accounts.tasks import disable_dormant_accounts

    old = make_user("old", "health")
    fresh = make_user("fresh", "health")
    User.objects.filter(pk=old.pk).update(last_login=timezone.now() - timedelta(days=91))
    User.objects.filter(pk=fresh.pk).update(last_login=timezone.now() - timedelta(days=89))
    assert disable_dormant_accounts.apply().get() == 1
    assert not User.objects.get(pk=old.pk).is_active
    assert User.objects.get(pk=fresh.pk).is_active
    ev = AuditEvent.objects.get(object_id=str(old.pk), action=Action.SECURITY)
    assert ev.detail["what"] == "dormant" and ev.username == "system"


def test_token_stored_hashed_and_expires_in_8_hours(make_user):
    u = make_user("u", "health")
    key, token = services.token_issue(actor=u, user=u)
    assert token.key_hash == hash_token(key) and key not in token.key_hash
    assert timedelta(hours=7, minutes=59) < token.expires_at - timezone.now() <= timedelta(hours=8)
    assert not AuditEvent.objects.filter(detail__icontains=key).exists()
    assert ApiToken.objects.live().count() == 1


def test_integration_tokens_only_from_admin(make_user):
    u = make_user("u", "health")
    with pytest.raises(PermissionDenied):
        services.token_issue(actor=u, user=u, integration=True)
    admin = make_user("adm", "admin")
    _key, token = services.token_issue(actor=admin, user=u, integration=True, days=90)
    assert token.expires_at - timezone.now() > timedelta(days=89)


def test_create_portal_user_command_is_idempotent(regions):
    from django.core.management import call_command

    call_command(
        "create_portal_user",
        "zhang",
        "--role",
        "health",
        "--region",
        "370306000000",
        "--password",
        "Abcdef12!",
    )
    call_command(
        "create_portal_user",
        "ZHANG",
        "--role",
        "civil",
        "--region",
        "370306000000",
        "--password",
        "Abcdef12!x",
    )
    u = User.objects.get(username__iexact="zhang")
    assert u.roles == {"civil"} and u.region_id == "370306000000"
    assert u.check_password("Abcdef12!x")
    assert User.objects.filter(username__iexact="zhang").count() == 1


def test_create_portal_user_rejects_bad_role_combination_and_region(regions):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command(
            "create_portal_user",
            "t",
            "--role",
            "township",
            "--region",
            "370306000000",
            "--password",
            "Abcdef12!",
        )
    with pytest.raises(CommandError):
        call_command(
            "create_portal_user", "x", "--role", "health", "--region", "123", "--password", "Abcdef12!"
        )


def test_rerunning_create_portal_user_keeps_a_reset_second_factor(regions):
    from django.core.management import call_command

    call_command(
        "create_portal_user", "adm", "--role", "admin", "--region", "370306000000", "--password", "Abcdef12!"
    )
    u = User.objects.get(username="adm")
    assert u.otp_exempt and not u.otp_required
    services.user_reset_second_factor(actor=SYSTEM, user=u)
    call_command(
        "create_portal_user", "adm", "--role", "admin", "--region", "370306000000", "--password", "Abcdef12!"
    )
    u = User.objects.get(username="adm")
    assert not u.otp_exempt and u.otp_required
