"""Lockout: django-axes locks a username after 5 failures from anywhere (15 minutes); the
portal adds a per-IP limit at a higher threshold (20 failures across usernames), never the
IP alone at 5 — a whole township office shares one NAT address (SECURITY.md)."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog
from axes.utils import reset
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _


def axes_username(request, credentials=None) -> str:
    """Usernames are case-insensitive, so lockout counts must be too."""
    username = (credentials or {}).get("username")
    if username is None and request is not None and request.method == "POST":
        username = request.POST.get("username")
    return (username or "").strip().lower()


def _window_start():
    return timezone.now() - settings.AXES_COOLOFF_TIME


def ip_failures(ip: str) -> int:
    if not ip:
        return 0
    return AccessFailureLog.objects.filter(ip_address=ip, attempt_time__gte=_window_start()).count()


def ip_locked(ip: str) -> bool:
    return ip_failures(ip) >= settings.PORTAL_IP_FAILURE_LIMIT


def locked_usernames() -> list[str]:
    """Usernames over the limit, adding up their attempts from every IP (as axes does)."""
    from django.db.models import Sum

    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=_window_start())
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return sorted(r["username"] for r in rows)


def is_locked(username: str) -> bool:
    return username.lower() in locked_usernames()


def unlock(username: str) -> int:
    return reset(username=username.lower())


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME / timedelta(minutes=1))
    return _(
        "Too many failed sign-in attempts: the account is locked for %(minutes)d minutes. "
        "Contact the security administrator to unlock it sooner."
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    message = lockout_message()
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    from .forms import LoginForm

    form = LoginForm(request)
    return render(request, "accounts/login.html", {"form": form, "lockout_error": message}, status=429)
