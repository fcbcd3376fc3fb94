"""Subsidy applications (DOMAIN.md §6, CONTRACT.md `/api/v1/subsidies/applications/`).

One road: a page, the API and a task create and move applications through these functions.
- `application_create` assembles the facts from the registry (as on the application date) and
  the occupancy reports, judges them by the policy rule in force (subsidies/rules.py) and stores
  the judgement as a `Decision` (rule version, input snapshot, every check, the amount). The
  application is the subject of a workflow filing (township submits → civil accepts and decides);
  a civil officer may back-date one digitised from paper (audited), which starts as submitted.
- On submission the application date becomes the submission date (unless back-dated) and the
  application is judged again. Approval is refused unless the current decision is eligible
  (e.g. beds beyond the 核定 beds); an approved construction decision creates its installments.
- After approval nothing changes an amount silently: `decision_correct` makes a new decision
  linked to the one it supersedes, with a reason.

Policy in force: the rule of the nearest policy document covering the institution's region (a
document for its county beats the portal's default, 东政办〔2022〕42号) valid on the relevant date
— the application date for construction; for the operation subsidy of year Y, a month counts if
the rule is in force on its last day."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record
from institutions.enums import Family, Status
from institutions.models import Institution, versions_on

from . import rules
from .models import CONSTRUCTION, Application, Decision, OccupancyReport, PolicyDocument, PolicyRule, RuleKind


# -- the policy in force ----------------------------------------------------------------------
def _ancestors(code: str) -> list[str]:
    return [code[:n].ljust(12, "0") for n in (12, 9, 6, 4, 2)]


def document_in_force(region_code: str, day: datetime.date) -> PolicyDocument | None:
    """The policy document governing the region on `day`: the nearest one (the region's own,
    its county's, …) valid that day, the latest issued winning a tie; else the portal's default
    (no region). A county with a policy of its own is judged by it alone — a rule it does not
    have is not taken from another county's document."""
    docs = (
        PolicyDocument.objects.filter(valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .filter(Q(region__isnull=True) | Q(region_id__in=_ancestors(region_code)))
    )
    depth = {code: i for i, code in enumerate(_ancestors(region_code))}
    return min(
        docs, key=lambda d: (depth.get(d.region_id, 99), -d.valid_from.toordinal(), -d.pk), default=None
    )


def rule_in_force(region_code: str, kind: str, day: datetime.date) -> rules.Rule | None:
    """The rule of `kind` in the document in force for the region on `day` (None: no document,
    or the document has no such rule — both read 「没有有效补助政策」)."""
    doc = document_in_force(region_code, day)
    if doc is None:
        return None
    return _as_rule(PolicyRule.objects.filter(document=doc, kind=kind).select_related("document").first())


def _as_rule(pr: PolicyRule | None) -> rules.Rule | None:
    if pr is None:
        return None
    d = pr.document
    return rules.Rule(pr.kind, d.doc_no, pr.clause, pr.params, d.valid_from, d.valid_to, pr.version)


def rules_for_year(region_code: str, year: int) -> tuple[dict, PolicyRule | None]:
    """The operation rule of each month of year Y (the one in force on its last day: a year may
    span two documents), and the row of the latest one (recorded on the decision)."""
    by_month = {
        m: rule_in_force(region_code, RuleKind.OPERATION, rules.month_end(year, m)) for m in range(1, 13)
    }
    latest = next((m for m in range(12, 0, -1) if by_month[m] is not None), None)
    row = _policy_rule(region_code, RuleKind.OPERATION, rules.month_end(year, latest)) if latest else None
    return by_month, row


def _policy_rule(region_code: str, kind: str, day) -> PolicyRule | None:
    rule = rule_in_force(region_code, kind, day)
    if rule is None:
        return None
    return PolicyRule.objects.filter(kind=kind, document__doc_no=rule.doc_no).first()


# -- facts --------------------------------------------------------------------------------------
def _version_on(inst: Institution, day: datetime.date):
    return versions_on(day).filter(institution=inst).first()


def _facts_on(inst: Institution, day: datetime.date):
    """The registry's facts on `day`; before the first recorded version of an institution
    entered after it opened (no opening date recorded) the current copy stands in, as for
    occupancy — never a silent "not operating"."""
    v = _version_on(inst, day)
    if v is not None:
        return v
    first = inst.versions.order_by("valid_from").first()
    if first is not None and first.valid_from > day and inst.opened_on is None:
        return inst
    return None


def approved_construction_beds(inst: Institution, exclude=None) -> int:
    """Σ beds of this institution's approved construction applications (their current decisions)."""
    qs = Application.objects.filter(institution=inst, rule__in=CONSTRUCTION, filing__status="approved")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.aggregate(n=Sum("beds"))["n"] or 0


def construction_facts(app: Application) -> rules.ConstructionFacts:
    v = _facts_on(app.institution, app.application_date)
    approved = v.beds_eldercare if v is not None else None
    reports = tuple(
        rules.Occupancy(o.month, o.self_care, o.disabled)
        for o in OccupancyReport.objects.filter(
            institution=app.institution,
            month__gte=app.application_date - datetime.timedelta(days=130),
            month__lte=app.application_date,
        )
    )
    return rules.ConstructionFacts(
        application_date=app.application_date,
        run_by_medical=(bool(v.run_by_id) if v is not None else None),
        approved_beds=approved,
        beds=app.beds if app.beds is not None else approved,
        beds_already_approved=approved_construction_beds(app.institution, exclude=app),
        committed_years=app.committed_years,
        lease_start=app.lease_start,
        lease_end=app.lease_end,
        occupancy=reports,
    )


def operation_facts(app: Application) -> rules.OperationFacts:
    year = app.year
    reports = {
        o.month.month: o
        for o in OccupancyReport.objects.filter(institution=app.institution, month__year=year)
    }
    months = []
    for m in range(1, 13):
        end = rules.month_end(year, m)
        v = _facts_on(app.institution, end)
        operating = bool(
            v is not None and v.status == Status.OPERATING and (v.opened_on is None or v.opened_on <= end)
        )
        o = reports.get(m)
        months.append(rules.Month(m, operating, o.self_care if o else None, o.disabled if o else None))
    granted = (
        Application.objects.filter(
            institution=app.institution, rule=RuleKind.OPERATION, year=year, filing__status="approved"
        )
        .exclude(pk=app.pk)
        .exists()
    )
    return rules.OperationFacts(
        year=year, application_date=app.application_date, months=tuple(months), already_granted=granted
    )


def _plain(value):
    if isinstance(value, (datetime.date, Decimal)):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def judge(app: Application) -> tuple[rules.Verdict, PolicyRule | None, dict]:
    """The verdict for the application as the data stand now, the rule row, and the facts."""
    region = app.institution.region_id
    if app.rule == RuleKind.OPERATION:
        by_month, row = rules_for_year(region, app.year)
        facts = operation_facts(app)
        applied = {str(m): _policy_of(r) for m, r in by_month.items() if r is not None}
        return rules.operation(by_month, facts), row, {**_plain(facts), "policy": applied}
    rule = rule_in_force(region, app.rule, app.application_date)
    row = _policy_rule(region, app.rule, app.application_date) if rule else None
    facts = construction_facts(app)
    return rules.construction(rule, facts, app.rule), row, {**_plain(facts), "policy": _policy_of(rule)}


def _policy_of(rule: rules.Rule | None) -> dict | None:
    """What the decision was judged by, kept with it: the document, clause, validity, version
    and the parameters themselves (amounts and thresholds)."""
    if rule is None:
        return None
    return {
        "doc_no": rule.doc_no,
        "clause": rule.clause,
        "valid_from": str(rule.valid_from),
        "valid_to": str(rule.valid_to) if rule.valid_to else None,
        "version": rule.version,
        "params": rule.params,
    }


def current_decision(app: Application) -> Decision | None:
    return app.decisions.filter(superseded_by__isnull=True).order_by("-created_at", "-id").first()


def _decide(app: Application, *, actor, reason: str = "") -> Decision:
    verdict, row, facts = judge(app)
    previous = current_decision(app)
    decision = Decision.objects.create(
        application=app,
        policy_rule=row,
        rule_version=row.version if row else None,
        facts=facts,
        checks=[c.as_dict() for c in verdict.checks],
        eligible=verdict.eligible,
        amount=verdict.amount,
        schedule=[{"due_year": y, "amount": str(a)} for y, a in verdict.installments],
        supersedes=previous,
        reason=reason,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return decision


# -- applications --------------------------------------------------------------------------------
def _check(actor, inst: Institution, perm: str) -> None:
    if actor is SYSTEM:
        return
    if not actor.has_perm(perm):
        raise PermissionDenied("您没有办理补贴申请的权限。")
    if not region_in_scope(actor, inst.region_id):
        raise PermissionDenied("该养老机构不在您的管辖范围内。")


def clean_request(
    rule: str, *, beds=None, committed_years=None, lease_start=None, lease_end=None, year=None
) -> dict:
    errors = {}
    if rule not in RuleKind.values:
        errors["rule"] = "补贴类别应为：" + "、".join(RuleKind.values) + "。"
    if rule == RuleKind.OPERATION:
        if not year:
            errors["year"] = "运营补助须填写补助年度。"
    else:
        if beds is not None and beds <= 0:
            errors["beds"] = "申请床位数应为正整数。"
        if rule == RuleKind.NEW_RENTED and lease_start and lease_end and lease_end <= lease_start:
            errors["lease_end"] = "租期结束日期应晚于开始日期。"
    if errors:
        raise ValidationError(errors)
    return {
        "beds": beds if rule != RuleKind.OPERATION else None,
        "committed_years": committed_years if rule == RuleKind.NEW_OWNED else None,
        "lease_start": lease_start if rule == RuleKind.NEW_RENTED else None,
        "lease_end": lease_end if rule == RuleKind.NEW_RENTED else None,
        "year": year if rule == RuleKind.OPERATION else None,
    }


@transaction.atomic
def application_create(
    *,
    actor,
    institution: Institution,
    rule: str,
    application_date: datetime.date | None = None,
    **request,
) -> Application:
    """A new application, judged at once. Back-dating (a paper application being digitised) is
    for civil affairs and admin only (`subsidies.backdate_application`), audited, and such an
    application starts as submitted."""
    from eldercare.workflow import services as wf
    from eldercare.workflow.models import FilingType

    _check(actor, institution, "subsidies.add_application")
    if institution.family != Family.ELDERCARE:
        raise ValidationError({"institution": "补贴申请的对象应为养老服务机构。"})
    fields = clean_request(rule, **request)
    today = timezone.localdate()
    backdated = application_date is not None and application_date != today
    if backdated and (actor is not SYSTEM and not actor.has_perm("subsidies.backdate_application")):
        raise PermissionDenied("只有民政部门经办人员可以补录纸质申请的申请日期。")
    if application_date is not None and application_date > today:
        raise ValidationError({"application_date": "申请日期不能晚于今天。"})
    if rule in CONSTRUCTION and fields["beds"] is None:
        # CONTRACT.md: beds default to the 核定养老床位 — recorded on the application, so the
        # approved-beds sum and the duplicate checks count them.
        v = _version_on(institution, application_date or today)
        fields["beds"] = (v.beds_eldercare if v is not None else None) or institution.beds_eldercare
    app = Application.objects.create(
        institution=institution,
        rule=rule,
        application_date=application_date or today,
        backdated=backdated,
        created_by=actor if getattr(actor, "pk", None) else None,
        **fields,
    )
    decision = _decide(app, actor=actor)
    filing = wf.filing_create(
        actor=actor,
        type=FilingType.objects.get(code="subsidy"),
        subject=app,
        institution=institution,
        title=f"{institution.name} · {app.get_rule_display()}" + (f"（{app.year}年度）" if app.year else ""),
    )
    app.filing = filing
    app.save(update_fields=["filing"])
    record(
        actor,
        Action.CREATE,
        app,
        detail={
            "rule": rule,
            "application_date": app.application_date.isoformat(),
            "backdated": backdated,
            "eligible": decision.eligible,
            "amount": str(decision.amount),
        },
    )
    if backdated:
        wf.filing_transition(actor=actor, filing=filing, action="submit")
    return app


def on_filing_transition(*, filing, step, actor) -> None:
    """The workflow subject hook, inside the transition's transaction: submission dates and
    re-judges the application; approval is refused unless the current decision is eligible,
    and an approved decision schedules its installments."""
    app = (
        Application.objects.select_for_update(of=("self",))
        .select_related("institution")
        .get(pk=filing.subject_id)
    )
    if step.to_state == "submitted":
        # The application date is the first submission's: a resubmission after a return keeps it
        # (the correction does not move the applicant to a later policy or occupancy window).
        if not app.backdated and step.from_state == "draft":
            app.application_date = step.day
            app.save(update_fields=["application_date"])
        _decide(app, actor=actor)
    elif step.to_state == "approved":
        from eldercare.workflow.services import TransitionRefused

        # One approval at a time per institution: the beds sum and one-per-year read the others.
        Institution.objects.select_for_update().get(pk=app.institution_id)
        decision = current_decision(app)
        if decision is None or decision.eligible is not True:
            failed = [c["message"] for c in (decision.checks if decision else []) if c["passed"] is not True]
            raise TransitionRefused(
                "不符合补助条件，不能批准：" + "；".join(failed or ["数据不完整"]), "state"
            )
        fresh, _row, _facts = judge(app)
        if fresh.eligible is not True or fresh.amount != decision.amount:
            # The data moved since the officer's judgement was shown (another approval used the
            # beds, a report changed): nothing is approved on figures nobody looked at.
            now = f"{fresh.amount} 元" if fresh.eligible else "不符合条件"
            raise TransitionRefused(
                f"数据已变化：按最新数据核定为{now}（原核定 {decision.amount} 元）。请先“重新核定”，查看结果后再批准。",
                "state",
            )
        from . import payments

        payments.schedule_installments(decision=decision, actor=actor)


@transaction.atomic
def application_rejudge(*, actor, application: Application) -> Decision:
    """Judge again on today's data before the decision (e.g. after a missing month was
    reported). After approval, use `decision_correct`."""
    app = (
        Application.objects.select_for_update(of=("self",))
        .select_related("institution", "filing")
        .get(pk=application.pk)
    )
    status = app.filing.status if app.filing is not None else "draft"
    # The applicant side before acceptance; once accepted, only the deciding side — what the
    # officer approves is what the officer has seen judged.
    needed = "subsidies.change_application" if status == "accepted" else "subsidies.add_application"
    _check(actor, app.institution, needed)
    if status in ("approved", "rejected", "withdrawn"):
        raise ValidationError(f"申请已{app.filing.status_label}，不能重新核定；批准后的更正请用“更正核定”。")
    decision = _decide(app, actor=actor, reason="重新核定")
    record(
        actor,
        Action.UPDATE,
        app,
        detail={"rejudged": decision.pk, "eligible": decision.eligible, "amount": str(decision.amount)},
    )
    return decision


@transaction.atomic
def decision_correct(*, actor, application: Application, reason: str) -> Decision:
    """A correction after approval: a new decision from today's data, linked to the one it
    supersedes, with the reason. Installments already scheduled are not touched here (finance
    reconciles them); the approved amount never changes silently."""
    app = (
        Application.objects.select_for_update(of=("self",))
        .select_related("institution")
        .get(pk=application.pk)
    )
    _check(actor, app.institution, "subsidies.change_application")
    if not (reason or "").strip():
        raise ValidationError({"reason": "更正核定须说明理由。"})
    decision = _decide(app, actor=actor, reason=reason.strip()[:300])
    record(
        actor,
        Action.UPDATE,
        app,
        detail={"correction": decision.pk, "reason": decision.reason, "amount": str(decision.amount)},
    )
    return decision
