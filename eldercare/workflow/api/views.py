"""`/api/v1/filings/` (CONTRACT.md): the same service calls as the 备案审批 pages.

GET lists and reads filings in the caller's scope (404 outside it); POST creates a draft
(`type` code, `institution` by credit code, portal number or id, `payload`); PATCH changes a
draft's or returned filing's content (applicant side only); `attachments/` takes a file
(multipart: requirement, file); `transitions/` takes `{"action", "comment", "expected_status"}`
and answers the updated filing, or 403 (not this caller's to take), 409 (the state does not
allow it, or 「已被他人处理」), 400 (a required comment or material is missing), each with a
Chinese `detail`. `types/` describes every active filing type's form and materials."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core.api.errors import ERRORS, call, form_errors, invalid
from institutions.models import Institution

from .. import effects, machine, services
from ..models import Attachment, Filing, FilingDocument, FilingStep, FilingType


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = FilingStep
        fields = ["action", "from_state", "to_state", "actor_name", "role", "comment", "at", "day"]
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="get_kind_display", read_only=True)
    url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = FilingDocument
        fields = ["id", "kind", "title", "number", "issued_on", "url", "pdf_url"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return reverse("workflow:document", args=[obj.filing_id, obj.pk])

    def get_pdf_url(self, obj) -> str:
        return reverse("workflow:document_pdf", args=[obj.filing_id, obj.pk])


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "requirement", "original_name", "content_type", "size", "sha256", "uploaded_at"]
        read_only_fields = fields


class FilingSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="type.code", read_only=True)
    type_name = serializers.CharField(source="type.name", read_only=True)
    status_label = serializers.CharField(read_only=True)
    region = serializers.CharField(source="region_id", read_only=True)
    institution = serializers.SerializerMethodField()
    result_institution = serializers.SerializerMethodField()
    applicant = serializers.CharField(source="created_by.username", read_only=True)
    due_note = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Filing
        fields = [
            "id",
            "number",
            "type",
            "type_name",
            "status",
            "status_label",
            "region",
            "institution",
            "title",
            "payload",
            "applicant",
            "created_at",
            "submitted_on",
            "accepted_on",
            "decided_on",
            "clock_phase",
            "due_on",
            "due_provisional",
            "due_note",
            "alert",
            "on_time",
            "result_institution",
            "actions",
        ]
        read_only_fields = fields

    @staticmethod
    def _inst(inst) -> dict | None:
        if inst is None:
            return None
        return {
            "id": inst.pk,
            "portal_no": inst.portal_no,
            "credit_code": inst.credit_code,
            "name": inst.name,
        }

    def get_institution(self, obj) -> dict | None:
        return self._inst(obj.institution)

    def get_result_institution(self, obj) -> dict | None:
        return self._inst(obj.result_institution)

    def get_due_note(self, obj) -> str:
        return machine.UNPUBLISHED if obj.due_provisional else ""

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return [t.action for t in services.actions_for(request.user, obj)]


class FilingDetailSerializer(FilingSerializer):
    steps = StepSerializer(many=True, read_only=True)
    documents = DocumentSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(source="files", many=True, read_only=True)
    missing = serializers.SerializerMethodField()

    class Meta(FilingSerializer.Meta):
        fields = [*FilingSerializer.Meta.fields, "steps", "documents", "attachments", "missing"]
        read_only_fields = fields

    def get_missing(self, obj) -> dict:
        return services.missing_for_submission(obj) if obj.status in services.EDITABLE else {}


class FilingCreateSerializer(serializers.Serializer):
    type = serializers.SlugField(help_text="FilingType code, e.g. medical_runs_eldercare")
    institution = serializers.CharField(
        required=False, allow_blank=True, help_text="credit code, portal number (JG…) or id"
    )
    region = serializers.CharField(
        required=False, allow_blank=True, help_text="12-digit code when no institution"
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    payload = serializers.DictField(required=False, default=dict)


class FilingUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    payload = serializers.DictField(
        required=False, help_text="the fields to change; fields not named keep their value (null clears one)"
    )


class AttachmentUploadSerializer(serializers.Serializer):
    requirement = serializers.CharField()
    file = serializers.FileField()


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["submit", "resubmit", "accept", "approve", "reject", "return", "withdraw"]
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    expected_status = serializers.ChoiceField(
        choices=list(machine.STATE_LABELS), required=False, allow_null=True, default=None
    )


FILTERS = [
    OpenApiParameter("type", str, required=False, description="filing type code"),
    OpenApiParameter("status", str, required=False, enum=list(machine.STATE_LABELS)),
    OpenApiParameter("region", str, required=False, description="12-digit region code (and below)"),
    OpenApiParameter("due", str, required=False, enum=["overdue", "due_soon", "alert"]),
]


class FilingViewSet(viewsets.GenericViewSet):
    serializer_class = FilingSerializer
    queryset = Filing.objects.none()
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_permissions = {
        "GET": ["workflow.view_filing"],
        "POST": ["workflow.view_filing"],  # the service checks apply/decide per action
        "PATCH": ["workflow.apply_filing"],
    }

    def get_queryset(self):
        qs = for_user(Filing.objects.all(), self.request.user).select_related(
            "type", "region", "institution", "result_institution", "created_by"
        )
        p = self.request.query_params
        if p.get("type"):
            qs = qs.filter(type__code=p["type"])
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("region"):
            from eldercare.regions import codes

            try:
                qs = qs.filter(region__code__startswith=codes.prefix_of(codes.normalise(p["region"])))
            except codes.RegionCodeError as exc:
                raise ValidationError({"region": "地区代码应为 12 位数字。"}) from exc
        due = p.get("due")
        if due in ("overdue", "due_soon"):
            qs = qs.filter(alert=due)
        elif due == "alert":
            qs = qs.exclude(alert="")
        return qs

    def get_object(self) -> Filing:
        try:
            return get_for_user(
                Filing.objects.select_related("type", "institution", "result_institution", "created_by"),
                self.request.user,
                pk=self.kwargs["pk"],
            )
        except (Http404, ValueError) as exc:
            raise NotFound() from exc

    def _detail(self, filing: Filing, code: int = 200) -> Response:
        # Scoped, without the list's query-string filters (a write's answer is the object).
        filing = (
            for_user(Filing.objects.all(), self.request.user)
            .select_related("type", "region", "institution", "result_institution", "created_by")
            .prefetch_related("steps", "documents", "files")
            .get(pk=filing.pk)
        )
        return Response(FilingDetailSerializer(filing, context={"request": self.request}).data, status=code)

    @extend_schema(parameters=FILTERS)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            FilingSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(responses={200: FilingDetailSerializer})
    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    def _institution(self, ref: str, family: str) -> Institution | None:
        if not ref:
            return None
        ref = ref.strip()
        qs = for_user(Institution.objects.all(), self.request.user)
        if family:
            qs = qs.filter(family=family)
        match = Q(credit_code=ref.upper()) | Q(portal_no=ref.upper())
        if ref.isdigit():
            match |= Q(pk=int(ref))
        found = list(qs.filter(match)[:2])
        if len(found) != 1:
            raise DjangoValidationError(
                {"institution": f"在您的管辖范围内找不到机构“{ref}”（请填写统一社会信用代码或门户编号）。"}
                if not found
                else {"institution": f"“{ref}”对应多家机构，请改用门户编号。"}
            )
        return found[0]

    @extend_schema(request=FilingCreateSerializer, responses={201: FilingDetailSerializer, **ERRORS})
    def create(self, request):
        form = FilingCreateSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        data = form.validated_data
        ftype = FilingType.objects.filter(code=data["type"], active=True).first()
        if ftype is None:
            return invalid(
                DjangoValidationError(
                    {"type": f"没有名为“{data['type']}”的备案事项（见 /api/v1/filings/types/）。"}
                )
            )
        family = ftype.subject_family or effects.SUBJECT_FAMILY.get(ftype.effect, "")
        try:
            institution = self._institution(data.get("institution", ""), family)
        except DjangoValidationError as exc:
            return invalid(exc)
        filing, error = call(
            services.filing_create,
            actor=request.user,
            type=ftype,
            institution=institution,
            region=data.get("region") or None,
            payload=data["payload"],
            title=data.get("title", ""),
        )
        if error:
            return error
        return self._detail(filing, status.HTTP_201_CREATED)

    @extend_schema(request=FilingUpdateSerializer, responses={200: FilingDetailSerializer, **ERRORS})
    def partial_update(self, request, pk=None):
        filing = self.get_object()
        form = FilingUpdateSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        changes = form.validated_data.get("payload", {})
        merged = {k: v for k, v in {**filing.payload, **changes}.items() if v is not None}
        filing, error = call(
            services.filing_update,
            actor=request.user,
            filing=filing,
            payload=merged,
            title=form.validated_data.get("title"),
        )
        return error or self._detail(filing)

    @extend_schema(request=AttachmentUploadSerializer, responses={201: AttachmentSerializer, **ERRORS})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request, pk=None):
        filing = self.get_object()
        form = AttachmentUploadSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        att, error = call(
            services.attachment_add,
            actor=request.user,
            filing=filing,
            requirement=form.validated_data["requirement"],
            uploaded=form.validated_data["file"],
        )
        return error or Response(AttachmentSerializer(att).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TransitionSerializer, responses={200: FilingDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        filing = self.get_object()
        form = TransitionSerializer(data=request.data)
        if not form.is_valid():
            return form_errors(form)
        data = form.validated_data
        filing, error = call(
            services.filing_transition,
            actor=request.user,
            filing=filing,
            action=data["action"],
            comment=data["comment"],
            # The state this request read: a concurrent change is 「已被他人处理」, not acted on.
            expected_status=data["expected_status"] or filing.status,
        )
        if error:
            return error
        return self._detail(filing)

    @extend_schema(
        responses={
            200: inline_serializer(
                "FilingTypeInfo",
                {
                    "code": serializers.CharField(),
                    "name": serializers.CharField(),
                    "decider_role": serializers.CharField(),
                    "subject_family": serializers.CharField(),
                    "accept_days": serializers.IntegerField(),
                    "decide_days": serializers.IntegerField(),
                    "fields": serializers.ListField(child=serializers.DictField()),
                    "attachments": serializers.ListField(child=serializers.DictField()),
                    "basis": serializers.CharField(),
                },
                many=True,
            )
        }
    )
    @action(detail=False, methods=["get"], pagination_class=None)  # a plain list, not a page
    def types(self, request):
        out = []
        for t in FilingType.objects.filter(active=True):
            d = t.definition()
            out.append(
                {
                    "code": t.code,
                    "name": t.name,
                    "decider_role": t.decider_role,
                    "subject_family": t.subject_family or effects.SUBJECT_FAMILY.get(t.effect, ""),
                    "accept_days": d.accept_days,
                    "decide_days": d.decide_days,
                    "fields": [
                        {
                            "name": f.name,
                            "label": f.label,
                            "kind": f.kind,
                            "required": f.required,
                            "choices": [{"value": v, "label": lab} for v, lab in f.choices],
                        }
                        for f in effects.fields_for(t.effect)
                    ],
                    "attachments": t.attachments,
                    "basis": t.basis,
                }
            )
        return Response(out)
