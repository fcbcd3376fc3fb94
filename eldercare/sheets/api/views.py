"""`/api/v1/imports/` (CONTRACT.md): the same engine calls as the 批量导入 page and import_sheet.

POST (multipart: kind, file, dry_run, as_of) → {"id", "status", "summary"}; GET {id} polls;
POST {id}/confirm/ commits a validated dry run. Accept/reject/revert for county users follow
the same pattern. Out-of-scope batches are 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core.api.errors import ERRORS

from .. import engine, kinds
from ..models import ImportBatch
from ..readers import max_bytes, too_big_message


class ImportBatchSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "file_name",
            "file_sha256",
            "as_of",
            "username",
            "created_at",
            "committed_at",
            "message",
            "summary",
        ]
        read_only_fields = fields

    def get_summary(self, obj) -> dict:
        data = obj.summary()
        if obj.status in (ImportBatch.Status.FAILED, ImportBatch.Status.STALE) and not data["errors"]:
            data["errors"] = [{"row": None, "column": None, "message": obj.message}]
        return data


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=kinds.ALL_KINDS)
    file = serializers.FileField()
    dry_run = serializers.BooleanField(required=False, default=False)
    as_of = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_file(self, value):
        if value.size > max_bytes():
            raise serializers.ValidationError(too_big_message())
        return value

    def validate_kind(self, value):
        if value not in kinds.available():
            raise serializers.ValidationError(f"导入类型 {value} 尚未提供（随对应业务模块上线）。")
        return value


class ImportBatchViewSet(viewsets.GenericViewSet):
    serializer_class = ImportBatchSerializer
    queryset = ImportBatch.objects.none()
    parser_classes = [MultiPartParser, FormParser, JSONParser]  # JSON for the action bodies
    required_permissions = {"GET": ["sheets.view_importbatch"], "POST": ["sheets.import_sheet"]}

    def get_queryset(self):
        return for_user(ImportBatch.objects.all(), self.request.user)

    def get_object(self):
        from django.http import Http404

        try:
            return get_for_user(ImportBatch, self.request.user, pk=self.kwargs["pk"])
        except (Http404, ValueError) as exc:
            raise NotFound() from exc

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ImportBatchSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ImportBatchSerializer(self.get_object()).data)

    @extend_schema(request=ImportUploadSerializer, responses={201: ImportBatchSerializer})
    def create(self, request):
        form = ImportUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            batch = engine.start_import(
                actor=request.user,
                kind=data["kind"],
                data=data["file"].read(),
                filename=data["file"].name,
                as_of=data["as_of"],
                dry_run=data["dry_run"],
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    def _act(self, fn, **kw):
        batch = self.get_object()
        try:
            batch = fn(actor=self.request.user, batch=batch, **kw)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:
            return Response({"detail": "；".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        batch.refresh_from_db()
        return Response(ImportBatchSerializer(batch).data)

    @extend_schema(request=None, responses={200: ImportBatchSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._act(engine.confirm)

    @extend_schema(request=None, responses={200: ImportBatchSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(engine.accept)

    @extend_schema(
        request=inline_serializer("ImportReject", {"comment": serializers.CharField()}),
        responses={200: ImportBatchSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._act(engine.reject, comment=str(request.data.get("comment", "")))

    @extend_schema(request=None, responses={200: ImportBatchSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def revert(self, request, pk=None):
        return self._act(engine.revert)
