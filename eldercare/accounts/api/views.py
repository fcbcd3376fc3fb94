from django.contrib.auth import authenticate, get_user_model
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from eldercare.core.api.errors import ErrorSerializer
from eldercare.core.net import client_ip

from .. import services
from ..lockout import ip_locked
from .serializers import TokenRequestSerializer, TokenResponseSerializer, UserSerializer


class TokenObtainView(APIView):
    """`POST /api/v1/auth/token/`: username, password (+ otp where the second factor is
    enforced) -> {"token", "expires_at"}. Same lockout and audit as the sign-in page."""

    authentication_classes = []
    permission_classes = []
    public = True

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        auth=[],
    )
    def post(self, request):
        ser = TokenRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        django_request = request._request
        if ip_locked(client_ip(django_request)):
            return Response(
                {"detail": _("Too many failed sign-ins from this network address. Try again later.")},
                status=429,
            )
        user = authenticate(
            django_request, username=ser.validated_data["username"], password=ser.validated_data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            from ..lockout import lockout_message

            return Response({"detail": lockout_message()}, status=429)
        if user is None:
            return Response(
                {"detail": _("Wrong username or password (or the account is disabled).")}, status=400
            )
        if user.otp_required:
            token = (ser.validated_data.get("otp") or "").strip()
            devices = TOTPDevice.objects.filter(user=user, confirmed=True)
            if not token or not any(d.verify_token(token) for d in devices):
                services.second_factor_failed(actor=user, channel="api")
                return Response(
                    {"detail": _("A valid two-factor code (otp) is required for this account.")}, status=400
                )
        if user.password_expired:
            return Response(
                {"detail": _("Your password has expired; change it in the portal first.")}, status=400
            )
        key, token = services.token_issue(actor=user, user=user)
        return Response({"token": key, "expires_at": token.expires_at}, status=status.HTTP_200_OK)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Users in the caller's scope."""

    serializer_class = UserSerializer
    required_permissions = {"GET": ["accounts.view_user"]}
    queryset = get_user_model().objects.none()

    def get_queryset(self):
        return (
            get_user_model()
            .objects.for_user(self.request.user)
            .select_related("region")
            .prefetch_related("groups")
            .order_by("username")
        )
