"""Session idle expiry, second factor and password age, enforced for every page."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse

# Paths a signed-in user may reach before finishing the second factor or a forced password change.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/accounts/logout/", "/accounts/2fa/", "/favicon.ico")


class IdleTimeoutMiddleware:
    """Signs the user out after PORTAL_IDLE_TIMEOUT_SECONDS without a request, and slides the
    server-side session expiry at most once a minute (not a write on every request)."""

    key = "_last_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(self.key, now)
            if now - last > settings.PORTAL_IDLE_TIMEOUT_SECONDS:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect_to_login(request.get_full_path())
            if now - last >= 60 or self.key not in request.session:
                request.session[self.key] = now
        return self.get_response(request)


class AccountPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        path = request.path
        if user.is_authenticated and not path.startswith(_OPEN_PREFIXES) and not path.startswith("/api/"):
            if user.otp_required and not user.is_verified():
                return redirect(reverse("accounts:otp"))
            if user.password_expired and path != reverse("accounts:password_change"):
                return redirect(reverse("accounts:password_change"))
        return self.get_response(request)
