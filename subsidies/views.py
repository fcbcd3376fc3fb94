"""床位补贴 pages (issue 6, DOMAIN.md §6): the scoped list of applications, the application form
(with a preview of what the portal assembles and how it judges it), the application with its
current decision explained one sentence per condition, its workflow buttons, installments and
finance's payments, and the printable 补助审批表 (HTML and PDF).

Every write is a service call — subsidies.services (create, re-judge, correct),
eldercare.workflow.services (the filing's transitions), subsidies.payments (pay, reverse) — the
same functions the API calls, so a page never decides anything itself. Applications are fetched
in the user's scope (404 outside), and a draft is its applicant side's only, like its filing."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.scope import for_user, region_in_scope
from eldercare.core import regionview
from eldercare.core.views import add_service_errors, portal_permission_required
from eldercare.regions import codes
from eldercare.workflow import machine
from eldercare.workflow import selectors as wf_selectors
from eldercare.workflow import services as wf
from eldercare.workflow.views import _actions as workflow_actions

from . import payments, rules, services
from .forms import ApplicationForm, CorrectionForm, PaymentForm, ReversalForm
from .models import CONSTRUCTION, Application, Decision, Installment, Payment, RuleKind

PAGE_SIZE = 50
OPEN = (machine.SUBMITTED, machine.ACCEPTED)
FINAL = ("approved", "rejected", "withdrawn")
ELIGIBLE = {True: "符合", False: "不符合", None: "数据不完整"}
ELIGIBLE_BADGE = {True: "text-bg-success", False: "text-bg-danger", None: "text-bg-warning"}
MARK = {True: "✓", False: "✗", None: "？"}
DONE = {
    "submit": "已提交，等待民政部门受理；申请日期为提交日，已按提交日重新核定。",
    "resubmit": "已补正并重新提交，已按提交日重新核定。",
    "withdraw": "已撤回。",
    "accept": "已受理。",
    "return": "已退回补正。",
    "approve": "已批准。",
    "reject": "已作出不予批准决定。",
}


def yuan(amount) -> str:
    return f"¥{Decimal(amount):,.2f}"


# -- scope ------------------------------------------------------------------------------------
def _visible(qs, user):
    """A draft belongs to the applicant side (its creator; township staff of its township), as
    its filing does (Filing.scope_visible); officers see an application once submitted."""
    if "township" in getattr(user, "roles", ()):
        return qs
    return qs.exclude(Q(filing__status=machine.DRAFT) & ~Q(filing__created_by_id=user.pk))


def scoped_applications(user, region=None):
    return _visible(for_user(Application.objects.all(), user, region=region), user)


def _scoped(request, pk) -> Application:
    qs = scoped_applications(request.user).select_related(
        "institution", "institution__region", "institution__run_by", "filing", "filing__type", "created_by"
    )
    try:
        return qs.get(pk=pk)
    except Application.DoesNotExist as exc:
        raise Http404 from exc


# -- the list -----------------------------------------------------------------------------------
def _with_current(qs):
    """The current decision's eligible/amount per row, in the list's own query: the latest
    decision not superseded (services.current_decision's order)."""
    latest = Decision.objects.filter(application=OuterRef("pk"), superseded_by__isnull=True).order_by(
        "-created_at", "-id"
    )
    return qs.annotate(
        current_id=Subquery(latest.values("pk")[:1]),
        current_eligible=Subquery(latest.values("eligible")[:1]),
        current_amount=Subquery(latest.values("amount")[:1]),
    )


def _filters(request, townships) -> dict:
    p = {k: (request.GET.get(k) or "").strip() for k in ("rule", "status", "township", "year")}
    if p["rule"] not in RuleKind.values:
        p["rule"] = ""
    if p["status"] not in (*machine.STATE_LABELS, "open"):
        p["status"] = ""
    if p["township"] not in {r.code for r in townships}:
        p["township"] = ""
    if not (p["year"].isdigit() and 2000 <= int(p["year"]) <= 2100):
        p["year"] = ""
    return p


def applications_filtered(user, region, p: dict):
    qs = scoped_applications(user, region).select_related(
        "institution", "institution__region", "filing", "filing__type"
    )
    if p.get("rule"):
        qs = qs.filter(rule=p["rule"])
    if p.get("status") == "open":
        qs = qs.filter(filing__status__in=OPEN)
    elif p.get("status"):
        qs = qs.filter(filing__status=p["status"])
    if p.get("township"):
        qs = qs.filter(
            institution__region__code__startswith=p["township"][: codes.PREFIX_LEN[codes.TOWNSHIP]]
        )
    if p.get("year"):
        # The subsidy's year: the operation subsidy's year, else the application year.
        y = int(p["year"])
        qs = qs.filter(Q(year=y) | Q(year__isnull=True, application_date__year=y))
    return _with_current(qs).order_by("-application_date", "-id")


@require_GET
@portal_permission_required("subsidies.view_application")
def application_list(request):
    user = request.user
    region = regionview.view_region(request)
    townships = wf_selectors.township_choices(user, region)
    p = _filters(request, townships)
    page = Paginator(applications_filtered(user, region, p), PAGE_SIZE).get_page(request.GET.get("page"))
    for a in page:
        a.status = a.filing.status if a.filing_id else machine.DRAFT
        a.status_label = a.filing.status_label if a.filing_id else "草稿"
        a.badge = wf_selectors.BADGES.get(a.status, "text-bg-secondary")
        a.eligible_label = ELIGIBLE[a.current_eligible] if a.current_id else "—"
        a.eligible_badge = ELIGIBLE_BADGE.get(a.current_eligible, "text-bg-secondary")
        a.amount_shown = yuan(a.current_amount) if a.current_eligible is True else "—"
    today = timezone.localdate()
    return render(
        request,
        "subsidies/applications/list.html",
        {
            "page": page,
            "params": p,
            "region": region,
            "rules": RuleKind.choices,
            "statuses": [("open", "待审批（已提交、已受理）"), *machine.STATE_LABELS.items()],
            "townships": townships if len(townships) > 1 else [],
            "years": range(today.year + 1, today.year - 8, -1),
            "can_add": user.has_perm("subsidies.add_application"),
        },
    )


def pending_card(actor, region) -> dict | None:
    """The home card of civil officers: applications in view waiting for them (submitted or
    accepted). For eldercare.core.selectors.home_cards."""
    if not (actor.has_perm("subsidies.view_application") and actor.has_perm("workflow.decide_filing")):
        return None
    count = scoped_applications(actor, region).filter(filing__status__in=OPEN).count()
    return {
        "label": "待审批的补贴申请",
        "value": count,
        "icon": "cash-stack",
        "link": reverse("subsidies:application_list") + "?status=open",
    }


# -- a new application ------------------------------------------------------------------------
def _preview(form) -> dict | None:
    """How the application would be judged now, without saving anything: the same facts
    (services.judge) the saved application will be judged on — until its submission, when the
    application date becomes the submission date and it is judged again."""
    req = form.request()
    try:
        fields = services.clean_request(
            req["rule"],
            beds=req["beds"],
            committed_years=req["committed_years"],
            lease_start=req["lease_start"],
            lease_end=req["lease_end"],
            year=req["year"],
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None
    app = Application(
        institution=req["institution"],
        rule=req["rule"],
        application_date=req["application_date"] or timezone.localdate(),
        **fields,
    )
    verdict, row, facts = services.judge(app)
    return {
        "eligible": verdict.eligible,
        "eligible_label": ELIGIBLE[verdict.eligible],
        "eligible_badge": ELIGIBLE_BADGE[verdict.eligible],
        "amount": yuan(verdict.amount) if verdict.eligible else "—",
        "checks": [_check_row(c.as_dict()) for c in verdict.checks],
        "installments": [(y, yuan(a)) for y, a in verdict.installments],
        "facts": _facts_rows(app.rule, facts, row.params if row else {}),
        "months": _months(facts) if app.rule == RuleKind.OPERATION else [],
        "policy": row,
    }


@portal_permission_required("subsidies.view_application", "subsidies.add_application")
def application_new(request):
    region = regionview.view_region(request)
    form = ApplicationForm(request.POST or None, actor=request.user, region=region)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = _preview(form)
        else:
            try:
                app = services.application_create(actor=request.user, **form.request())
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                d = services.current_decision(app)
                text = f"已保存申请（{ELIGIBLE[d.eligible]}"
                text += f"，核定金额 {yuan(d.amount)}）。" if d.eligible else "）。"
                if app.filing.status == machine.DRAFT:
                    text += "确认无误后请提交；提交日即为申请日期，提交时按当日数据重新核定。"
                messages.success(request, text)
                return redirect("subsidies:application_detail", pk=app.pk)
    return render(
        request,
        "subsidies/applications/form.html",
        {"form": form, "preview": preview, "region": region},
    )


# -- one application ----------------------------------------------------------------------------
TONE = {True: "success", False: "danger", None: "warning"}
STATE = {True: "pass", False: "fail", None: "unknown"}


def _check_row(c: dict) -> dict:
    passed = c.get("passed")
    return {**c, "mark": MARK[passed], "state": STATE[passed], "tone": TONE[passed]}


def _yes_no(v) -> str:
    return {True: "是", False: "否"}.get(v, "—")


def _d(value) -> str:
    return value or "—"


def _used_report(facts: dict, params: dict) -> str:
    """The monthly report the occupancy condition read (the rule's own choice)."""
    reports = [
        rules.Occupancy(datetime.date.fromisoformat(o["month"]), o["self_care"], o["disabled"])
        for o in facts.get("occupancy") or []
    ]
    day = datetime.date.fromisoformat(facts["application_date"])
    used = rules.latest_occupancy(reports, day, int(params.get("occupancy_window_months", 3)))
    if used is None:
        return f"无（申请日前 {params.get('occupancy_window_months', 3)} 个月内没有月报）"
    return (
        f"{used.month:%Y年%m月}：自理 {used.self_care} 张、失能 {used.disabled} 张，合计 {used.occupied} 张"
    )


def _lease_text(start: str | None, end: str | None) -> str:
    """2026-01-01 至 2030-12-31（5 年，起止日均计入） — the term as the rule counts it."""
    shown = f"{_d(start)} 至 {_d(end)}"
    if not (start and end) or end < start:
        return shown
    term = rules.lease_term(datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
    return f"{shown}（{rules.term_text(term)}，起止日均计入）"


def _facts_rows(rule: str, facts: dict, params: dict) -> list[tuple[str, str]]:
    """The facts snapshot as the decision stored it, in Chinese."""
    if not facts:
        return []
    if rule == RuleKind.OPERATION:
        months = facts.get("months") or []
        return [
            ("补助年度", f"{facts.get('year')} 年"),
            ("核定时的申请日期", _d(facts.get("application_date"))),
            ("运营中的月份", f"{sum(1 for m in months if m.get('operating'))} 个月"),
            ("已报入住月报", f"{sum(1 for m in months if m.get('self_care') is not None)} 个月"),
            ("该年度已批准过运营补助", _yes_no(facts.get("already_granted"))),
        ]
    out = [
        ("核定时的申请日期", _d(facts.get("application_date"))),
        ("是否由医疗机构举办", _yes_no(facts.get("run_by_medical"))),
        (
            "核定养老床位",
            f"{facts['approved_beds']} 张" if facts.get("approved_beds") is not None else "未登记",
        ),
        ("申请补助床位", f"{facts['beds']} 张" if facts.get("beds") is not None else "—"),
        ("已批准建设补助床位", f"{facts.get('beds_already_approved', 0)} 张"),
    ]
    if rule == RuleKind.NEW_OWNED:
        years = facts.get("committed_years")
        out.append(("承诺运营年限", f"{years} 年" if years is not None else "未填写"))
        out.append(("使用的入住月报", _used_report(facts, params)))
    if rule == RuleKind.NEW_RENTED:
        out.append(("租期", _lease_text(facts.get("lease_start"), facts.get("lease_end"))))
    return out


def _months(facts: dict) -> list[dict]:
    out = []
    for m in facts.get("months") or []:
        reported = m.get("self_care") is not None and m.get("disabled") is not None
        out.append(
            {
                "month": m["month"],
                "operating": "运营中" if m.get("operating") else "未运营（计 0）",
                "self_care": m["self_care"] if reported else "—",
                "disabled": m["disabled"] if reported else "—",
                "missing": bool(m.get("operating")) and not reported,
            }
        )
    return out


def _decorate(d: Decision, rule: str) -> Decision:
    params = d.policy_rule.params if d.policy_rule_id else {}
    d.check_rows = [_check_row(c) for c in d.checks]
    d.eligible_label = ELIGIBLE[d.eligible]
    d.eligible_badge = ELIGIBLE_BADGE[d.eligible]
    d.amount_shown = yuan(d.amount) if d.eligible else "—"
    d.schedule_rows = [(s["due_year"], yuan(s["amount"])) for s in d.schedule] if d.eligible else []
    d.fact_rows = _facts_rows(rule, d.facts, params)
    d.month_rows = _months(d.facts) if rule == RuleKind.OPERATION else []
    return d


def decisions_of(app: Application) -> tuple[Decision | None, list[Decision]]:
    """(the current decision, the earlier ones newest first) — one query."""
    ds = list(
        app.decisions.select_related("policy_rule", "policy_rule__document", "created_by").order_by(
            "created_at", "id"
        )
    )
    superseded = {d.supersedes_id for d in ds if d.supersedes_id}
    live = [d for d in ds if d.pk not in superseded]
    current = live[-1] if live else None
    earlier = [_decorate(d, app.rule) for d in reversed(ds) if d is not current]
    return (_decorate(current, app.rule) if current else None), earlier


def _installments(app: Application, user, today, current: Decision | None = None) -> list[Installment]:
    """The schedule with its ledger and finance's forms. An installment of a superseded decision
    (`current`: the current one) gets no pay form: the service refuses it until reconciled."""
    rows = list(app.installments.prefetch_related("payments", "payments__created_by").order_by("due_year"))
    can_pay = user.has_perm("subsidies.record_payment") and region_in_scope(user, app.institution.region_id)
    for i in rows:
        i.amount_shown = yuan(i.amount)
        i.ledger = sorted(i.payments.all(), key=lambda p: (p.paid_on, p.pk))
        for p in i.ledger:
            p.amount_shown = yuan(p.amount)
            p.reverse_form = (
                ReversalForm(prefix=f"p{p.pk}", initial={"on": today})
                if can_pay and p.kind == Payment.Kind.PAYMENT and p.live
                else None
            )
        i.pay_form = (
            PaymentForm(
                prefix=f"i{i.pk}",
                initial={"paid_on": today, "amount": i.amount, "funding_source": "county"},
            )
            if can_pay
            and i.status == Installment.Status.SCHEDULED
            and i.due_year <= today.year
            and (current is None or i.decision_id == current.pk)
            else None
        )
        i.not_yet = i.status == Installment.Status.SCHEDULED and i.due_year > today.year
    return rows


def _reconcile_context(app: Application, user, installments) -> dict:
    """The reconciliation after a correction: what finance's button would do now (None when no
    older decision's schedule is left to reconcile), and whether this user may press it."""
    if not installments:
        return {"reconcile": None, "can_reconcile": False}
    pending = payments.reconciliation_pending(app)
    can = (
        pending is not None
        and pending.changed
        and user.has_perm("subsidies.record_payment")
        and region_in_scope(user, app.institution.region_id)
    )
    return {"reconcile": pending, "can_reconcile": can}


@require_GET
@portal_permission_required("subsidies.view_application")
def application_detail(request, pk):
    app = _scoped(request, pk)
    user = request.user
    current, earlier = decisions_of(app)
    filing = app.filing
    steps = list(filing.steps.order_by("at", "id")) if filing else []
    if filing is not None:
        filing.badge = wf_selectors.BADGES.get(filing.status, "text-bg-secondary")
    status = filing.status if filing else machine.DRAFT
    can_judge = user.has_perm("subsidies.add_application") or user.has_perm("subsidies.change_application")
    today = timezone.localdate()
    installments = _installments(app, user, today, current)
    return render(
        request,
        "subsidies/applications/detail.html",
        {
            "app": app,
            "f": filing,
            "decision": current,
            "earlier": earlier,
            "actions": workflow_actions(user, filing) if filing else [],
            "last_step": steps[-1].pk if steps else 0,
            "steps": steps,
            "can_rejudge": can_judge and status not in FINAL,
            "correction_form": CorrectionForm()
            if status == machine.APPROVED and user.has_perm("subsidies.change_application")
            else None,
            "installments": installments,
            "is_construction": app.rule in CONSTRUCTION,
            **_reconcile_context(app, user, installments),
        },
    )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _errors(exc) -> str:
    return "；".join(getattr(exc, "messages", None) or [str(exc) or "您没有执行此操作的权限。"])


@require_POST
@portal_permission_required("subsidies.view_application", "workflow.view_filing")
def application_transition(request, pk):
    """The filing's workflow action, taken on what the user saw (expected status and step)."""
    app = _scoped(request, pk)
    action = (request.POST.get("action") or "").strip()
    try:
        f = wf.filing_transition(
            actor=request.user,
            filing=app.filing_id,
            action=action,
            comment=request.POST.get("comment") or "",
            expected_status=(request.POST.get("expected_status") or "").strip() or None,
            expected_step=_int_or_none(request.POST.get("expected_step")),
        )
    except wf.TransitionRefused as exc:
        messages.error(request, exc.message)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "未能执行：" + _errors(exc))
    else:
        text = DONE.get(action, "已完成。")
        if f.status == machine.APPROVED:
            n = app.installments.count()
            if n:
                text += f"已生成 {n} 期拨付计划，由财政部门拨付。"
        messages.success(request, text)
    return redirect("subsidies:application_detail", pk=app.pk)


@require_POST
@portal_permission_required("subsidies.view_application")
def application_rejudge(request, pk):
    app = _scoped(request, pk)
    try:
        d = services.application_rejudge(actor=request.user, application=app)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "未能重新核定：" + _errors(exc))
    else:
        shown = f"，{yuan(d.amount)}" if d.eligible else ""
        messages.success(request, f"已按当前数据重新核定：{ELIGIBLE[d.eligible]}{shown}。")
    return redirect("subsidies:application_detail", pk=app.pk)


@require_POST
@portal_permission_required("subsidies.view_application", "subsidies.change_application")
def application_correct(request, pk):
    app = _scoped(request, pk)
    form = CorrectionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        d = services.decision_correct(actor=request.user, application=app, reason=reason)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "未能更正核定：" + _errors(exc))
    else:
        shown = f"，{yuan(d.amount)}" if d.eligible else ""
        messages.success(
            request,
            f"已更正核定：{ELIGIBLE[d.eligible]}{shown}。原核定结果保留在“历次核定”中；已生成的拨付计划由财政部门核对。",
        )
    return redirect("subsidies:application_detail", pk=app.pk)


