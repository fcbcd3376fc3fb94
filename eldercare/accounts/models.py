"""Portal users: one region scope each, roles as groups, account-policy timestamps, and
expiring API tokens (CONTRACT.md: 8 hours unless an admin issues an integration token)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import roles as role_defs


class PortalUserManager(UserManager):
    def get_by_natural_key(self, username):
        # Usernames are case-insensitive (SECURITY.md).
        return self.get(username__iexact=username)

    def for_user(self, actor):
        from .scope import scope_queryset

        return scope_queryset(self.get_queryset(), actor, field="region")


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region scope"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("The user sees this region and everything under it."),
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)
    otp_opt_in = models.BooleanField(
        _("two-factor sign-in"), default=False, help_text=_("Use a TOTP authenticator at every sign-in.")
    )
    otp_exempt = models.BooleanField(
        _("exempt from role-enforced two-factor"),
        default=False,
        help_text=_(
            "Set for accounts created with the create_portal_user command (CONTRACT.md); the "
            "security administrator can clear it. Ignored when the deployment enforces two-factor for all."
        ),
    )
    disabled_reason = models.CharField(_("reason disabled"), max_length=200, blank=True)

    objects = PortalUserManager()

    scope_field = "region"

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        constraints = [models.UniqueConstraint(Lower("username"), name="user_username_ci_unique")]
        permissions = [
            ("assign_roles", _("Can assign roles and scopes")),
            ("unlock_user", _("Can unlock locked accounts")),
            ("reset_second_factor", _("Can reset a user's second factor")),
            ("issue_integration_token", _("Can issue long-lived integration tokens")),
        ]

    def __str__(self):
        return f"{self.full_name}（{self.username}）" if self.full_name else self.username

    # --- roles ------------------------------------------------------------------------
    @property
    def roles(self) -> frozenset[str]:
        cached = getattr(self, "_roles_cache", None)
        if cached is None:
            if not self.pk:
                return frozenset()
            if "groups" in getattr(self, "_prefetched_objects_cache", {}):
                # Lists prefetch groups: no query per row.
                cached = frozenset(g.name for g in self.groups.all() if g.name in role_defs.ROLE_CODES)
            else:
                cached = frozenset(
                    self.groups.filter(name__in=role_defs.ROLE_CODES).values_list("name", flat=True)
                )
            self._roles_cache = cached
        return cached

    def has_role(self, *codes) -> bool:
        return bool(self.roles & set(codes))

    @property
    def role_labels(self) -> list[str]:
        return [str(role_defs.ROLE_LABELS[r]) for r in role_defs.ROLE_CODES if r in self.roles]

    @property
    def primary_role(self) -> str | None:
        for code in role_defs.ROLE_CODES:
            if code in self.roles:
                return code
        return None

    @property
    def otp_required(self) -> bool:
        if settings.PORTAL_OTP_REQUIRED_FOR_ALL or self.otp_opt_in:
            return True
        return not self.otp_exempt and bool(self.roles & set(settings.PORTAL_OTP_REQUIRED_ROLES))

    # --- password age -----------------------------------------------------------------
    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    @property
    def password_expired(self) -> bool:
        if self.must_change_password:
            return True
        max_age = settings.PORTAL_PASSWORD_MAX_AGE_DAYS
        if not max_age or self.password_changed_at is None:
            return False
        return timezone.now() - self.password_changed_at > timedelta(days=max_age)


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ApiToken(models.Model):
    """Only the SHA-256 of the key is stored; the key is shown once, when issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text=_("First characters of the key, to recognise it."))
    name = models.CharField(_("name"), max_length=100, blank=True)
    integration = models.BooleanField(_("long-lived integration token"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def generate_key(cls) -> str:
        return secrets.token_urlsafe(32)
