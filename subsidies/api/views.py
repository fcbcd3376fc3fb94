"""`/api/v1/subsidies/applications/` (CONTRACT.md) on the same services as the pages.

POST with `institution` (credit code or portal number of the elder-care institution), `rule`,
optional `application_date` (civil/admin only: a back-dated paper application, which starts as
submitted) and per rule `beds`, `committed_years`, `lease_start`/`lease_end`, `year`. The answer
and GET `{id}/` carry `id`, `status`, `eligible` (true/false/null), `amount` ("0.00" unless
eligible), `checks` and `installments`. `{id}/transitions/` takes `{"action", "comment"}` like
filings (403/409 with a Chinese `detail`)."""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core.api.errors import ERRORS, call, form_errors, invalid
from eldercare.workflow import services as wf
from institutions.enums import Family
from institutions.models import Institution

from .. import services
from ..models import Application, Decision, RuleKind


class ApplicationSerializer(serializers.ModelSerializer):
    institution = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    filing = serializers.SerializerMethodField()
    eligible = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()
    installments = serializers.SerializerMethodField()
    policy = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "institution",
            "rule",
            "application_date",
            "backdated",
            "beds",
            "committed_years",
            "lease_start",
            "lease_end",
            "year",
            "status",
            "status_label",
            "filing",
            "eligible",
            "amount",
            "checks",
            "installments",
            "policy",
            "actions",
        ]
        read_only_fields = fields

    def _decision(self, obj):
        if not hasattr(obj, "_current"):
            prefetched = getattr(obj, "current_decisions", None)  # the list's one query
            obj._current = (
                prefetched[0]
                if prefetched
                else (None if prefetched is not None else services.current_decision(obj))
            )
        return obj._current

    def get_institution(self, obj) -> dict:
        i = obj.institution
        return {"id": i.pk, "portal_no": i.portal_no, "credit_code": i.credit_code, "name": i.name}

    def get_status(self, obj) -> str:
        return obj.filing.status if obj.filing_id else "draft"

    def get_status_label(self, obj) -> str:
        return obj.filing.status_label if obj.filing_id else "草稿"

    def get_filing(self, obj) -> int | None:
        return obj.filing_id

    def get_eligible(self, obj) -> bool | None:
        d = self._decision(obj)
        return d.eligible if d else None

    def get_amount(self, obj) -> str:
        d = self._decision(obj)
        return f"{d.amount:.2f}" if d and d.eligible else "0.00"

    def get_checks(self, obj) -> list[dict]:
        d = self._decision(obj)
        return d.checks if d else []

    def get_installments(self, obj) -> list[dict]:
        d = self._decision(obj)
        return d.schedule if d and d.eligible else []

    def get_policy(self, obj) -> dict | None:
        d = self._decision(obj)
        if d is None or d.policy_rule_id is None:
            return None
        return {
            "doc_no": d.policy_rule.document.doc_no,
            "clause": d.policy_rule.clause,
            "version": d.rule_version,
        }

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        if request is None or not obj.filing_id:
            return []
        return [t.action for t in wf.actions_for(request.user, obj.filing)]


class ApplicationCreateSerializer(serializers.Serializer):
    institution = serializers.CharField(
        help_text="credit code or portal number (JG…) of the elder-care institution"
    )
    rule = serializers.ChoiceField(choices=RuleKind.values)
    application_date = serializers.DateField(required=False, allow_null=True, default=None)
    beds = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    committed_years = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    lease_start = serializers.DateField(required=False, allow_null=True, default=None)
    lease_end = serializers.DateField(required=False, allow_null=True, default=None)
    year = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=2000, max_value=2100
    )


class ApplicationTransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["submit", "resubmit", "accept", "approve", "reject", "return", "withdraw"]
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    expected_status = serializers.CharField(required=False, allow_null=True, default=None)


class ApplicationViewSet(viewsets.GenericViewSet):
    serializer_class = ApplicationSerializer
    queryset = Application.objects.none()
    required_permissions = {"GET": ["subsidies.view_application"], "POST": ["subsidies.view_application"]}

    def get_queryset(self):
        current = (
            Decision.objects.filter(superseded_by__isnull=True)
            .select_related("policy_rule__document")
            .order_by("-created_at", "-id")
        )
        qs = for_user(Application.objects.all(), self.request.user).select_related(
            "institution", "filing", "filing__type"
        )
        if self.action == "list":  # one query for every row's current decision (no N+1)
            qs = qs.prefetch_related(Prefetch("decisions", queryset=current, to_attr="current_decisions"))
        p = self.request.query_params
        if p.get("rule") in RuleKind.values:
            qs = qs.filter(rule=p["rule"])
        if p.get("status"):
            qs = qs.filter(filing__status=p["status"])
        return qs.order_by("-application_date", "-id")

    def get_object(self) -> Application:
        try:
            return get_for_user(
                Application.objects.select_related("institution", "filing", "filing__type"),
                self.request.user,
                pk=self.kwargs["pk"],
            )
        except (Http404, ValueError) as exc:
            raise NotFound() from exc

    def _answer(self, app: Application, code=200) -> Response:
        app = Application.objects.select_related("institution", "filing", "filing__type").get(pk=app.pk)
        return Response(ApplicationSerializer(app, context={"request": self.request}).data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("rule", str, required=False),
            OpenApiParameter("status", str, required=False),
        ]
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            ApplicationSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(responses={200: ApplicationSerializer})
    def retrieve(self, request, pk=None):
        return self._answer(self.get_object())

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSerializer, **ERRORS})
    def create(self, request):
        form = ApplicationCreateSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        data = dict(form.validated_data)
        ref = data.pop("institution").strip().upper()
        found = list(
            for_user(Institution.objects.filter(family=Family.ELDERCARE), request.user).filter(
                Q(credit_code=ref) | Q(portal_no=ref)
            )[:2]
        )
        if len(found) != 1:
            from django.core.exceptions import ValidationError

            return invalid(
                ValidationError(
                    {
                        "institution": f"在您的管辖范围内找不到养老机构“{ref}”（请填写统一社会信用代码或门户编号）。"
                    }
                )
            )
        app, error = call(services.application_create, actor=request.user, institution=found[0], **data)
        return error or self._answer(app, status.HTTP_201_CREATED)

    @extend_schema(request=ApplicationTransitionSerializer, responses={200: ApplicationSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        app = self.get_object()
        form = ApplicationTransitionSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        data = form.validated_data
        _filing, error = call(
            wf.filing_transition,
            actor=request.user,
            filing=app.filing_id,
            action=data["action"],
            comment=data["comment"],
            expected_status=data["expected_status"] or app.filing.status,
        )
        return error or self._answer(app)

    @extend_schema(request=None, responses={200: ApplicationSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def rejudge(self, request, pk=None):
        app = self.get_object()
        _d, error = call(services.application_rejudge, actor=request.user, application=app)
        return error or self._answer(app)
