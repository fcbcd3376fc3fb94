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


def _shaped(field_errors: dict) -> dict:
    errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in field_errors.items()}
    detail = "；".join(f"{k}：{'，'.join(v)}" for k, v in errors.items())
    return {"detail": detail, "errors": errors}


def form_errors(form) -> Response:
    """DRF's own 400 in the same shape as the services': a Chinese `detail` and `errors`."""
    return Response(_shaped(form.errors), status=400)


def exception_handler(exc, context):
    """DRF's handler (settings REST_FRAMEWORK["EXCEPTION_HANDLER"]), with a ValidationError raised
    by a view (`is_valid(raise_exception=True)`, a checked query parameter) given the shared
    shape too: `detail` and `errors` added. The field keys DRF puts at the top stay there as
    well, for clients that read them (`{"file": [...]}` of /api/v1/imports/)."""
    from rest_framework.exceptions import ValidationError
    from rest_framework.views import exception_handler as drf_handler

    response = drf_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        data = response.data
        if isinstance(data, dict) and "detail" not in data:
            response.data = {**data, **_shaped(data)}
        elif isinstance(data, list):
            response.data = {"detail": "；".join(str(m) for m in data)}
    return response


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
