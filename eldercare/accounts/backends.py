from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from eldercare.core import dataversion

PERMS_TIMEOUT = 3600


def is_dormant(user) -> bool:
    days = settings.PORTAL_DORMANT_AFTER_DAYS
    if not days:
        return False
    last = user.last_login or user.date_joined
    if last is not None and timezone.now() - last > timedelta(days=days):
        # API-only accounts are in use when their tokens are.
        from .models import ApiToken

        used = (
            ApiToken.objects.filter(user=user, last_used_at__isnull=False)
            .order_by("-last_used_at")
            .values_list("last_used_at", flat=True)
            .first()
        )
        return used is None or timezone.now() - used > timedelta(days=days)
    return False


class PortalModelBackend(ModelBackend):
    """Case-insensitive usernames (via the manager) and dormant accounts disabled at the door:
    an account unused for 90 days is switched off when someone next tries it, as well as by the
    nightly task."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and is_dormant(user):
            from .services import disable_dormant

            disable_dormant(user)
            return None
        return user

    def get_user(self, user_id):
        """The signed-in user with their region (every page's chrome reads it)."""
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("region").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        """Django's permission set, kept across requests under the roles-and-permissions version
        (`dataversion.auth_version`, renewed by any change to a user's groups or permissions, a
        group's permissions, or a group or permission itself: eldercare.accounts.signals). With
        the roles, which every scoped query reads. Superusers and objects: Django's own path."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj=obj)
        if hasattr(user_obj, "_perm_cache"):
            return user_obj._perm_cache
        version = dataversion.auth_version()
        key = f"portal:perms:{version}:{dataversion.code_stamp()}:{user_obj.pk}" if version else None
        cached = dataversion.versioned_get(key)
        if cached is None:
            perms = super().get_all_permissions(user_obj)
            cached = (frozenset(perms), user_obj.roles)
            dataversion.versioned_set(key, cached, PERMS_TIMEOUT)
        perms, roles = cached
        user_obj._perm_cache = set(perms)
        if getattr(user_obj, "_roles_cache", None) is None:
            user_obj._roles_cache = roles
        return user_obj._perm_cache
