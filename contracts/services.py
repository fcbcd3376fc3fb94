"""Writes to contracts and visits: atomic, scoped, audited (DOMAIN.md §4).

Scope: the elder-care party must be in the actor's region (a township maintains the contracts
of its homes); the medical party may be anywhere in the same county (CONTRACT.md, `contracts`
sheet) — the caller found it by exact code, and only its id and name are shown. A change to a
filed contract's parties, term or services clears 已备案 (what was filed is no longer what is
recorded); a termination does not. The 医养签约协议备案 goes through the workflow engine with
the contract as the filing's subject (`contract_file`, `on_filing_transition`)."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record
from institutions.enums import Family

from . import rules
from .models import Contract, Frequency, Mode, ServiceItem, Visit

FACTS = ("agreement_no", "medical", "eldercare", "mode", "services", "visit_frequency", "start", "end")
VISITS_SERVICE = "visits"


def _plain(v):
    if isinstance(v, datetime.date):
        return v.isoformat()
    if hasattr(v, "pk"):
        return v.pk
    return v


def _check(actor, perm: str, eldercare) -> None:
    if actor is SYSTEM:
        return
    if not actor.has_perm(perm):
        raise PermissionDenied("您没有维护医养签约协议的权限。")
    if not region_in_scope(actor, eldercare.region_id):
        raise PermissionDenied("该养老机构不在您的管辖范围内。")


def clean_facts(facts: dict, *, known_services: set[str] | None = None, kept_services=()) -> dict:
    """Typed and checked facts, or ValidationError({field: Chinese message}). `known_services`:
    the active checklist codes, read once by a caller checking many rows (an import)."""
    errors = {}
    out = dict(facts)
    medical, home = out.get("medical"), out.get("eldercare")
    if medical is None:
        errors["medical"] = "请选择签约的医疗卫生机构。"
    elif medical.family != Family.MEDICAL:
        errors["medical"] = "签约一方应为医疗卫生机构。"
    if home is None:
        errors["eldercare"] = "请选择签约的养老机构。"
    elif home.family != Family.ELDERCARE:
        errors["eldercare"] = "签约另一方应为养老服务机构。"
    if medical is not None and home is not None and medical.region_id[:6] != home.region_id[:6]:
        errors["medical"] = "医疗卫生机构应在养老机构所在的县（区）内。"
    out["agreement_no"] = (out.get("agreement_no") or "").strip()
    if not out["agreement_no"]:
        errors["agreement_no"] = "请填写协议编号。"
    if out.get("mode", Mode.AGREEMENT) not in Mode.values:
        errors["mode"] = "合作方式应为：" + "、".join(Mode.labels) + "。"
    known = (
        known_services
        if known_services is not None
        else set(ServiceItem.objects.filter(active=True).values_list("code", flat=True))
    )
    services = list(dict.fromkeys(out.get("services") or []))
    # A checklist item retired since the contract was signed stays on it; new ones must be active.
    unknown = [s for s in services if s not in known and s not in set(kept_services)]
    if unknown:
        errors["services"] = f"未知的服务内容：{'、'.join(unknown)}。"
    freq = out.get("visit_frequency") or ""
    if freq and freq not in Frequency.values:
        errors["visit_frequency"] = "巡诊频次应为：" + "、".join(Frequency.labels) + "。"
    if VISITS_SERVICE in services and not freq:
        errors["visit_frequency"] = "选择了上门巡诊，请填写巡诊频次。"
    if freq and VISITS_SERVICE not in services:
        services.insert(0, VISITS_SERVICE)  # a frequency promises visits
    out["services"], out["visit_frequency"] = services, freq
    for key, label in (("start", "开始日期"), ("end", "结束日期")):
        if not out.get(key):
            errors[key] = f"请填写{label}。"
    errors.update(rules.term_errors(out.get("start"), out.get("end"), out.get("terminated_on")))
    if errors:
        raise ValidationError(errors)
    return out


def overlapping(contract: Contract):
    """Other contracts between the same pair whose terms overlap this one's (flagged, not refused:
    a renewal signed before the old term ends is common, a duplicate entry is not)."""
    same_pair = Contract.objects.filter(
        medical_id=contract.medical_id, eldercare_id=contract.eldercare_id
    ).exclude(pk=contract.pk)
    return [c for c in same_pair if rules.overlaps(c.term, contract.term)]


@transaction.atomic
def contract_create(*, actor, facts: dict, refresh: bool = True) -> Contract:
    """`refresh=False`: the caller (an import) refreshes the homes' stored warnings once."""
    facts = clean_facts(facts)
    _check(actor, "contracts.add_contract", facts["eldercare"])
    contract = Contract(
        created_by=actor if getattr(actor, "pk", None) else None, **{k: facts[k] for k in FACTS if k in facts}
    )
    contract.terminated_on = facts.get("terminated_on")
    contract.termination_reason = facts.get("termination_reason", "")
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"agreement_no": f"{facts['medical'].name}已有协议编号为“{facts['agreement_no']}”的协议。"}
        ) from exc
    record(
        actor,
        Action.CREATE,
        contract,
        changes={
            k: [None, _plain(getattr(contract, k))]
            for k in (*FACTS, "terminated_on", "termination_reason")
            if getattr(contract, k) not in (None, "")
        },
    )
    if refresh:
        _refresh_home_warnings(contract.eldercare_id)
    _touch_reports(contract, contract.start)
    return contract


