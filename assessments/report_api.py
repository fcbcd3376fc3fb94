"""`GET /api/v1/reports/attainment/?year=YYYY&region=CODE` (CONTRACT.md): the rows of the newest
complete report version for CODE and its direct children (empty before any computation),
paginated like every list (`{"count", "next", "previous", "results"}`).

Each row: `{"indicator", "region", "year", "value", "numerator", "denominator", "target",
"target_inherited", "attained", "gap", "rank", "status", "completeness": {"n", "m"}}` plus
`"run"` (the version's id), `"data_as_of"`, `"evaluated_on"`, `"indicator_name"`,
`"region_name"`, `"level"` and `"changed"`. Rates (and scores): `value`, `target`, `gap` are
strings with 2 decimals (percent, percentage points), rounded half up from the exact fraction;
counts (个, 张): integers, with `numerator` the count and `denominator` null. A rate's numerator
and denominator are integers (a 2-decimal string only where a reported figure has decimals).

`region` defaults to the caller's own region (a township user sees its own township's rows
only); a malformed year or region is 400 in the shared error shape, a region outside the
caller's scope 404. Reads stored rows only."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound

from eldercare.accounts.scope import region_in_scope
from eldercare.core.api.errors import ERRORS, invalid
from eldercare.regions.models import Region

from . import page_selectors as ps
from . import selectors
from .models import ReportRow, RowStatus

NUMBER_OR_STRING = {"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True}


class CompletenessSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="members (or townships) with data")
    m = serializers.IntegerField(help_text="members (or townships) expected")


class AttainmentRowSerializer(serializers.Serializer):
    indicator = serializers.CharField(source="indicator_id")
    indicator_name = serializers.CharField(source="indicator.name")
    region = serializers.CharField(source="region_id")
    region_name = serializers.CharField(source="region.name")
    level = serializers.IntegerField()
    year = serializers.IntegerField(source="run.year")
    value = serializers.SerializerMethodField()
    numerator = serializers.SerializerMethodField()
    denominator = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    target_inherited = serializers.BooleanField()
    attained = serializers.BooleanField(allow_null=True)
    gap = serializers.SerializerMethodField()
    rank = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=RowStatus.values)
    completeness = serializers.SerializerMethodField()
    changed = serializers.BooleanField(help_text="reported values changed since their acceptance")
    run = serializers.IntegerField(source="run_id", help_text="the report version")
    data_as_of = serializers.DateTimeField(source="run.data_as_of")
    evaluated_on = serializers.DateField(source="run.evaluated_on")

    @staticmethod
    def _count(row) -> bool:
        return row.indicator.unit in ps.COUNT_UNITS

    @extend_schema_field(NUMBER_OR_STRING)
    def get_value(self, row):
        if row.value_text is None:
            return None
        return int(row.value_text) if self._count(row) else row.value_text

    @extend_schema_field(NUMBER_OR_STRING)
    def get_numerator(self, row):
        return row.num_text

    @extend_schema_field(NUMBER_OR_STRING)
    def get_denominator(self, row):
        return None if self._count(row) else row.den_text

    @extend_schema_field(NUMBER_OR_STRING)
    def get_target(self, row):
        if row.target_text is None:
            return None
        return int(row.target_text) if self._count(row) else row.target_text

    @extend_schema_field(NUMBER_OR_STRING)
    def get_gap(self, row):
        if row.gap_text is None:
            return None
        return int(row.gap_text) if self._count(row) else row.gap_text

    @extend_schema_field(CompletenessSerializer)
    def get_completeness(self, row) -> dict:
        return {"n": row.complete_n, "m": row.complete_m}


class AttainmentViewSet(viewsets.GenericViewSet):
    serializer_class = AttainmentRowSerializer
    queryset = ReportRow.objects.none()
    required_permissions = {"GET": ["assessments.view_report"]}

    def _params(self):
        """(year, region) or the 400 response."""
        p = self.request.query_params
        errors = {}
        raw_year = (p.get("year") or "").strip()
        year = ps.this_year()
        if raw_year:
            year = ps.parse_year(raw_year)
            if year is None:
                errors["year"] = [f"year 应为 {ps.MIN_YEAR}–{ps.this_year()} 之间的四位年份。"]
        code = (p.get("region") or "").strip() or (self.request.user.region_id or "")
        if not (code.isdigit() and len(code) == 12):
            errors["region"] = ["region 应为 12 位区划代码。"]
        if errors:
            return None, None, invalid(DjangoValidationError(errors))
        if not region_in_scope(self.request.user, code):
            raise NotFound("在您的管辖范围内找不到该区划。")
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise NotFound("在您的管辖范围内找不到该区划。")
        return year, region, None

    @extend_schema(
        summary="Target-attainment rows of a region and its direct children",
        parameters=[
            OpenApiParameter("year", int, required=False, description="YYYY; default this year"),
            OpenApiParameter(
                "region", str, required=False, description="12-digit region code; default the caller's region"
            ),
        ],
        responses={200: AttainmentRowSerializer(many=True), **ERRORS},
    )
    def list(self, request):
        year, region, error = self._params()
        if error is not None:
            return error
        run = selectors.latest_run(year, region.code)
        rows = [] if run is None else selectors.attainment_rows(run, region.code).select_related("run")
        page = self.paginate_queryset(rows)
        for row in page:
            ps.decorate(row)
        return self.get_paginated_response(AttainmentRowSerializer(page, many=True).data)
