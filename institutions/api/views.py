import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from eldercare.core import dataversion

from ..enums import Grade, InternalUnit, Ownership
from ..exports import export_institutions
from ..models import Institution
from ..selectors import institutions_for, stored_warnings, threshold_table, warnings_of

FLAG_FIELDS = [
    "green_channel",
    "family_bed",
    "geriatric_dept",
    "rehab_dept",
    "hospice",
    "tcm",
    "telemedicine",
    "medical_insurance",
    "ltc_insurance",
]


def blank_choice(choices):
    """A read-only choice that may be "" (not recorded): DRF drops `allow_blank` from read-only
    model fields, and the schema would then refuse the "" the API sends."""
    return serializers.ChoiceField(choices=choices, allow_blank=True, read_only=True)


class InstitutionSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region_id", read_only=True)
    ownership = blank_choice(Ownership.choices)
    grade = blank_choice(Grade.choices)
    internal_unit = blank_choice(InternalUnit.choices)
    run_by = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Institution
        fields = [
            "id",
            "portal_no",
            "credit_code",
            "name",
            "family",
            "type",
            "region",
            "ownership",
            "grade",
            "status",
            "opened_on",
            "beds_medical",
            "beds_eldercare",
            "beds_nursing",
            "internal_unit",
            "run_by",
            "warnings",
            *FLAG_FIELDS,
        ]
        read_only_fields = fields

    def get_run_by(self, obj) -> str | None:
        return (obj.run_by.credit_code or obj.run_by.portal_no) if obj.run_by_id else None

    def get_warnings(self, obj) -> list[dict]:
        # A list shows the stored codes (what `?warnings=` filters on; selectors.stored_warnings),
        # one object is judged live, as the detail page does.
        if self.parent is None:
            found = warnings_of(obj)
        else:
            if "thresholds" not in self.context:
                self.context["thresholds"] = threshold_table()  # once per response, not per row
            found = stored_warnings(obj, self.context["thresholds"])
        return [{"code": w.code, "message": w.message, "source": w.source} for w in found]


def _sorted_query(query) -> str:
    """The query as DRF's next/previous links spell it (rest_framework.utils.urls: the keys
    sorted, each key's values in their order)."""
    from urllib.parse import urlencode

    return urlencode(sorted(query.lists(), key=lambda item: item[0]), doseq=True)


def _as_json(data) -> str:
    """The page as JSON text, encoded as DRF's JSONRenderer encodes it: what is cached is a
    plain string (no ReturnList holding its serializer and rows; a big page — page_size up to
    500 — stays out of dataversion's in-process copy, which skips strings over 512 KiB)."""
    return json.dumps(data, cls=JSONEncoder, ensure_ascii=False)


FILTERS = [
    OpenApiParameter(n, str, required=False) for n in ("credit_code", "region", "family", "type", "status")
]


class InstitutionViewSet(viewsets.ReadOnlyModelViewSet):
    """Institutions in the caller's scope (CONTRACT.md). Filters: credit_code, region, family, type, status."""

    serializer_class = InstitutionSerializer
    required_permissions = {"GET": ["institutions.view_institution"]}
    queryset = Institution.objects.none()

    def get_queryset(self):
        return institutions_for(actor=self.request.user, params=self.request.query_params)

    @extend_schema(parameters=FILTERS)
    def list(self, request, *args, **kwargs):
        # The serialized page, cached under the data version (eldercare.core.dataversion). Key:
        # the caller's scope region (the list is `for_user`; Institution has no scope_visible),
        # their roles, and the request as the pagination links spell it back — scheme, host,
        # path and the query (keys sorted, as DRF's links sort them). No docstring: the schema
        # would take it as the operation's description.
        user = request.user
        parts = (
            user.region_id,
            ",".join(sorted(user.roles)),
            request.scheme,
            request.get_host(),
            request.path,
            _sorted_query(request.query_params),
        )
        page = dataversion.cached_value(
            "api_institution_list_json",
            parts,
            lambda: _as_json(super(InstitutionViewSet, self).list(request, *args, **kwargs).data),
        )
        return Response(json.loads(page))  # cached or not, the same round trip: the same JSON

    @extend_schema(
        parameters=[*FILTERS, OpenApiParameter("format", str, enum=["csv", "xlsx"])],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        },
    )
    @action(detail=False, methods=["get"], url_path="export", url_name="export")
    def export(self, request):
        if not request.user.has_perm("institutions.export_institution"):
            from rest_framework.exceptions import PermissionDenied

            raise PermissionDenied()
        fmt = request.query_params.get("format", "xlsx")
        content, content_type, filename = export_institutions(
            actor=request.user, queryset=self.get_queryset(), fmt=fmt
        )
        resp = HttpResponse(content, content_type=content_type)
        resp["Content-Disposition"] = f'attachment; filename="{filename}"'
        return resp
