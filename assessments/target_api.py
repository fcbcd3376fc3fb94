"""`/api/v1/indicators/`, `/api/v1/targets/`, `/api/v1/target-templates/` (CONTRACT.md
"indicators, targets: CRUD … as the schema documents them") on the same services as the
指标与目标 pages (assessments/target_services.py).

- indicators: GET list / GET `{code}/`; PATCH `{"weight"}` (the health bureau:
  `assessments.change_indicator`).
- targets: GET list (filters `indicator`, `region` — that region's own targets —, `year`), GET
  one; POST `{"indicator", "region", "year", "value", "clause", "source_doc"}` sets the region's
  target for that indicator and year (201 when created, 200 when it replaced the one for that
  year); PATCH `{"value", "clause", "source_doc"}`; DELETE. GET `resolved/?region=&year=` — the
  target in force for every indicator, own or inherited (with the region it came from).
- target-templates: GET list / GET one (with items and clauses); POST `{id}/apply/`
  `{"region", "dry_run"}` → `{"created", "updated", "unchanged", "targets": [...]}`.

Values as in the reports API: rates and scores are strings with 2 decimals, counts integers.
Writes are the health bureau's within its scope; everyone who reads reports reads targets (a
township user its own township's and what it inherits). Other regions' targets are 404;
refusals use the shared error shape (eldercare/core/api/errors.py)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core.api.errors import ERRORS, call, form_errors, invalid
from eldercare.regions.models import Region

from . import target_services as services
from .models import Dimension, Indicator, Target, TargetTemplate, Unit
from .targets import ancestors_of, load_targets, not_inherited, resolve


def api_value(unit: str, value):
    if value is None:
        return None
    if unit in (Unit.COUNT, Unit.BEDS):
        return int(value)
    return f"{Decimal(value):.2f}"


@extend_schema_field({"oneOf": [{"type": "string", "example": "80.00"}, {"type": "integer", "example": 20}]})
class ValueField(serializers.Field):
    """Rates and scores as "80.00", counts as integers (the indicator decides)."""

    def __init__(self, unit_from, **kwargs):
        self.unit_from = unit_from
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return instance

    def to_representation(self, obj):
        return api_value(self.unit_from(obj), obj.value)


class IndicatorSerializer(serializers.ModelSerializer):
    unit_label = serializers.CharField(source="get_unit_display", read_only=True)
    # "" for an indicator outside the five dimensions (read-only model fields lose `allow_blank`)
    dimension = serializers.ChoiceField(choices=Dimension.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "definition",
            "numerator_label",
            "denominator_label",
            "unit",
            "unit_label",
            "direction",
            "source",
            "formula",
            "reported_numerator",
            "reported_denominator",
            "dimension",
            "weight",
            "active",
            "order",
            "source_doc",
        ]
        read_only_fields = fields


class WeightSerializer(serializers.Serializer):
    weight = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0"))


class TargetSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator_id", read_only=True)
    region = serializers.CharField(source="region_id", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    value = ValueField(lambda t: t.indicator.unit, read_only=True)
    template_item = serializers.IntegerField(source="template_item_id", read_only=True, allow_null=True)
    set_by = serializers.SerializerMethodField()

    class Meta:
        model = Target
        fields = [
            "id",
            "indicator",
            "region",
            "region_name",
            "year",
            "value",
            "source_doc",
            "clause",
            "template_item",
            "set_by",
            "set_at",
        ]
        read_only_fields = fields

    def get_set_by(self, obj) -> str | None:
        return obj.set_by.username if obj.set_by_id else None


class TargetWriteSerializer(serializers.Serializer):
    indicator = serializers.CharField(max_length=40)
    region = serializers.CharField(max_length=12, help_text="12-digit region code")
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    value = serializers.CharField(max_length=20, help_text='a number: 80, "66.67", 3')
    clause = serializers.CharField(required=False, allow_blank=True, default="")
    source_doc = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class TargetPatchSerializer(serializers.Serializer):
    value = serializers.CharField(max_length=20, required=False)
    clause = serializers.CharField(required=False, allow_blank=True)
    source_doc = serializers.CharField(required=False, allow_blank=True, max_length=200)


class TemplateItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    indicator = serializers.CharField(source="indicator_id")
    indicator_name = serializers.CharField(source="indicator.name")
    year = serializers.IntegerField()
    value = ValueField(lambda i: i.indicator.unit)
    clause = serializers.CharField()
    note = serializers.CharField()


class TargetTemplateSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()

    class Meta:
        model = TargetTemplate
        fields = ["id", "doc_no", "title", "issuer", "place", "seed_file", "note", "items"]
        read_only_fields = fields

    @extend_schema_field(TemplateItemSerializer(many=True))
    def get_items(self, obj) -> list[dict]:
        items = sorted(obj.items.all(), key=lambda i: (i.indicator.order, i.indicator_id, i.year))
        return TemplateItemSerializer(items, many=True).data


class ApplySerializer(serializers.Serializer):
    region = serializers.CharField(max_length=12, help_text="12-digit region code")
    dry_run = serializers.BooleanField(required=False, default=False)


ResolvedRow = inline_serializer(
    "ResolvedTarget",
    {
        "indicator": serializers.CharField(),
        "region": serializers.CharField(),
        "year": serializers.IntegerField(),
        "target": serializers.CharField(allow_null=True, help_text="string (rates) or integer (counts)"),
        "target_inherited": serializers.BooleanField(),
        "target_region": serializers.CharField(allow_null=True),
        "target_year": serializers.IntegerField(allow_null=True),
        "source_doc": serializers.CharField(),
        "clause": serializers.CharField(),
    },
    many=True,
)


def _region(actor, code: str, field: str = "region") -> Region:
    """A region in the caller's scope, or a 400 naming the field (never a hint of what exists
    outside it)."""
    code = (code or "").strip()
    try:
        return get_for_user(Region.objects.all(), actor, code=code)
    except Http404:
        raise DjangoValidationError({field: f"找不到区划“{code}”，或不在您的管辖范围内。"}) from None


def _indicator(code: str) -> Indicator:
    ind = Indicator.objects.filter(code=(code or "").strip()).first()
    if ind is None:
        raise DjangoValidationError({"indicator": f"没有指标“{code}”。"})
    return ind


class IndicatorViewSet(viewsets.GenericViewSet):
    serializer_class = IndicatorSerializer
    queryset = Indicator.objects.order_by("order", "code")
    lookup_value_regex = "[A-Za-z0-9_]+"
    required_permissions = {
        "GET": ["assessments.view_indicator"],
        "PATCH": ["assessments.view_indicator", "assessments.change_indicator"],
    }

    def get_object(self) -> Indicator:
        try:
            return Indicator.objects.get(code=self.kwargs["pk"])
        except Indicator.DoesNotExist as exc:
            raise NotFound() from exc

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(IndicatorSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(IndicatorSerializer(self.get_object()).data)

    @extend_schema(request=WeightSerializer, responses={200: IndicatorSerializer, **ERRORS})
    def partial_update(self, request, pk=None):
        ind = self.get_object()
        form = WeightSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        ind, error = call(
            services.indicator_weight_set,
            actor=request.user,
            indicator=ind,
            weight=form.validated_data["weight"],
        )
        return error or Response(IndicatorSerializer(ind).data)


TARGET_FILTERS = [
    OpenApiParameter("indicator", str, required=False, description="indicator code"),
    OpenApiParameter("region", str, required=False, description="12-digit region code: its own targets"),
    OpenApiParameter("year", int, required=False, description="the year a target applies from"),
]


class TargetViewSet(viewsets.GenericViewSet):
    serializer_class = TargetSerializer
    queryset = Target.objects.none()
    required_permissions = {
        "GET": ["assessments.view_target"],
        "POST": ["assessments.view_target", "assessments.add_target", "assessments.change_target"],
        "PATCH": ["assessments.view_target", "assessments.change_target"],
        "DELETE": ["assessments.view_target", "assessments.delete_target"],
    }

    def _scoped(self):
        return for_user(Target.objects.all(), self.request.user).select_related(
            "indicator", "region", "set_by"
        )

    def get_queryset(self):
        p = self.request.query_params
        qs = self._scoped()
        errors = {}
        if p.get("indicator"):
            qs = qs.filter(indicator_id=p["indicator"].strip())
        if p.get("region"):
            code = p["region"].strip()
            if not (code.isdigit() and len(code) == 12):
                errors["region"] = "region 应为 12 位区划代码。"
            qs = qs.filter(region_id=code)
        if p.get("year"):
            if not p["year"].strip().isdigit():
                errors["year"] = "year 应为四位年份。"
            else:
                qs = qs.filter(year=int(p["year"]))
        if errors:
            raise ValidationError(errors)
        return qs.order_by("indicator__order", "indicator_id", "region_id", "year")

    def get_object(self) -> Target:
        try:
            return get_for_user(self._scoped(), self.request.user, pk=self.kwargs["pk"])
        except (Http404, ValueError) as exc:
            raise NotFound() from exc

    def _one(self, target: Target, code: int = 200) -> Response:
        t = self._scoped().get(pk=target.pk)
        return Response(TargetSerializer(t).data, status=code)

    @extend_schema(parameters=TARGET_FILTERS)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TargetSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TargetSerializer(self.get_object()).data)

    @extend_schema(
        request=TargetWriteSerializer, responses={200: TargetSerializer, 201: TargetSerializer, **ERRORS}
    )
    def create(self, request):
        form = TargetWriteSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        d = form.validated_data
        try:
            indicator, region = _indicator(d["indicator"]), _region(request.user, d["region"])
        except DjangoValidationError as exc:
            return invalid(exc)
        result, error = call(
            services.target_set,
            actor=request.user,
            indicator=indicator,
            region=region,
            year=d["year"],
            value=d["value"],
            clause=d["clause"],
            source_doc=d["source_doc"],
        )
        if error:
            return error
        target, created = result
        return self._one(target, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=TargetPatchSerializer, responses={200: TargetSerializer, **ERRORS})
    def partial_update(self, request, pk=None):
        target = self.get_object()
        form = TargetPatchSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        d = form.validated_data
        result, error = call(
            services.target_set,
            actor=request.user,
            indicator=target.indicator,
            region=target.region,
            year=target.year,
            value=d.get("value", target.value),
            clause=d.get("clause", target.clause),
            source_doc=d.get("source_doc", target.source_doc),
        )
        return error or self._one(result[0])

    @extend_schema(responses={204: None, **ERRORS})
    def destroy(self, request, pk=None):
        target = self.get_object()
        _none, error = call(services.target_delete, actor=request.user, target=target)
        return error or Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("region", str, required=True, description="12-digit region code"),
            OpenApiParameter("year", int, required=False, description="default this year"),
        ],
        responses={200: ResolvedRow, **ERRORS},
    )
    @action(detail=False, methods=["get"], pagination_class=None)  # a plain list, not a page
    def resolved(self, request):
        """The target in force for every active indicator in the region and year: its own, or
        inherited from the nearest region above it (`target_inherited`, `target_region`)."""
        p = request.query_params
        raw_year = (p.get("year") or "").strip()
        if raw_year and not raw_year.isdigit():
            return Response(
                {"detail": "year 应为四位年份。", "errors": {"year": ["year 应为四位年份。"]}}, status=400
            )
        year = int(raw_year) if raw_year else timezone.localdate().year
        code = (p.get("region") or "").strip()
        try:
            region = get_for_user(Region.objects.all(), request.user, code=code)
        except Http404 as exc:
            raise NotFound() from exc
        chain = ancestors_of(region.code)
        indicators = list(Indicator.objects.filter(active=True).order_by("order", "code"))
        tmap = load_targets([i.code for i in indicators], [region.code, *chain])
        counts = not_inherited(indicators)  # a count target is the region's own total
        rows = []
        for ind in indicators:
            res = resolve(tmap, ind.code, region.code, chain, year, no_inherit=counts)
            rows.append(
                {
                    "indicator": ind.code,
                    "region": region.code,
                    "year": year,
                    "target": api_value(ind.unit, res.value) if res else None,
                    "target_inherited": bool(res and res.inherited),
                    "target_region": res.region_code if res else None,
                    "target_year": res.year if res else None,
                    "source_doc": res.source if res else "",
                    "clause": res.clause if res else "",
                }
            )
        return Response(rows)


class TargetTemplateViewSet(viewsets.GenericViewSet):
    serializer_class = TargetTemplateSerializer
    queryset = TargetTemplate.objects.none()
    required_permissions = {
        "GET": ["assessments.view_target"],
        "POST": ["assessments.view_target"],  # apply: the service checks add/change_target
    }

    def get_queryset(self):
        return TargetTemplate.objects.prefetch_related("items__indicator").order_by("seed_file", "doc_no")

    def get_object(self) -> TargetTemplate:
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (TargetTemplate.DoesNotExist, ValueError) as exc:
            raise NotFound() from exc

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TargetTemplateSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TargetTemplateSerializer(self.get_object()).data)

    @extend_schema(
        request=ApplySerializer,
        responses={
            200: inline_serializer(
                "TemplateApplied",
                {
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "unchanged": serializers.IntegerField(),
                    "dry_run": serializers.BooleanField(),
                    "targets": inline_serializer(
                        "TemplateAppliedRow",
                        {
                            "indicator": serializers.CharField(),
                            "year": serializers.IntegerField(),
                            "value": serializers.CharField(help_text="string (rates) or integer (counts)"),
                            "action": serializers.ChoiceField(choices=["create", "update", "unchanged"]),
                            "previous": serializers.CharField(allow_null=True),
                            "id": serializers.IntegerField(allow_null=True),
                        },
                        many=True,
                    ),
                },
            ),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        template = self.get_object()
        form = ApplySerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        try:
            region = _region(request.user, form.validated_data["region"])
        except DjangoValidationError as exc:
            return invalid(exc)
        dry_run = form.validated_data["dry_run"]
        if dry_run:
            rows, error = call(
                services.template_preview, actor=request.user, template=template, region=region
            )
            if error:
                return error
            counts = {a: sum(1 for r in rows if r.action == a) for a in ("create", "update", "unchanged")}
            result = {
                "created": counts["create"],
                "updated": counts["update"],
                "unchanged": counts["unchanged"],
            }
        else:
            applied, error = call(
                services.template_apply, actor=request.user, template=template, region=region
            )
            if error:
                return error
            rows, result = applied.rows, applied.as_dict()
        out = []
        for r in rows:
            unit = r.item.indicator.unit
            previous = None
            if r.action == "update":  # the value it had (the same when only the clause changes)
                previous = r.changes["value"][0] if "value" in r.changes else r.item.value
            out.append(
                {
                    "indicator": r.item.indicator_id,
                    "year": r.item.year,
                    "value": api_value(unit, r.item.value),
                    "action": r.action,
                    "previous": api_value(unit, previous) if previous is not None else None,
                    "id": r.target.pk if r.target is not None else None,
                }
            )
        return Response({**result, "dry_run": dry_run, "targets": out})
