from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone


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