def _touch_reports(contract_or_home, since: datetime.date) -> None:
    """Coverage from `since` on changes: those years' reports get a debounced recompute."""
    from assessments.recompute import touch_region, years_from

    home = getattr(contract_or_home, "eldercare", contract_or_home)
    touch_region(home.region_id, years_from(since))


@transaction.atomic
def contract_update(*, actor, contract: Contract, changes: dict, refresh: bool = True) -> Contract:
    c = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("medical", "eldercare")
        .get(pk=contract.pk)
    )
    _check(actor, "contracts.change_contract", c.eldercare)
    before = {k: getattr(c, k) for k in FACTS}
    facts = clean_facts(
        {**before, "terminated_on": c.terminated_on, **changes}, kept_services=before["services"]
    )
    _check(actor, "contracts.change_contract", facts["eldercare"])
    diff = {k: [_plain(before[k]), _plain(facts[k])] for k in FACTS if before[k] != facts[k]}
    if not diff:
        return c
    under_review = _open_filing(c, states=("submitted", "accepted"))
    if under_review is not None:
        # What the officer is deciding must stay what is recorded.
        raise ValidationError(
            f"该协议的备案申请（{under_review.reference}）正在审核中，暂不能修改；如需修改，请先撤回该申请。"
        )
    for k in FACTS:
        setattr(c, k, facts[k])
    if c.filed_on is not None:
        diff["filed_on"] = [_plain(c.filed_on), None]
        c.filed_on = None  # what was filed is not what is recorded now
    if "end" in diff:
        c.expiry_notice_for = None
    try:
        with transaction.atomic():
            c.save()
    except IntegrityError as exc:
        raise ValidationError({"agreement_no": "该医疗机构已有相同协议编号的协议。"}) from exc
    record(actor, Action.UPDATE, c, changes=diff)
    if refresh:
        _refresh_home_warnings(c.eldercare_id, before["eldercare"].pk)
    _touch_reports(c, min(c.start, before["start"]))
    if before["eldercare"].pk != c.eldercare_id:
        _touch_reports(before["eldercare"], before["start"])
    return c


@transaction.atomic
def contract_terminate(
    *, actor, contract: Contract, on: datetime.date, reason: str = "", refresh: bool = True
) -> Contract:
    c = Contract.objects.select_for_update(of=("self",)).select_related("eldercare").get(pk=contract.pk)
    _check(actor, "contracts.change_contract", c.eldercare)
    errors = rules.term_errors(c.start, c.end, on)
    if errors:
        raise ValidationError(errors)
    if c.terminated_on is not None and c.terminated_on <= on:
        raise ValidationError({"terminated_on": f"该协议已于 {c.terminated_on:%Y-%m-%d} 终止。"})
    before = c.terminated_on
    c.terminated_on, c.termination_reason = on, (reason or "").strip()[:300]
    c.save(update_fields=["terminated_on", "termination_reason", "updated_at"])
    record(
        actor,
        Action.UPDATE,
        c,
        changes={"terminated_on": [_plain(before), on.isoformat()]},
        detail={"reason": c.termination_reason},
    )
    if refresh:
        _refresh_home_warnings(c.eldercare_id)
    _touch_reports(c, on)
    return c


@transaction.atomic
def visit_record(
    *, actor, contract: Contract, date: datetime.date, persons: int | None = None, note: str = ""
) -> Visit:
    c = Contract.objects.select_related("eldercare").get(pk=contract.pk)
    _check(actor, "contracts.add_visit", c.eldercare)
    if not (c.start <= date <= c.end) or (c.terminated_on and date >= c.terminated_on):
        raise ValidationError({"date": f"巡诊日期 {date:%Y-%m-%d} 不在协议有效期内。"})
    if date > timezone.localdate():
        raise ValidationError({"date": "巡诊日期不能晚于今天。"})
    if persons is not None and persons < 0:
        raise ValidationError({"persons": "服务人次不能为负数。"})
    try:
        with transaction.atomic():
            visit = Visit.objects.create(
                contract=c,
                date=date,
                persons=persons,
                note=(note or "")[:300],
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise ValidationError({"date": f"{date:%Y-%m-%d} 已有该协议的巡诊记录。"}) from exc
    record(
        actor,
        Action.CREATE,
        visit,
        detail={"contract": c.agreement_no, "date": date.isoformat(), "persons": persons},
    )
    return visit


# -- filing (医养签约协议备案) -------------------------------------------------------------------
def _open_filing(contract: Contract, states=None):
    from eldercare.workflow.models import Filing

    qs = Filing.objects.filter(
        subject_type__app_label="contracts", subject_type__model="contract", subject_id=contract.pk
    )
    qs = (
        qs.filter(status__in=states)
        if states
        else qs.exclude(status__in=["approved", "rejected", "withdrawn"])
    )
    return qs.order_by("-pk").first()


@transaction.atomic
def contract_file(*, actor, contract: Contract):
    """A draft 医养签约协议备案 with the contract as its subject; the applicant attaches the
    signed agreement on the filing and submits it. Only a contract in force or not yet started
    is filed; one open filing per contract (the contract row is locked while checking)."""
    from eldercare.workflow import services as wf
    from eldercare.workflow.models import FilingType

    c = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("medical", "eldercare")
        .get(pk=contract.pk)
    )
    status = c.status_on(timezone.localdate())
    if status in (rules.EXPIRED, rules.TERMINATED):
        raise ValidationError(f"该协议{rules.STATUS_LABELS[status]}，不再办理备案。")
    existing = _open_filing(c)
    if existing is not None:
        raise ValidationError(f"该协议已有办理中的备案申请（{existing.reference}）。")
    ftype = FilingType.objects.get(code="contract")
    return wf.filing_create(
        actor=actor,
        type=ftype,
        subject=c,
        region=c.eldercare.region_id,
        title=f"{c.eldercare.name}与{c.medical.name}医养签约协议（{c.agreement_no}）",
    )