# -- payments -----------------------------------------------------------------------------------
def _back_to_payments(app):
    return redirect(reverse("subsidies:application_detail", args=[app.pk]) + "#installments")


@require_POST
@portal_permission_required("subsidies.view_application", "subsidies.record_payment")
def installment_pay(request, pk, installment):
    app = _scoped(request, pk)
    inst = get_object_or_404(Installment, pk=installment, application=app)
    form = PaymentForm(request.POST, prefix=f"i{inst.pk}")
    if not form.is_valid():
        messages.error(
            request,
            "未登记拨付："
            + "；".join(f"{form.fields[k].label}：{e}" for k, errs in form.errors.items() for e in errs),
        )
        return _back_to_payments(app)
    data = form.cleaned_data
    try:
        p = payments.payment_record(
            actor=request.user,
            installment=inst,
            paid_on=data["paid_on"],
            amount=data["amount"],
            voucher_no=data["voucher_no"],
            payee_account=data["payee_account"],
            funding_source=data["funding_source"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "未登记拨付：" + _errors(exc))
    else:
        messages.success(
            request,
            f"已登记 {inst.due_year} 年度拨付 {yuan(p.amount)}（凭证 {p.voucher_no}，{p.get_funding_source_display()}）。",
        )
    return _back_to_payments(app)


def reconcile_message(done: payments.Reconciliation) -> str:
    """What the reconciliation did, in one message (Chinese through the catalogue)."""
    sep = _("; ")
    parts = []
    if done.stopped:
        years = _(", ").join(str(i.due_year) for i in done.stopped)
        parts.append(
            ngettext(
                "stopped %(count)s unpaid installment of the old schedule (%(years)s)",
                "stopped %(count)s unpaid installments of the old schedule (%(years)s)",
                len(done.stopped),
            )
            % {"count": len(done.stopped), "years": years}
        )
    if done.created:
        items = sep.join(
            _("%(year)s: %(amount)s") % {"year": i.due_year, "amount": yuan(i.amount)} for i in done.created
        )
        parts.append(
            ngettext(
                "rescheduled %(count)s installment by the corrected decision (%(items)s)",
                "rescheduled %(count)s installments by the corrected decision (%(items)s)",
                len(done.created),
            )
            % {"count": len(done.created), "items": items}
        )
    if done.flagged:
        items = sep.join(
            _("%(year)s: %(amount)s paid too much") % {"year": i.due_year, "amount": yuan(excess)}
            for i, excess in done.flagged
        )
        parts.append(
            ngettext(
                "flagged %(count)s paid installment for recovery (%(items)s)",
                "flagged %(count)s paid installments for recovery (%(items)s)",
                len(done.flagged),
            )
            % {"count": len(done.flagged), "items": items}
        )
    if done.unflagged:
        parts.append(
            ngettext(
                "lifted the recovery flag of %(count)s installment no longer overpaid (%(years)s)",
                "lifted the recovery flag of %(count)s installments no longer overpaid (%(years)s)",
                len(done.unflagged),
            )
            % {"count": len(done.unflagged), "years": _(", ").join(str(i.due_year) for i in done.unflagged)}
        )
    return _("Adjusted the payment schedule to the corrected decision: %(what)s.") % {"what": sep.join(parts)}


@require_POST
@portal_permission_required("subsidies.view_application", "subsidies.record_payment")
def application_reconcile(request, pk):
    """Finance's 「按更正后的决定调整拨付计划」: subsidies.payments.reconcile_schedule, once —
    a second press writes nothing and says so. A refusal of the service's own (not finance, not
    in scope) is a 403."""
    app = _scoped(request, pk)
    try:
        done = payments.reconcile_schedule(actor=request.user, application=app)
    except ValidationError as exc:
        messages.error(
            request, _("The payment schedule was not adjusted: %(reason)s") % {"reason": _errors(exc)}
        )
    else:
        if done.changed:
            messages.success(request, reconcile_message(done))
        else:
            messages.info(
                request,
                _(
                    "The payment schedule already follows the corrected decision; nothing was changed "
                    "this time."
                ),
            )
    return _back_to_payments(app)


@require_POST
@portal_permission_required("subsidies.view_application", "subsidies.record_payment")
def payment_reverse(request, pk, payment):
    app = _scoped(request, pk)
    pay = get_object_or_404(Payment, pk=payment, installment__application=app)
    form = ReversalForm(request.POST, prefix=f"p{pay.pk}")
    if not form.is_valid():
        messages.error(
            request,
            "未冲销："
            + "；".join(f"{form.fields[k].label}：{e}" for k, errs in form.errors.items() for e in errs),
        )
        return _back_to_payments(app)
    data = form.cleaned_data
    try:
        r = payments.payment_reverse(
            actor=request.user,
            payment=pay,
            on=data["on"],
            voucher_no=data["voucher_no"],
            reason=data["reason"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "未冲销：" + _errors(exc))
    else:
        messages.success(
            request, f"已冲销拨付 {pay.voucher_no}（冲销凭证 {r.voucher_no}），该期恢复为待拨付。"
        )
    return _back_to_payments(app)
