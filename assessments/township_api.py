"""`/api/v1/township-reports/` (CONTRACT.md "township reports: CRUD and workflow actions as the
schema documents them") on the same services as the 乡镇年报 pages.

- GET list (filters `year`, `status`, `region` — a 12-digit township code) and GET one;
- POST `{"region", "year", "values": {field code: number}}` creates a report (a township user
  for their own township, a county user for any in their county); PATCH `{"values": {…}}` changes
  the given figures (null clears one) while the report is a draft or reopened;
- POST `{id}/transitions/` `{"action": "submit" | "accept" | "reopen", "comment"}` (the comment is
  the reason a reopen requires) → the updated report.
Refusals use the shared error shape (eldercare/core/api/errors.py): 400 with `errors` per field
code, 403 (not this caller's to take), 409 (the state does not allow it: 已审核锁定, or already
accepted by someone else); other townships' reports are 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core.api.errors import ERRORS, call, form_errors, invalid
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import township_reports as svc
from .models import ReportStatus, TownshipReport


class TownshipReportSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region_id", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    changed_since_accepted = serializers.BooleanField(read_only=True)
    submitted_by = serializers.SerializerMethodField()
    accepted_by = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = TownshipReport
        fields = [
            "id",
            "region",
            "region_name",
            "year",
            "status",
            "status_label",
            "values",
            "accepted_values",
            "previous_accepted_values",
            "changed_since_accepted",
            "submitted_at",
            "submitted_by",
            "accepted_at",
            "accepted_by",
            "acceptances",
            "reopened_reason",
            "updated_at",
            "actions",
        ]
        read_only_fields = fields

    def get_submitted_by(self, obj) -> str | None:
        return obj.submitted_by.username if obj.submitted_by_id else None

    def get_accepted_by(self, obj) -> str | None:
        return obj.accepted_by.username if obj.accepted_by_id else None

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return sorted(svc.actions_for(request.user, obj))


class ValuesField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.JSONField(allow_null=True),
            help_text='{ReportedField code: number or null}, e.g. {"pop60": 1200, "satisfaction": 92.5}',
            **kwargs,
        )


class CreateSerializer(serializers.Serializer):
    region = serializers.CharField(help_text="12-digit township code")
    year = serializers.IntegerField()
    values = ValuesField(required=False, default=dict)


class PatchSerializer(serializers.Serializer):
    values = ValuesField()


class TownshipTransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["submit", "accept", "reopen"])
    comment = serializers.CharField(required=False, allow_blank=True, default="")


FILTERS = [
    OpenApiParameter("year", int, required=False),
    OpenApiParameter("status", str, required=False, enum=ReportStatus.values),
    OpenApiParameter("region", str, required=False, description="12-digit township code"),
]


class TownshipReportViewSet(viewsets.GenericViewSet):
    serializer_class = TownshipReportSerializer
    queryset = TownshipReport.objects.none()
    # Reading needs the view permission; each write's service decides who may do it.
    required_permissions = {
        "GET": ["assessments.view_townshipreport"],
        "POST": ["assessments.view_townshipreport"],
        "PATCH": ["assessments.view_townshipreport"],
    }

    def _params(self) -> dict:
        p = self.request.query_params
        out, errors = {}, {}
        if p.get("year"):
            if p["year"].isdigit():
                out["year"] = int(p["year"])
            else:
                errors["year"] = "year 应为四位年份。"
        if p.get("status"):
            if p["status"] in ReportStatus.values:
                out["status"] = p["status"]
            else:
                errors["status"] = "status 应为：" + "、".join(ReportStatus.values) + "。"
        if p.get("region"):
            if p["region"].isdigit() and len(p["region"]) == 12:
                out["region_id"] = p["region"]
            else:
                errors["region"] = "region 应为 12 位乡镇代码。"
        if errors:
            raise ValidationError(errors)
        return out

    def get_queryset(self):
        return (
            for_user(
                TownshipReport.objects.select_related("region", "submitted_by", "accepted_by"),
                self.request.user,
            )
            .filter(**self._params())
            .order_by("-year", "region_id")
        )

    def get_object(self) -> TownshipReport:
        try:
            return get_for_user(
                TownshipReport.objects.select_related("region", "submitted_by", "accepted_by"),
                self.request.user,
                pk=self.kwargs["pk"],
            )
        except (Http404, ValueError) as exc:
            raise NotFound() from exc

    def _answer(self, report: TownshipReport, code: int = 200) -> Response:
        fresh = TownshipReport.objects.select_related("region", "submitted_by", "accepted_by").get(
            pk=report.pk
        )
        return Response(TownshipReportSerializer(fresh, context={"request": self.request}).data, status=code)

    @extend_schema(parameters=FILTERS)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            TownshipReportSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(responses={200: TownshipReportSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self._answer(self.get_object())

    @extend_schema(request=CreateSerializer, responses={201: TownshipReportSerializer, **ERRORS})
    def create(self, request):
        form = CreateSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        data = form.validated_data
        code = data["region"].strip()
        region = Region.objects.for_user(request.user).filter(code=code, level=codes.TOWNSHIP).first()
        if region is None:
            return invalid(
                DjangoValidationError({"region": f"在您的管辖范围内找不到乡镇（街道）区划“{code}”。"})
            )
        existing = TownshipReport.objects.filter(region_id=region.code, year=data["year"]).first()
        if existing is not None:
            return invalid(
                DjangoValidationError(
                    {
                        "year": f"{region.name}{data['year']}年度的年报已存在（id {existing.pk}），请用 PATCH 修改。"
                    }
                )
            )
        report, error = call(
            svc.report_save, actor=request.user, region=region, year=data["year"], values=data["values"]
        )
        return error or self._answer(report, status.HTTP_201_CREATED)

    @extend_schema(request=PatchSerializer, responses={200: TownshipReportSerializer, **ERRORS})
    def partial_update(self, request, pk=None):
        report = self.get_object()
        form = PatchSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        saved, error = call(
            svc.report_save,
            actor=request.user,
            region=report.region,
            year=report.year,
            values=form.validated_data["values"],
            partial=True,
        )
        return error or self._answer(saved)

    @extend_schema(request=TownshipTransitionSerializer, responses={200: TownshipReportSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        report = self.get_object()
        form = TownshipTransitionSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        what, comment = form.validated_data["action"], form.validated_data["comment"]
        if what == "submit":
            _r, error = call(svc.report_submit, actor=request.user, report=report)
        elif what == "accept":
            _r, error = call(svc.report_accept, actor=request.user, reports=[report], strict=True)
        else:
            _r, error = call(svc.report_reopen, actor=request.user, report=report, reason=comment)
        return error or self._answer(report)
