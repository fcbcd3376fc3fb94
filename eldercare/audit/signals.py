"""Authentication events into the audit trail."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from eldercare.core.net import client_ip

from .models import Action, Result
from .services import record


def _ip(request):
    return client_ip(request) if request is not None else None


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    record(user, Action.LOGIN, user, ip=_ip(request))


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(user, Action.LOGOUT, user, ip=_ip(request))


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "") or ""
    user = get_user_model().objects.filter(username__iexact=username).first() if username else None
    record(
        user,
        Action.LOGIN_FAILED,
        username=username,
        ip=_ip(request),
        result=Result.DENIED,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=username[:200],
    )


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def _locked_out(sender, request, username, ip_address, **kwargs):
    user = get_user_model().objects.filter(username__iexact=username or "").first() if username else None
    record(
        user,
        Action.LOCKOUT,
        username=username or "",
        ip=ip_address,
        result=Result.DENIED,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=(username or "")[:200],
    )
