"""备案审批 pages (DOMAIN.md §5): the officer inbox and the township's own list in one page, a new
filing (type chooser, then the type's form), the filing with its attachments, actions and
decision ledger, the county card. Every write is a service call (eldercare/workflow/services.py),
which decides: these views fetch the filing in the user's scope (404 outside), call the service
and show what it says — a button on the page is never the authority."""

from __future__ import annotations

import datetime
import re
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.roles import ROLE_LABELS
from eldercare.accounts.scope import get_for_user
from eldercare.core import regionview
from eldercare.core.views import add_service_errors, portal_permission_required

from . import effects, machine, selectors, services
from .forms import AttachmentForm, FilingForm
from .models import Attachment, Filing, FilingDocument, FilingType
from .workdays import UNPUBLISHED

PAGE_SIZE = 50
BULK_CAP = 200
_FILTER_KEYS = ("type", "status", "township", "due", "q", "todo")
DONE = {
    "submit": "已提交，等待主管部门受理。",
    "resubmit": "已补正并重新提交，等待主管部门受理。",
    "withdraw": "已撤回。",
    "accept": "已受理。",
    "return": "已退回补正，一次性补正告知已送达申请方。",
    "approve": "已批准（备案）。",
    "reject": "已作出不予批准决定。",
}
COMMENT_HINTS = {
    "return": "一次性补正告知：逐项列明需补正的材料或内容",
    "reject": "不予批准的理由",
    "withdraw": "撤回原因（可不填）",
}


def _label(user) -> str:
    return (user.full_name or user.username) if user else ""


def _decorate(f: Filing, bounds) -> Filing:
    f.badge = selectors.BADGES.get(f.status, "text-bg-secondary")
    f.is_open = f.status in selectors.OPEN
    f.live_alert = selectors.alert_of(f, bounds)
    f.row_class = selectors.ROW_CLASS.get(f.live_alert, "")
    return f


def _is_type_decider(user, f: Filing) -> bool:
    return user.has_perm("workflow.decide_filing") and f.type.decider_role in services.roles_of(user)


