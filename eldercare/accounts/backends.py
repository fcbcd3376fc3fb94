from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone


def is_dormant(user) -> bool:
    days = settings.PORTAL_DORMANT_AFTER_DAYS
    if not days:
        return False
    last = user.last_login or user.date_joined
    return last is not None and timezone.now() - last > timedelta(days=days)


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
