"""One shape for the API's refusals: `{"detail": Chinese reason, "code"?, "errors"?: {field:
[messages]}}` with 400/403/404/409, whether DRF's own validation, a service's ValidationError or
PermissionDenied, or a workflow refusal (anything carrying `status` and `message`)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="the reason, in Chinese")
    code = serializers.CharField(
        required=False, help_text="e.g. state | taken | own | role | applicant_only | comment"
    )
    errors = serializers.DictField(required=False, help_text="{field: [messages]} for a 400 on content")


ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def form_errors(form) -> Response:
    """DRF's own 400 in the same shape as the services': a Chinese `detail` and `errors`."""
    errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in form.errors.items()}
    detail = "；".join(f"{k}：{'，'.join(v)}" for k, v in errors.items())
    return Response({"detail": detail, "errors": errors}, status=400)


def invalid(exc: DjangoValidationError) -> Response:
    if hasattr(exc, "error_dict"):
        return Response({"detail": "；".join(exc.messages), "errors": exc.message_dict}, status=400)
    return Response({"detail": "；".join(exc.messages)}, status=400)


def refused(exc) -> Response:
    return Response({"detail": exc.message, "code": exc.code}, status=exc.status)


def call(fn, **kwargs):
    """Run a service call: (result, None), or (None, the error response). PermissionDenied is
    raised as DRF's 403 (its message kept)."""
    try:
        return fn(**kwargs), None
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except DjangoValidationError as exc:
        return None, invalid(exc)
    except Exception as exc:
        if hasattr(exc, "status") and hasattr(exc, "message"):
            return None, refused(exc)
        raise
