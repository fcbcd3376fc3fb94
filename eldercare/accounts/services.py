"""Writes to accounts: every one atomic, scoped and audited (ARCHITECTURE.md, one road)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.audit.models import Action
from eldercare.audit.services import diff, record, snapshot
from eldercare.core.outbox import enqueue_on_commit
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import roles as role_defs
from .models import ApiToken, User, hash_token
from .scope import SYSTEM, region_in_scope

AUDITED_FIELDS = (
    "username",
    "full_name",
    "email",
    "phone",
    "region",
    "is_active",
    "otp_opt_in",
    "otp_exempt",
    "must_change_password",
)


def sync_role_groups(using="default") -> None:
    """Create the role groups and give each exactly its listed permissions (idempotent)."""
    for role, perm_codes in role_defs.ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        perms = []
        for code in perm_codes:
            app_label, codename = code.split(".", 1)
            perm = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            if perm is None:
                raise LookupError(f"role {role}: permission {code} does not exist")
            perms.append(perm)
        group.permissions.set(perms)


def _require(actor, perm):
    if actor is not SYSTEM and not actor.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do that."))


def _region(code_or_region) -> Region:
    if isinstance(code_or_region, Region):
        return code_or_region
    try:
        code = codes.normalise(code_or_region)
    except codes.RegionCodeError as exc:
        raise ValidationError(_("Invalid region code: %(code)s") % {"code": code_or_region}) from exc
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationError(_("Unknown region code: %(code)s") % {"code": code})
    return region


def _check_region_for_roles(region: Region, roles) -> None:
    if role_defs.TOWNSHIP in roles and region.level != codes.TOWNSHIP:
        raise ValidationError(_("A township user's scope must be a township or street."))


@transaction.atomic
def user_save(
    *,
    actor,
    username: str,
    region,
    full_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    password: str | None = None,
    is_active: bool | None = None,
    otp_opt_in: bool | None = None,
    must_change_password: bool | None = None,
    otp_exempt: bool | None = None,
    user: User | None = None,
    create_only: bool = False,
) -> User:
    """Create a user or update one (matched by case-insensitive username when `user` is None)."""
    region = _region(region)
    if actor is not SYSTEM and not region_in_scope(actor, region):
        raise PermissionDenied(_("That region is outside your scope."))
    username = username.strip()
    if user is None:
        user = User.objects.filter(username__iexact=username).first()
    creating = user is None
    if create_only and not creating:
        raise ValidationError(_("The username %(name)s is already taken.") % {"name": username})
    _require(actor, "accounts.add_user" if creating else "accounts.change_user")
    if not creating and actor is not SYSTEM and user.pk != getattr(actor, "pk", None):
        if user.roles & role_defs.EXCLUSIVE_ROLES:
            # 三权分立: the system administrator must not be able to take over (password) or
            # switch off the security or audit administrator, nor another administrator.
            raise PermissionDenied(
                _("Accounts of system, security and audit administrators cannot be changed here.")
            )
    if creating:
        user = User(username=username)
        before = {}
    else:
        if actor is not SYSTEM and (user.region_id is None or not region_in_scope(actor, user.region_id)):
            raise PermissionDenied(_("That user is outside your scope."))
        user = User.objects.select_for_update().get(pk=user.pk)
        before = snapshot(user, AUDITED_FIELDS)
        user.username = username
    user.region = region
    if user.pk:
        _check_region_for_roles(region, user.roles)
    for name, value in (
        ("full_name", full_name),
        ("email", email),
        ("phone", phone),
        ("is_active", is_active),
        ("otp_opt_in", otp_opt_in),
        ("must_change_password", must_change_password),
        ("otp_exempt", otp_exempt),
    ):
        if value is not None:
            setattr(user, name, value)
    if is_active:
        user.disabled_reason = ""
        if not creating and not before.get("is_active"):
            # Re-enabled: give the user a fresh 90 days before the dormancy rule applies again.
            user.last_login = timezone.now()
    if password:
        validate_password(password, user)
        user.set_password(password)
    elif creating:
        user.set_unusable_password()
    user.full_clean(exclude=["password", "groups"])
    user.save()
    after = snapshot(user, AUDITED_FIELDS)
    changes = diff(before, after)
    if password:
        changes["password"] = ["***", "***"]
    if creating or changes:
        record(actor, Action.CREATE if creating else Action.UPDATE, user, changes=changes)
    if creating:
        enqueue_on_commit(
            "eldercare.core.tasks.notify_user",
            user.pk,
            _("Welcome to the integrated medical and elderly care portal"),
            _("Your account has been created. Please change your password after your first sign-in."),
        )
    return user


@transaction.atomic
def user_set_roles(*, actor, user: User, roles, region=None) -> User:
    """Assign roles (and optionally the scope). Security administrators do this (三权分立)."""
    _require(actor, "accounts.assign_roles")
    if actor is not SYSTEM:
        if user.pk == getattr(actor, "pk", None):
            raise PermissionDenied(_("You cannot change your own roles."))
        if not region_in_scope(actor, user.region_id or "") and user.region_id:
            raise PermissionDenied(_("That user is outside your scope."))
    roles = set(roles)
    errors = role_defs.validate_role_set(roles)
    if errors:
        raise ValidationError(errors)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"roles": sorted(user.roles), "region": user.region_id}
    if region is not None:
        region = _region(region)
        if actor is not SYSTEM and not region_in_scope(actor, region):
            raise PermissionDenied(_("That region is outside your scope."))
        user.region = region
        user.save(update_fields=["region"])
    if user.region is not None:
        _check_region_for_roles(user.region, roles)
    role_groups = Group.objects.filter(name__in=role_defs.ROLE_CODES)
    user.groups.remove(*role_groups)
    user.__dict__.pop("_roles_cache", None)
    user.groups.add(*Group.objects.filter(name__in=roles))
    user.__dict__.pop("_roles_cache", None)
    after = {"roles": sorted(user.roles), "region": user.region_id}
    changes = diff(before, after)
    if changes:
        record(actor, Action.UPDATE, user, changes=changes, detail={"what": "roles"})
    return user


@transaction.atomic
def user_unlock(*, actor, user: User) -> int:
    from .lockout import unlock

    _require(actor, "accounts.unlock_user")
    cleared = unlock(user.username)
    record(actor, Action.SECURITY, user, detail={"what": "unlock", "attempts_cleared": cleared})
    return cleared


@transaction.atomic
def user_reset_second_factor(*, actor, user: User) -> int:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require(actor, "accounts.reset_second_factor")
    deleted, _detail = TOTPDevice.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(otp_exempt=False)
    record(
        actor,
        Action.SECURITY,
        user,
        changes={"otp_exempt": [user.otp_exempt, False]},
        detail={"what": "reset_second_factor", "devices_removed": deleted},
    )
    return deleted


def disable_dormant(user: User) -> None:
    with transaction.atomic():
        updated = User.objects.filter(pk=user.pk, is_active=True).update(
            is_active=False, disabled_reason="dormant"
        )
        if updated:
            record(
                SYSTEM,
                Action.SECURITY,
                user,
                changes={"is_active": [True, False]},
                detail={"what": "dormant"},
            )


def disable_dormant_accounts(now=None) -> int:
    from .backends import is_dormant

    count = 0
    for user in User.objects.filter(is_active=True).only("id", "username", "last_login", "date_joined"):
        if is_dormant(user):
            disable_dormant(user)
            count += 1
    return count


@transaction.atomic
def token_issue(
    *, actor, user: User, integration: bool = False, days: int | None = None, name: str = ""
) -> tuple[str, ApiToken]:
    """Returns (key, token). The key is shown once; only its hash is stored."""
    if integration:
        _require(actor, "accounts.issue_integration_token")
        lifetime = timedelta(days=days or 365)
    else:
        if actor is not SYSTEM and actor.pk != user.pk:
            raise PermissionDenied(_("You can only issue tokens for yourself."))
        lifetime = timedelta(hours=settings.PORTAL_API_TOKEN_HOURS)
    if not integration:
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())  # a sign-in, for dormancy
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=user,
        key_hash=hash_token(key),
        prefix=key[:8],
        name=name,
        integration=integration,
        expires_at=timezone.now() + lifetime,
    )
    record(
        actor,
        Action.TOKEN,
        user,
        detail={"token_prefix": token.prefix, "integration": integration, "expires_at": token.expires_at},
    )
    return key, token


@transaction.atomic
def password_changed(*, actor, user: User) -> None:
    User.objects.filter(pk=user.pk).update(
        must_change_password=False, password_changed_at=user.password_changed_at
    )
    record(actor, Action.SECURITY, user, detail={"what": "password_changed"})


def second_factor_failed(*, actor, channel: str) -> None:
    from eldercare.audit.models import Result

    record(
        actor, Action.LOGIN_FAILED, actor, result=Result.DENIED, detail={"factor": "otp", "channel": channel}
    )


@transaction.atomic
def second_factor_enrolled(*, actor, user: User, device) -> None:
    record(actor, Action.SECURITY, user, detail={"what": "second_factor_enrolled", "device": device.name})


@transaction.atomic
def profile_update(*, actor, full_name: str, email: str, phone: str, otp_opt_in: bool) -> User:
    """A user's own contact details and their opt-in to the second factor."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    before = snapshot(user, AUDITED_FIELDS)
    user.full_name, user.email, user.phone, user.otp_opt_in = full_name, email, phone, otp_opt_in
    user.save(update_fields=["full_name", "email", "phone", "otp_opt_in"])
    changes = diff(before, snapshot(user, AUDITED_FIELDS))
    if changes:
        record(actor, Action.UPDATE, user, changes=changes, detail={"what": "profile"})
    return user
