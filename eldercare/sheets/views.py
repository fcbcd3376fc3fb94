"""批量导入 pages: upload history, upload → validate (always a dry run first) → preview →
confirm, acceptance of township uploads, revert, the xlsx template and the annotated error
sheet. Every step is an engine call (eldercare/sheets/engine.py); these views only fetch the
batch in the user's scope, call the engine and show what it says."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.scope import for_user, get_for_user, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.core.views import portal_permission_required

from . import engine, kinds, templatefiles
from .forms import RejectForm, UploadForm
from .models import ImportBatch
from .readers import SheetError, read_rows

S = ImportBatch.Status
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50
PREVIEW_PAGE_SIZE = 100
ISSUE_CAP = 500  # errors/warnings shown on the page; the annotated sheet has them all
ACTIONS = ("confirm", "accept", "reject", "abandon", "revert", "revalidate")
RUNNING = (S.VALIDATING, S.COMMITTING)
_BLOBS = ("result", "report", "undo")  # compressed plan, errors/warnings, undo: not for lists

BADGES = {
    S.VALIDATING: "text-bg-info",
    S.INVALID: "text-bg-danger",
    S.VALIDATED: "text-bg-primary",
    S.COMMITTING: "text-bg-info",
    S.PENDING: "text-bg-warning",
    S.COMMITTED: "text-bg-success",
    S.REJECTED: "text-bg-danger",
    S.STALE: "text-bg-warning",
    S.REVERTED: "text-bg-secondary",
    S.ABANDONED: "text-bg-light border",
    S.FAILED: "text-bg-danger",
}
OP_BADGES = {
    kinds.CREATE: "text-bg-success",
    kinds.UPDATE: "text-bg-primary",
    kinds.UNCHANGED: "text-bg-light border",
    kinds.ERROR: "text-bg-danger",
}


def _op_labels():
    return {
        kinds.CREATE: _("New"),
        kinds.UPDATE: _("Update"),
        kinds.UNCHANGED: _("Unchanged"),
        kinds.ERROR: _("Error"),
    }


def _spec_or_404(name: str):
    try:
        return kinds.get(name)
    except KeyError as exc:
        raise Http404 from exc


def _kind_labels() -> dict[str, str]:
    return {name: str(kinds.get(name).label) for name in kinds.available()}


def _importable(user) -> list:
    """The kinds this user may upload (one card each on the list page)."""
    if not user.has_perm("sheets.import_sheet"):
        return []
    out = []
    for name in kinds.available():
        spec = kinds.get(name)
        try:
            spec.check_can_import(user)
        except PermissionDenied:
            continue
        out.append(spec)
    return out


def _decorate(batch: ImportBatch, labels: dict) -> ImportBatch:
    batch.badge = BADGES.get(batch.status, "text-bg-secondary")
    batch.kind_label = labels.get(batch.kind, batch.kind)
    return batch


def _attachment(content: bytes, filename: str, fallback: str, content_type: str = XLSX) -> HttpResponse:
    """`filename*` (RFC 5987) for the Chinese name, an ASCII `filename` for old clients."""
    resp = HttpResponse(content, content_type=content_type)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", fallback) or "download.xlsx"
    resp["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


def _scoped(request, pk: int, *, report: bool = False) -> ImportBatch:
    """The batch in the user's scope (404 outside), without its compressed blobs; `report`:
    with the errors and warnings. The plan (`result`) loads on first use."""
    qs = ImportBatch.objects.select_related("region", "created_by", "decided_by", "reverted_by")
    qs = qs.defer("result", "undo") if report else qs.defer(*_BLOBS)
    return get_for_user(qs, request.user, pk=pk)


# -- the list -------------------------------------------------------------------------------
@portal_permission_required("sheets.view_importbatch")
def batch_list(request):
    labels = _kind_labels()
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    qs = for_user(ImportBatch.objects.select_related("region", "created_by").defer(*_BLOBS), request.user)
    if kind in labels:
        qs = qs.filter(kind=kind)
    if status in S.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for batch in page:
        _decorate(batch, labels)
    pending = []
    if request.user.has_perm("sheets.accept_importbatch"):
        pending = [
            _decorate(b, labels)
            for b in for_user(
                ImportBatch.objects.select_related("region", "created_by").defer(*_BLOBS), request.user
            )
            .filter(status=S.PENDING, region__isnull=False)
            .exclude(created_by=request.user)
            .order_by("created_at", "id")[:100]
        ]
    cards = [
        {
            "spec": spec,
            "rules": templatefiles.kind_rules(spec.name)[:1],
            "staged": spec.staged_for(request.user),
        }
        for spec in _importable(request.user)
    ]
    return render(
        request,
        "sheets/batch_list.html",
        {
            "page": page,
            "cards": cards,
            "pending": pending,
            "can_accept": request.user.has_perm("sheets.accept_importbatch"),
            "kind_choices": sorted(labels.items()),
            "status_choices": S.choices,
            "params": {"kind": kind, "status": status},
        },
    )


# -- upload ---------------------------------------------------------------------------------
@portal_permission_required("sheets.import_sheet")
def upload(request, kind):
    spec = _spec_or_404(kind)
    spec.check_can_import(request.user)  # PermissionDenied -> 403
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            batch = engine.start_import(
                actor=request.user,
                kind=spec.name,
                data=upload_file.read(),
                filename=upload_file.name,
                as_of=form.cleaned_data["as_of"],
                dry_run=True,
            )
        except ValidationError as exc:
            for msg in exc.messages:
                form.add_error(None, msg)
        else:
            return redirect("sheets:detail", pk=batch.pk)
    lists = templatefiles.choice_lists(spec.name)
    hints = templatefiles.value_hints(spec.name)
    columns = [
        {
            "column": col,
            "text": templatefiles.is_text_column(col),
            "choices": lists.get(col.key, []),
            "hint": hints.get(col.key, ""),
        }
        for col in spec.columns
    ]
    return render(
        request,
        "sheets/upload.html",
        {
            "spec": spec,
            "form": form,
            "columns": columns,
            "general_rules": templatefiles.general_rules(),
            "kind_rules": templatefiles.kind_rules(spec.name),
            "staged": spec.staged_for(request.user),
            "accept": ".xlsx,.xls,.ods,.csv",
        },
    )


@require_GET
@portal_permission_required("sheets.import_sheet")
def template(request, kind):
    spec = _spec_or_404(kind)
    spec.check_can_import(request.user)
    content = templatefiles.template_workbook(spec)
    return _attachment(content, f"{spec.label}导入模板.xlsx", f"{spec.name}-template.xlsx")


# -- one batch ------------------------------------------------------------------------------
class _Describer:
    """Human-readable changes of the institutions kind's planned rows, for one preview page:
    field verbose names, enum labels, region and institution names (a few set queries)."""

    def __init__(self, user, ops: list[dict]):
        from institutions import enums
        from institutions.models import Institution

        self.enums = enums
        self.meta = Institution._meta
        self.families: dict[int, str] = {}
        ids, regions, run_by = set(), set(), set()
        for op in ops:
            if op.get("op") == kinds.UPDATE and op.get("id"):
                ids.add(op["id"])
                for field, pair in (op.get("diff") or {}).items():
                    if field == "region":
                        regions.update(v for v in pair if v)
                    elif field == "run_by":
                        run_by.update(v for v in pair if v)
            elif op.get("op") == kinds.CREATE:
                facts = self._create_facts(op)
                if facts.get("region"):
                    regions.add(facts["region"])
                if facts.get("run_by"):
                    run_by.add(facts["run_by"])
        self.region_names: dict[str, str] = {}
        self.inst_names: dict[int, str] = {}
        if ids:
            self.families = dict(for_user(Institution, user).filter(pk__in=ids).values_list("id", "family"))
        if regions:
            from eldercare.regions.models import Region

            self.region_names = dict(Region.objects.filter(code__in=regions).values_list("code", "name"))
        if run_by:
            self.inst_names = dict(
                for_user(Institution, user).filter(pk__in=run_by).values_list("id", "name")
            )
        self.flag_fields = {key for key, _label in enums.FLAGS}

    @staticmethod
    def _create_facts(op: dict) -> dict:
        spans = op.get("spans") or []
        if not spans:
            return {}
        index = op.get("current", len(spans) - 1)
        try:
            facts = spans[index][3] or {}
        except (IndexError, TypeError):
            return {}
        if isinstance(facts, list):  # compact plans store the facts in FACT_FIELDS order
            from institutions.models import FACT_FIELDS

            facts = dict(zip(FACT_FIELDS, facts, strict=False))
        return facts

    def label(self, field: str) -> str:
        try:
            return str(self.meta.get_field(field).verbose_name)
        except Exception:  # a field the model no longer has: show its name
            return field

    def value(self, field: str, value, family: str = "") -> str:
        e = self.enums
        if value is None or value == "":
            return _("(blank)")
        if field in self.flag_fields or isinstance(value, bool):
            return _("Yes") if value else _("No")
        if field == "type":
            return dict(e.INSTITUTION_TYPES).get(value, value)
        if field == "ownership":
            return e.OWNERSHIP_LABELS.get(family, {}).get(value) or dict(e.Ownership.choices).get(
                value, value
            )
        if field == "grade":
            return dict(e.Grade.choices).get(value, value)
        if field == "grade_class":
            return dict(e.GradeClass.choices).get(value, value)
        if field == "status":
            return dict(e.Status.choices).get(value, value)
        if field == "internal_unit":
            return dict(e.InternalUnit.choices).get(value, value)
        if field == "region":
            name = self.region_names.get(value)
            return f"{name}（{value}）" if name else str(value)
        if field == "run_by":
            return self.inst_names.get(value) or f"#{value}"
        return str(value)

    def changes(self, op: dict) -> list[dict]:
        if op.get("op") == kinds.UPDATE:
            family = self.families.get(op.get("id"), "")
            return [
                {
                    "field": self.label(field),
                    "old": self.value(field, pair[0], family),
                    "new": self.value(field, pair[1], family),
                }
                for field, pair in (op.get("diff") or {}).items()
            ]
        if op.get("op") == kinds.CREATE:
            facts = self._create_facts(op)
            family = op.get("family", "")
            shown = []
            for field in (
                "type",
                "region",
                "ownership",
                "status",
                "beds_medical",
                "beds_eldercare",
                "beds_nursing",
                "internal_unit",
            ):
                if facts.get(field) not in (None, ""):
                    if field == "status" and facts[field] == "operating":
                        continue
                    shown.append({"field": self.label(field), "new": self.value(field, facts[field], family)})
            return shown
        return []


def _preview(request, batch: ImportBatch, ops: list[dict], errors: list[dict]):
    """Planned rows merged with rows in error, in sheet order, one page of them."""
    errors_by_row: dict[int, list[dict]] = {}
    for err in errors:
        if err.get("row") is not None:
            errors_by_row.setdefault(err["row"], []).append(err)
    planned_rows = {op.get("row") for op in ops}
    rows = list(ops) + [
        {"row": r, "op": kinds.ERROR, "errors": errs}
        for r, errs in errors_by_row.items()
        if r not in planned_rows
    ]
    rows.sort(key=lambda op: op.get("row") or 0)
    page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    planned = [op for op in items if op.get("op") != kinds.ERROR]
    if batch.kind == "institutions":
        describer = _Describer(request.user, planned)
    else:
        make = getattr(kinds.get(batch.kind), "describer", None)
        describer = make(request.user, planned) if make else None
    labels = _op_labels()
    out = []
    for op in items:
        kind = op.get("op")
        if kind == kinds.ERROR:
            link = None
        elif batch.kind == "institutions":
            link = reverse("institutions:detail", args=[op["id"]]) if op.get("id") else None
        else:
            link = describer.link(op) if describer and hasattr(describer, "link") else None
        out.append(
            {
                "row": op.get("row"),
                "op": kind,
                "label": labels.get(kind, kind),
                "badge": OP_BADGES.get(kind, "text-bg-secondary"),
                "name": op.get("name", ""),
                "id": op.get("id"),
                "link": link,
                "credit_code": op.get("credit_code", ""),
                "changes": describer.changes(op) if describer and kind != kinds.ERROR else [],
                "errors": op.get("errors") or errors_by_row.get(op.get("row"), []),
            }
        )
    page.object_list = out
    return page


def _actions(user, batch: ImportBatch) -> dict:
    mine = batch.created_by_id is not None and batch.created_by_id == user.pk
    in_scope = batch.region_id is not None and region_in_scope(user, batch.region_id)
    return {
        "mine": mine,
        # A file that matches the registry has nothing to confirm (abandon it instead).
        "confirm": mine and batch.status == S.VALIDATED and bool(batch.created or batch.updated),
        "abandon": mine and batch.status in (S.VALIDATED, S.INVALID, S.STALE, S.PENDING),
        "upload_again": mine and batch.status in (S.INVALID, S.REJECTED, S.ABANDONED, S.STALE),
        "revalidate": mine and batch.status == S.STALE and bool(batch.stored_name),
        "accept": (
            batch.status == S.PENDING and not mine and in_scope and user.has_perm("sheets.accept_importbatch")
        ),
        "revert": (
            batch.status == S.COMMITTED
            and getattr(kinds.get(batch.kind), "revertible", False)
            and in_scope
            and user.has_perm("sheets.revert_importbatch")
        ),
    }


@portal_permission_required("sheets.view_importbatch")
def batch_detail(request, pk):
    batch = _scoped(request, pk, report=True)
    labels = _kind_labels()
    _decorate(batch, labels)
    report = batch.get_report()
    errors, warnings = report.get("errors", []), report.get("warnings", [])
    can = _actions(request.user, batch)
    preview = None
    if batch.status not in (S.INVALID, *RUNNING) and batch.rows_total:
        ops = batch.get_ops()
        if ops:
            preview = _preview(request, batch, ops, errors)
    timings = [
        (label, batch.timings.get(key))
        for key, label in (
            ("read_s", _("read")),
            ("parse_s", _("parse")),
            ("plan_s", _("compare")),
            ("validate_s", _("validation in all")),
            ("commit_s", _("commit")),
        )
        if batch.timings.get(key) is not None
    ]
    return render(
        request,
        "sheets/batch_detail.html",
        {
            "batch": batch,
            "running": batch.status in RUNNING,
            "errors": errors[:ISSUE_CAP],
            "errors_total": len(errors),
            "warnings": warnings[:ISSUE_CAP],
            "warnings_total": len(warnings),
            "cap": ISSUE_CAP,
            "preview": preview,
            "preview_heading": getattr(kinds.get(batch.kind), "preview_heading", None),
            "can": can,
            "annotated": bool(batch.stored_name) and (batch.error_count > 0 or bool(errors)),
            "timings": timings,
            "reject_form": RejectForm(),
            "is_pending": batch.status == S.PENDING,
        },
    )


@require_GET
@portal_permission_required("sheets.view_importbatch")
def progress(request, pk):
    batch = _scoped(request, pk)
    return JsonResponse(
        {"status": batch.status, "progress": batch.progress, "done": batch.status not in RUNNING},
        headers={"Cache-Control": "no-store"},
    )


@require_GET
@portal_permission_required("sheets.view_importbatch")
def annotated(request, pk):
    batch = _scoped(request, pk, report=True)
    name = batch.stored_name
    if not name or not re.fullmatch(r"[0-9a-f]{8,64}", name):
        raise Http404
    try:
        data = (engine.upload_root() / name).read_bytes()
    except FileNotFoundError as exc:
        raise Http404 from exc
    report = batch.get_report()
    errors = list(report.get("errors", []))
    try:
        rows = read_rows(data)
    except SheetError as exc:
        rows = []
        if not any(e.get("row") is None for e in errors):
            errors.insert(0, {"row": None, "column": exc.column, "message": exc.message})
    redact = getattr(kinds.get(batch.kind), "redact_rows", None)
    if redact is not None and rows:
        rows = redact(rows)  # personal data stays masked (the residents' ID numbers)
    content = templatefiles.annotated_workbook(rows, errors, report.get("warnings", []))
    record(
        request.user,
        Action.EXPORT,
        batch,
        detail={"what": "annotated_sheet", "kind": batch.kind, "file_sha256": batch.file_sha256},
    )
    stem = Path(batch.file_name).stem or "upload"
    return _attachment(content, f"{stem}_错误标注.xlsx", f"import-{batch.pk}-errors.xlsx")


# -- actions --------------------------------------------------------------------------------
def _outcome(request, batch: ImportBatch, action: str) -> None:
    """Tell the user what the engine did, from the state the batch ended in."""
    st = batch.status
    if st == S.COMMITTED:
        messages.success(
            request,
            _("Imported: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.")
            % {"created": batch.created, "updated": batch.updated, "unchanged": batch.unchanged},
        )
    elif st == S.PENDING:
        messages.success(request, _("Submitted: the upload now awaits acceptance by a county-level officer."))
    elif st == S.COMMITTING:
        messages.info(
            request, _("The import is running in the background; this page refreshes when it is done.")
        )
    elif st == S.STALE:
        messages.warning(
            request, batch.message or _("The registry changed after validation; validate again.")
        )
    elif st == S.FAILED:
        messages.error(request, batch.message or _("The import failed; nothing was written."))
    elif st == S.REJECTED:
        messages.success(request, _("The upload was returned to the uploader with your comment."))
    elif st == S.ABANDONED:
        messages.success(request, _("The upload was abandoned and its file deleted."))
    elif st == S.REVERTED:
        messages.success(request, _("The import was reverted; the registry is as it was before it."))
    elif st == S.VALIDATED:
        messages.success(request, _("Validated again without errors; review the changes and confirm."))
    elif st == S.INVALID:
        messages.error(request, _("Validated again: the file has errors; nothing was written."))


@require_POST
@portal_permission_required("sheets.view_importbatch")
def batch_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    batch = _scoped(request, pk)
    actor = request.user
    try:
        if action == "confirm":
            batch = engine.confirm(actor=actor, batch=batch)
        elif action == "accept":
            batch = engine.accept(actor=actor, batch=batch)
        elif action == "reject":
            form = RejectForm(request.POST)
            if not form.data.get("comment", "").strip():
                raise ValidationError(_("Please give the reason for returning the upload."))
            if not form.is_valid():
                raise ValidationError(form.errors["comment"])
            batch = engine.reject(actor=actor, batch=batch, comment=form.cleaned_data["comment"])
        elif action == "abandon":
            batch = engine.abandon(actor=actor, batch=batch)
        elif action == "revert":
            if request.POST.get("confirm") != "yes":
                raise ValidationError(_("Tick the box to confirm that this import should be reverted."))
            batch = engine.revert(actor=actor, batch=batch)
        elif action == "revalidate":
            batch = engine.revalidate(actor=actor, batch=batch)
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    else:
        _outcome(request, batch, action)
    return redirect("sheets:detail", pk=pk)