def on_filing_transition(*, filing, step, actor) -> None:
    """The workflow subject hook: an approved filing marks the contract 已备案 on the decision
    date (inside the decision's transaction, audited with the deciding officer)."""
    if step.to_state != "approved":
        return
    c = Contract.objects.select_for_update(of=("self",)).get(pk=filing.subject_id)
    c.filed_on = step.day
    c.save(update_fields=["filed_on", "updated_at"])
    record(
        actor,
        Action.UPDATE,
        c,
        changes={"filed_on": [None, step.day.isoformat()]},
        detail={"filing": filing.number},
    )


# -- renewals -------------------------------------------------------------------------------
def notify_expiring(*, today: datetime.date | None = None) -> int:
    """Contracts ending within 30 days: one notice per contract and end date to the township
    staff of both parties' townships and the civil affairs officers over them. Returns the
    number of contracts notified."""
    from django.urls import reverse

    from eldercare.accounts.scope import users_covering
    from eldercare.core.models import Notification

    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=rules.EXPIRING_DAYS)
    due = (
        Contract.objects.active_on(today)
        .filter(end__lte=horizon)
        .exclude(expiry_notice_for=F("end"))
        .select_related("medical", "eldercare")
    )
    count = 0
    for c in due:
        with transaction.atomic():
            locked = (
                Contract.objects.select_for_update(of=("self",), skip_locked=True).filter(pk=c.pk).first()
            )
            if locked is None or locked.expiry_notice_for == locked.end:
                continue
            users = {}
            for region in {c.eldercare.region_id, c.medical.region_id}:
                for u in users_covering(region).filter(groups__name__in=["township", "civil"]).distinct():
                    if "township" in u.roles and u.region_id[:9] != region[:9]:
                        continue  # a township hears about its own parties only
                    users[u.pk] = u
            title = f"医养签约协议即将到期：{c.eldercare.name}—{c.medical.name}"
            body = (
                f"协议编号 {c.agreement_no}，{c.end:%Y-%m-%d} 到期，请及时续签；到期后不再计入医养结合覆盖。"
            )
            link = reverse("contracts:detail", args=[c.pk])
            # The medical side's township cannot open a contract scoped by the home: its notice
            # says all there is to say, without a link.
            Notification.objects.bulk_create(
                [
                    Notification(
                        user=u,
                        title=title[:200],
                        body=body,
                        link=link if region_in_scope(u, c.eldercare.region_id) else "",
                    )
                    for u in users.values()
                ]
            )
            locked.expiry_notice_for = locked.end
            locked.save(update_fields=["expiry_notice_for"])
            count += 1
    if count:
        record(
            SYSTEM,
            Action.BULK,
            object_type="contracts.contract",
            object_repr="expiry notices",
            detail={"count": count, "day": today.isoformat()},
        )
    return count


def _refresh_home_warnings(*ids) -> None:
    """The elder-care parties' stored compliance warnings (a small home needs an active
    contract) follow their contracts."""
    from institutions.models import Institution
    from institutions.services import refresh_warning_codes

    refresh_warning_codes(Institution.objects.filter(pk__in=[i for i in ids if i]))


def refresh_warnings_for_dates(*, today: datetime.date | None = None, window_days: int = 7) -> int:
    """Nightly: homes whose contracts started, ended or were terminated in the last
    `window_days` (so a missed night is caught up) get their stored warnings recomputed — the
    date alone changes whether a small home has an active contract. Returns homes changed."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=window_days)
    moved = Contract.objects.filter(
        Q(start__gt=since, start__lte=today)
        | Q(end__gte=since - datetime.timedelta(days=1), end__lt=today)
        | Q(terminated_on__gt=since, terminated_on__lte=today)
    ).values_list("eldercare_id", flat=True)
    from institutions.models import Institution
    from institutions.services import refresh_warning_codes

    return refresh_warning_codes(Institution.objects.filter(pk__in=list(set(moved))))
