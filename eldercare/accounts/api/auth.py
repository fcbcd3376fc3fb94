"""API authentication: the browser session (checked for the second factor and password age,
as pages are) and expiring tokens (CONTRACT.md: 8 hours; integration tokens longer)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from ..models import ApiToken, hash_token


class VerifiedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, auth = result
        django_request = request._request
        if user.otp_required and not (
            hasattr(django_request.user, "is_verified") and django_request.user.is_verified()
        ):
            raise exceptions.AuthenticationFailed(_("Two-factor verification is required."))
        if user.password_expired:
            raise exceptions.AuthenticationFailed(
                _("Your password has expired; change it in the portal first.")
            )
        return user, auth


class ExpiringTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("The token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This account is disabled."))
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "eldercare.accounts.api.auth.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "eldercare.accounts.api.auth.VerifiedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