# -- the inbox ----------------------------------------------------------------------------------
@require_GET
@portal_permission_required("workflow.view_filing")
def filing_list(request):
    region = regionview.view_region(request)
    params = {k: (request.GET.get(k) or "").strip() for k in _FILTER_KEYS}
    bounds = selectors.alert_bounds()
    townships = selectors.township_choices(request.user, region)
    types = list(FilingType.objects.order_by("id"))
    if params["type"] not in {t.code for t in types}:
        params["type"] = ""
    qs = selectors.filings_for(
        actor=request.user, region=region, params=params, bounds=bounds, townships=townships
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    can_decide = request.user.has_perm("workflow.decide_filing")
    selectable = 0
    for f in page:
        _decorate(f, bounds)
        f.selectable = (
            can_decide
            and f.status == machine.SUBMITTED
            and _is_type_decider(request.user, f)
            and not services.is_applicant(request.user, f)
        )
        selectable += f.selectable
    return render(
        request,
        "workflow/filing_list.html",
        {
            "page": page,
            "params": params,
            "types": types,
            "statuses": selectors.STATUS_CHOICES,
            "townships": townships if len(townships) > 1 else [],
            "due_choices": selectors.DUE_CHOICES,
            "can_decide": can_decide,
            "selectable": selectable,
            "can_apply": request.user.has_perm("workflow.apply_filing"),
            "region": region,
            "unpublished": UNPUBLISHED,
            "provisional_help": selectors.PROVISIONAL_HELP,
        },
    )


def _back_to_list(request):
    nxt = request.POST.get("next") or ""
    base = reverse("workflow:list")
    if nxt.startswith(base) and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect(base)


@require_POST
@portal_permission_required("workflow.decide_filing")
def bulk_accept(request):
    """受理 several submitted filings: one service call (one transaction) each, so one refusal
    does not undo the others."""
    raw = request.POST.getlist("ids") + request.POST.getlist("ids[]")
    ids = list(dict.fromkeys(int(x) for x in raw if str(x).isdigit()))[:BULK_CAP]
    if not ids:
        messages.warning(request, "请先勾选要受理的申请。")
        return _back_to_list(request)
    accepted, failures = [], []
    for pk in ids:
        try:
            f = get_for_user(Filing, request.user, pk=pk)
        except Http404:
            failures.append(f"第 {pk} 号记录：未找到该申请，或不在您的管辖范围内。")
            continue
        try:
            f = services.filing_transition(
                actor=request.user, filing=f.pk, action="accept", expected_status=machine.SUBMITTED
            )
        except services.TransitionRefused as exc:
            failures.append(f"{f.reference}：{exc.message}")
        except ValidationError as exc:
            failures.append(f"{f.reference}：" + "；".join(exc.messages))
        except PermissionDenied as exc:
            failures.append(f"{f.reference}：{exc or '您没有执行此操作的权限。'}")
        else:
            accepted.append(f.number)
    if accepted:
        messages.success(request, f"已受理 {len(accepted)} 件：" + "、".join(accepted) + "。")
    for text in failures:
        messages.error(request, "未受理 " + text)
    return _back_to_list(request)


# -- a new filing -------------------------------------------------------------------------------
def _creatable_types():
    # A subject filing (医养签约协议备案) is created from its subject's page, not here.
    return FilingType.objects.filter(active=True).exclude(effect=FilingType.Effect.SUBJECT).order_by("id")


@portal_permission_required("workflow.apply_filing")
def filing_new(request):
    code = request.GET.get("type") or ""
    if not code:
        types = list(_creatable_types())
        for t in types:
            t.decider_label = ROLE_LABELS.get(t.decider_role, t.decider_role)
            t.family = selectors.family_of(t)
            t.required_attachments = [a["label"] for a in t.attachments if a.get("required")]
        return render(request, "workflow/filing_choose.html", {"types": types})
    ftype = get_object_or_404(_creatable_types(), code=code)
    region = regionview.view_region(request)
    form = FilingForm(request.POST or None, ftype=ftype, actor=request.user, region=region)
    if request.method == "POST" and form.is_valid():
        try:
            filing = services.filing_create(
                actor=request.user,
                type=ftype,
                payload=form.payload(),
                institution=form.cleaned_data.get("institution"),
                region=form.cleaned_data.get("region") or None,
                title=form.cleaned_data.get("title") or "",
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已保存草稿 {filing.number}。请上传材料，确认无误后提交。")
            return redirect("workflow:detail", pk=filing.pk)
    return render(
        request,
        "workflow/filing_form.html",
        {"form": form, "ftype": ftype, "decider_label": ROLE_LABELS.get(ftype.decider_role, "")},
    )


def _scoped(request, pk):
    return get_for_user(
        Filing.objects.select_related(
            "type", "region", "institution", "institution__region", "result_institution", "created_by"
        ),
        request.user,
        pk=pk,
    )


@portal_permission_required("workflow.view_filing")
def filing_edit(request, pk):
    f = _scoped(request, pk)
    if not (request.user.has_perm("workflow.apply_filing") and services.is_applicant(request.user, f)):
        raise PermissionDenied("只有申请方可以修改申请内容；审核人员不能修改。")
    if f.status not in services.EDITABLE:
        messages.error(request, f"当前状态为“{f.status_label}”，申请内容不能修改。")
        return redirect("workflow:detail", pk=f.pk)
    initial = {"title": f.title, **f.payload}
    form = FilingForm(request.POST or None, ftype=f.type, actor=request.user, filing=f, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.filing_update(
                actor=request.user,
                filing=f,
                payload=form.payload(),
                title=form.cleaned_data.get("title") or "",
            )
        except services.TransitionRefused as exc:
            messages.error(request, exc.message)
            return redirect("workflow:detail", pk=f.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("workflow:detail", pk=f.pk)
    return render(
        request,
        "workflow/filing_form.html",
        {
            "form": form,
            "ftype": f.type,
            "filing": f,
            "decider_label": ROLE_LABELS.get(f.type.decider_role, ""),
        },
    )


# -- one filing ---------------------------------------------------------------------------------
def _role_label(role: str) -> str:
    applicant = role.startswith("applicant:")
    code = role.removeprefix("applicant:")
    name = str(ROLE_LABELS.get(code, code)) if code else ""
    if applicant:
        return f"申请方（{name}）" if name else "申请方"
    return name


def _actions(user, f: Filing) -> list[dict]:
    """The buttons: what the machine allows this actor now, and what their role's permission
    covers (the service checks both again)."""
    out = []
    for t in services.actions_for(user, f):
        perm = "workflow.apply_filing" if t.by == machine.APPLICANT else "workflow.decide_filing"
        if user.has_perm(perm):
            out.append(t)
    if any(t.action == "resubmit" for t in out):
        out = [t for t in out if t.action != "submit"]  # one button for a corrected resubmission
    styles = {
        "submit": "btn-primary",
        "resubmit": "btn-primary",
        "accept": "btn-success",
        "approve": "btn-success",
        "return": "btn-warning",
        "reject": "btn-danger",
        "withdraw": "btn-outline-secondary",
    }
    return [
        {
            "action": t.action,
            "label": t.label or t.action,
            "comment_required": t.comment_required,
            "comment_label": "一次性补正告知（需补正的内容）" if t.action == "return" else "意见",
            "hint": COMMENT_HINTS.get(t.action, ""),
            "style": styles.get(t.action, "btn-outline-primary"),
            "confirm": "确定撤回该申请？撤回后不能再提交。" if t.action == "withdraw" else "",
        }
        for t in out
    ]


def _subject_url(f: Filing) -> str:
    """The page of the object the filing is about (a contract), when it has one."""
    if not f.subject_id:
        return ""
    subject = f.subject
    return subject.get_absolute_url() if hasattr(subject, "get_absolute_url") else ""


@require_GET
@portal_permission_required("workflow.view_filing")
def filing_detail(request, pk):
    f = _scoped(request, pk)
    bounds = selectors.alert_bounds()
    _decorate(f, bounds)
    user = request.user
    definition = f.type.definition()
    steps = list(f.steps.select_related("document").order_by("at", "id"))
    for s in steps:
        try:
            s.doc = s.document
        except FilingDocument.DoesNotExist:
            s.doc = None
        t = definition.transition(s.action)
        s.action_label = (t.label if t else "") or s.action
        s.from_label = machine.STATE_LABELS.get(s.from_state, s.from_state)
        s.role_label = _role_label(s.role)
    files = list(f.files.select_related("uploaded_by").order_by("requirement", "id"))
    editable = services.can_edit(user, f)
    known = {a["code"] for a in f.type.attachments}
    requirements = [
        {**a, "files": [x for x in files if x.requirement == a["code"]]} for a in f.type.attachments
    ]
    other = [x for x in files if x.requirement not in known]
    if other:
        requirements.append({"code": "", "label": "其他材料", "required": False, "files": other})
    missing = services.missing_for_submission(f) if f.status in services.EDITABLE else {}
    return render(
        request,
        "workflow/filing_detail.html",
        {
            "f": f,
            "steps": steps,
            "requirements": requirements,
            "payload": effects.display(f.type.effect, f.payload),
            "subject_url": _subject_url(f),
            "missing": list(missing.values()),
            "last_step": steps[-1].pk if steps else 0,
            "editable": editable,
            "upload_form": AttachmentForm(ftype=f.type) if editable and f.type.attachments else None,
            "actions": _actions(user, f),
            "phase_label": selectors.PHASE_LABELS.get(f.clock_phase, ""),
            "definition": definition,
            "decider_label": ROLE_LABELS.get(f.type.decider_role, ""),
            "unpublished": UNPUBLISHED,
            "provisional_help": selectors.PROVISIONAL_HELP,
            "today": timezone.localdate(),
        },
    )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_POST
@portal_permission_required("workflow.view_filing")
def filing_transition(request, pk):
    f = get_for_user(Filing, request.user, pk=pk)
    action = (request.POST.get("action") or "").strip()
    try:
        f = services.filing_transition(
            actor=request.user,
            filing=f.pk,
            action=action,
            comment=request.POST.get("comment") or "",
            expected_status=(request.POST.get("expected_status") or "").strip() or None,
            expected_step=_int_or_none(request.POST.get("expected_step")),
        )
    except services.TransitionRefused as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, "未能执行：" + "；".join(exc.messages))
    else:
        text = DONE.get(action, "已完成。")
        if f.status == machine.APPROVED and f.result_institution_id:
            text += f"已在机构名录中登记“{f.result_institution.name}”，自决定之日起生效。"
        if f.status in services.DOCUMENT_FOR:
            doc = f.documents.order_by("-id").first()
            if doc is not None:
                text += f"已出具{doc.get_kind_display()}（{doc.number}）。"
        messages.success(request, text)
    return redirect("workflow:detail", pk=f.pk)


# -- attachments --------------------------------------------------------------------------------
@require_POST
@portal_permission_required("workflow.apply_filing")
def attachment_upload(request, pk):
    f = _scoped(request, pk)
    form = AttachmentForm(request.POST, request.FILES, ftype=f.type)
    if not form.is_valid():
        for field, errs in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for e in errs:
                messages.error(request, f"{label}：{e}" if label else e)
        return redirect(reverse("workflow:detail", args=[f.pk]) + "#attachments")
    uploaded = form.cleaned_data["file"]
    try:
        att = services.attachment_add(
            actor=request.user, filing=f, requirement=form.cleaned_data["requirement"], uploaded=uploaded
        )
    except services.TransitionRefused as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    else:
        messages.success(request, f"已上传“{att.original_name}”。")
    return redirect(reverse("workflow:detail", args=[f.pk]) + "#attachments")


def _scoped_attachment(request, pk, att) -> tuple[Filing, Attachment]:
    f = get_for_user(Filing, request.user, pk=pk)
    return f, get_object_or_404(Attachment, pk=att, filing=f)


@require_GET
@portal_permission_required("workflow.view_filing")
def attachment_download(request, pk, att):
    _f, attachment = _scoped_attachment(request, pk, att)
    path = services.attachment_path(attachment)
    if not path.is_file():
        raise Http404
    resp = FileResponse(open(path, "rb"), content_type=attachment.content_type)  # FileResponse closes it
    ext = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(
        attachment.content_type, ""
    )
    fallback = (
        re.sub(r"[^A-Za-z0-9._-]", "_", attachment.original_name).strip("_")
        or f"attachment-{attachment.pk}{ext}"
    )
    resp["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(attachment.original_name)}"
    )
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Cache-Control"] = "private, no-store"
    return resp


@require_POST
@portal_permission_required("workflow.apply_filing")
def attachment_delete(request, pk, att):
    f, attachment = _scoped_attachment(request, pk, att)
    name = attachment.original_name
    try:
        services.attachment_remove(actor=request.user, attachment=attachment)
    except services.TransitionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已删除“{name}”。")
    return redirect(reverse("workflow:detail", args=[f.pk]) + "#attachments")


# -- the county card ----------------------------------------------------------------------------
@require_GET
@portal_permission_required("workflow.view_filing")
def filing_stats(request):
    region = regionview.view_region(request)
    today = timezone.localdate()
    first, last = selectors.month_range(request.GET.get("month"), today)
    bounds = selectors.alert_bounds(today)
    stats = selectors.filing_stats(actor=request.user, region=region, first=first, last=last, bounds=bounds)
    prev_month = (first.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    next_month = (last + datetime.timedelta(days=1)).strftime("%Y-%m")
    return render(
        request,
        "workflow/filing_stats.html",
        {
            **stats,
            "region": region,
            "first": first,
            "last": last,
            "month": first.strftime("%Y-%m"),
            "prev_month": prev_month,
            "next_month": next_month if last < today else "",
            "today": today,
        },
    )
