"""`/api/v1/contracts/` (CONTRACT.md: CRUD and workflow actions as the schema documents them) on
the same services as the 医养签约 pages. Institutions are given by credit code, portal number or
id; the elder-care party must be in the caller's scope, the medical party in its county. Refusals
are 400/403 with a Chinese `detail`; other regions' contracts are 404.

- GET list (filters `status`, `mode`, `township`, `medical`, `filed`, `q`), GET one (with visits
  and the overlapping contracts), POST create, PATCH change,
- POST `{id}/terminate/` `{"terminated_on", "reason"}`, POST `{id}/visits/` `{"date", "persons",
  "note"}`, POST `{id}/file/` → the draft 医养签约协议备案 (then `/api/v1/filings/…`),
- GET `coverage/?date=` — every operating elder-care institution in scope and how it provides
  medical care on that date."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from eldercare.accounts.scope import for_user, get_for_user, region_in_scope
from eldercare.core.api.errors import ERRORS, call, form_errors, invalid
from institutions.enums import Family
from institutions.models import Institution

from .. import rules, selectors, services
from ..models import Contract, Frequency, Mode, Visit


def _party(inst, actor=None) -> dict:
    """An institution in the caller's scope in full; outside it (a township's medical partner in
    another township) only its id and name (CONTRACT.md)."""
    if actor is not None and not region_in_scope(actor, inst.region_id):
        return {"id": inst.pk, "name": inst.name}
    return {"id": inst.pk, "portal_no": inst.portal_no, "credit_code": inst.credit_code, "name": inst.name}


class VisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Visit
        fields = ["id", "date", "persons", "note"]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    medical = serializers.SerializerMethodField()
    eldercare = serializers.SerializerMethodField()
    region = serializers.CharField(source="eldercare.region_id", read_only=True)
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    filed = serializers.SerializerMethodField()
    # "" when not agreed (read-only model fields lose `allow_blank`; the schema must allow it)
    visit_frequency = serializers.ChoiceField(choices=Frequency.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "agreement_no",
            "medical",
            "eldercare",
            "region",
            "mode",
            "services",
            "visit_frequency",
            "start",
            "end",
            "terminated_on",
            "termination_reason",
            "status",
            "status_label",
            "filed",
            "filed_on",
            "updated_at",
        ]
        read_only_fields = fields

    def _actor(self):
        request = self.context.get("request")
        return request.user if request is not None else None

    def get_medical(self, obj) -> dict:
        return _party(obj.medical, self._actor())

    def get_eldercare(self, obj) -> dict:
        return _party(obj.eldercare, self._actor())

    def get_status(self, obj) -> str:
        return obj.status_on(timezone.localdate())

    def get_status_label(self, obj) -> str:
        return rules.STATUS_LABELS[obj.status_on(timezone.localdate())]

    def get_filed(self, obj) -> bool:
        return obj.filed_on is not None


class ContractDetailSerializer(ContractSerializer):
    visits = VisitSerializer(many=True, read_only=True)
    overlapping = serializers.SerializerMethodField()

    class Meta(ContractSerializer.Meta):
        fields = [*ContractSerializer.Meta.fields, "visits", "overlapping"]
        read_only_fields = fields

    def get_overlapping(self, obj) -> list[dict]:
        return [
            {"id": c.pk, "agreement_no": c.agreement_no, "start": c.start, "end": c.end}
            for c in services.overlapping(obj)
        ]


class ContractWriteSerializer(serializers.Serializer):
    agreement_no = serializers.CharField(max_length=60, required=False)
    medical = serializers.CharField(required=False, help_text="credit code, portal number (JG…) or id")
    eldercare = serializers.CharField(required=False, help_text="credit code, portal number (JG…) or id")
    mode = serializers.ChoiceField(choices=Mode.choices, required=False)
    services = serializers.ListField(child=serializers.CharField(), required=False)
    visit_frequency = serializers.ChoiceField(
        choices=[("", "—"), *Frequency.choices], required=False, allow_blank=True
    )
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


class TerminateSerializer(serializers.Serializer):
    terminated_on = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class VisitWriteSerializer(serializers.Serializer):
    date = serializers.DateField()
    persons = serializers.IntegerField(required=False, allow_null=True, min_value=0, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


FILTERS = [
    OpenApiParameter("status", str, required=False, enum=list(rules.STATUS_LABELS)),
    OpenApiParameter("mode", str, required=False, enum=Mode.values),
    OpenApiParameter("township", str, required=False, description="12-digit township code"),
    OpenApiParameter("medical", int, required=False, description="medical party id"),
    OpenApiParameter("filed", str, required=False, enum=["1", "0"]),
    OpenApiParameter("q", str, required=False),
]


class ContractViewSet(viewsets.GenericViewSet):
    serializer_class = ContractSerializer
    queryset = Contract.objects.none()
    required_permissions = {
        "GET": ["contracts.view_contract"],
        "POST": ["contracts.view_contract"],  # each action's service checks add/change/visit
        "PATCH": ["contracts.change_contract"],
    }

    def _params(self) -> dict:
        """The list filters, checked: unknown values are a 400, never a 500 (and the status's
        reference day is today, not something the client sets)."""
        p = self.request.query_params
        out, errors = {}, {}
        checks = {
            "status": (
                lambda v: v in rules.STATUS_LABELS,
                "status 应为：" + "、".join(rules.STATUS_LABELS) + "。",
            ),
            "mode": (lambda v: v in Mode.values, "mode 应为：" + "、".join(Mode.values) + "。"),
            "medical": (str.isdigit, "medical 应为医疗机构的 id。"),
            "township": (lambda v: v.isdigit() and len(v) == 12, "township 应为 12 位乡镇代码。"),
            "filed": (lambda v: v in ("1", "0"), "filed 应为 1 或 0。"),
        }
        for key, (ok, message) in checks.items():
            if p.get(key):
                if not ok(p[key]):
                    errors[key] = message
                out[key] = p[key]
        if p.get("q"):
            out["q"] = p["q"][:100]
        if errors:
            raise ValidationError(errors)
        return out

    def get_queryset(self):
        return selectors.contracts_for(actor=self.request.user, params=self._params())

    def get_object(self) -> Contract:
        try:
            return get_for_user(
                Contract.objects.select_related("medical", "eldercare"),
                self.request.user,
                pk=self.kwargs["pk"],
            )
        except (Http404, ValueError) as exc:
            raise NotFound() from exc

    def _detail(self, contract: Contract, code: int = 200) -> Response:
        c = (
            for_user(Contract.objects.all(), self.request.user)
            .select_related("medical", "eldercare")
            .prefetch_related("visits")
            .get(pk=contract.pk)
        )
        return Response(ContractDetailSerializer(c, context={"request": self.request}).data, status=code)

    def _institution(self, ref: str, family: str, *, anywhere_in_county_of=None) -> Institution:
        """By credit code, portal number or id. The elder-care party within the caller's scope;
        the medical party anywhere in the elder-care party's county (found by exact reference:
        only its id and name come back)."""
        ref = (ref or "").strip().upper()
        qs = Institution.objects.filter(family=family)
        if anywhere_in_county_of is not None:
            qs = qs.filter(region__code__startswith=anywhere_in_county_of.region_id[:6])
        else:
            qs = for_user(qs, self.request.user)
        match = Q(credit_code=ref) | Q(portal_no=ref)
        if ref.isdigit() and anywhere_in_county_of is None:
            match |= Q(pk=int(ref))  # ids only for what the caller can see anyway
        found = list(qs.filter(match)[:2]) if ref else []
        label = "医疗卫生机构" if family == Family.MEDICAL else "养老机构"
        if len(found) != 1:
            raise DjangoValidationError(
                {
                    "medical"
                    if family == Family.MEDICAL
                    else "eldercare": f"找不到{label}“{ref}”（请填写统一社会信用代码或门户编号）。"
                }
            )
        return found[0]

    def _facts(self, data: dict, current: Contract | None = None) -> dict:
        facts = {k: v for k, v in data.items() if k not in ("medical", "eldercare")}
        home = current.eldercare if current is not None else None
        if "eldercare" in data:
            home = self._institution(data["eldercare"], Family.ELDERCARE)
            facts["eldercare"] = home
        if "medical" in data:
            if home is None:
                raise DjangoValidationError({"eldercare": "请填写养老机构。"})
            facts["medical"] = self._institution(data["medical"], Family.MEDICAL, anywhere_in_county_of=home)
        return facts

    @extend_schema(parameters=FILTERS)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            ContractSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(responses={200: ContractDetailSerializer})
    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    @extend_schema(request=ContractWriteSerializer, responses={201: ContractDetailSerializer, **ERRORS})
    def create(self, request):
        form = ContractWriteSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        try:
            facts = self._facts(form.validated_data)
        except DjangoValidationError as exc:
            return invalid(exc)
        contract, error = call(services.contract_create, actor=request.user, facts=facts)
        return error or self._detail(contract, status.HTTP_201_CREATED)

    @extend_schema(request=ContractWriteSerializer, responses={200: ContractDetailSerializer, **ERRORS})
    def partial_update(self, request, pk=None):
        contract = self.get_object()
        form = ContractWriteSerializer(data=request.data, partial=True)
        if not form.is_valid():
            return form_errors(form)
        try:
            changes = self._facts(form.validated_data, contract)
        except DjangoValidationError as exc:
            return invalid(exc)
        contract, error = call(
            services.contract_update, actor=request.user, contract=contract, changes=changes
        )
        return error or self._detail(contract)

    @extend_schema(request=TerminateSerializer, responses={200: ContractDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        contract = self.get_object()
        form = TerminateSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        contract, error = call(
            services.contract_terminate,
            actor=request.user,
            contract=contract,
            on=form.validated_data["terminated_on"],
            reason=form.validated_data["reason"],
        )
        return error or self._detail(contract)

    @extend_schema(request=VisitWriteSerializer, responses={201: VisitSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def visits(self, request, pk=None):
        contract = self.get_object()
        form = VisitWriteSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        visit, error = call(
            services.visit_record, actor=request.user, contract=contract, **form.validated_data
        )
        return error or Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "ContractFiling",
                {
                    "filing": serializers.IntegerField(),
                    "number": serializers.CharField(allow_null=True, help_text="null until submitted"),
                },
            ),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def file(self, request, pk=None):
        contract = self.get_object()
        filing, error = call(services.contract_file, actor=request.user, contract=contract)
        return error or Response(
            {"filing": filing.pk, "number": filing.number}, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        parameters=[OpenApiParameter("date", str, required=False, description="YYYY-MM-DD, default today")],
        responses={
            200: inline_serializer(
                "CoverageRow",
                {
                    "institution": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "region": serializers.CharField(),
                    "portal_no": serializers.CharField(),
                    "beds": serializers.IntegerField(allow_null=True),
                    "covered": serializers.BooleanField(),
                    "routes": serializers.ListField(child=serializers.CharField()),
                },
                many=True,
            )
        },
    )
    @action(detail=False, methods=["get"])
    def coverage(self, request):
        raw = request.query_params.get("date")
        try:
            day = datetime.date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError:
            return Response({"detail": "date 应为 YYYY-MM-DD。"}, status=400)
        rows = selectors.coverage_on(day, actor=request.user)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            [
                {
                    "institution": r.institution_id,
                    "name": r.name,
                    "region": r.region_id,
                    "portal_no": r.portal_no,
                    "beds": r.beds,
                    "covered": r.covered,
                    "routes": r.routes,
                }
                for r in page
            ]
        )
