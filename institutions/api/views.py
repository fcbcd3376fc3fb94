from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from ..enums import Grade, InternalUnit, Ownership
from ..exports import export_institutions
from ..models import Institution
from ..selectors import contracted_ids, institutions_for, threshold_table, warnings_of

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
        if "thresholds" not in self.context:
            self.context["thresholds"] = threshold_table()  # once per response, not per row
            page = getattr(self.parent, "instance", None)
            ids = [o.pk for o in page] if page is not None and self.parent is not None else [obj.pk]
            self.context["contracted"] = contracted_ids(ids)  # the page's homes, one query
        return [
            {"code": w.code, "message": w.message, "source": w.source}
            for w in warnings_of(obj, table=self.context["thresholds"], contracted=self.context["contracted"])
        ]


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
        return super().list(request, *args, **kwargs)

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
