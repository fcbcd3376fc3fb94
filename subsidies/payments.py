"""Installments, payments, reversals, recoveries and the budget (DOMAIN.md §6, issue 6).

Every write here is atomic, scoped to the institution's region (the budget's county) and
audited; refusals of money writes are audited too (result denied), after their transaction
has rolled back.

- `schedule_installments`: an approved decision's schedule ([{"due_year", "amount"}], amounts as
  strings of yuan) becomes `Installment` rows, once (a second call creates nothing).
- `payment_record`: finance pays one installment, exactly its amount, once. The installment row
  is locked (`select_for_update`), so two officers paying at once are served one after the
  other and the second is told 「该期补助已拨付，不能重复拨付」; the partial unique index
  `payment_once_per_installment` (one live payment per installment) has the last word.
- The ledger is signed: every `Payment` row is money flowing from the county to the institution.
  A payment is positive; its reversal carries the negated amount (and marks the payment not
  live, the installment back to 待拨付); a recovery (追回) is negative. So the net paid of an
  installment, an institution or a year is one `Sum("amount")`, and nothing is ever edited or
  deleted: a wrong payment stays visible next to its reversal.
- Paid by year: each row counts in the year of its own date (`paid_on`) — a payment made in 2025
  and reversed in 2026 shows +x in 2025 and −x in 2026, so a closed year's figures never change
  afterwards (the books of 2025 stay as reported).
- Funding source (002 §三(一) last sentence, "除争取上级补助外，其余由县财政统筹保障"): each
  payment names 上级补助 or 县财政; a reversal and a recovery take the source of the payment they
  undo. Money not yet paid (committed, future) has no source yet — it is chosen when paying — so
  the liability table shows budget and paid per source and the obligations once.
- `reconcile_schedule`: after a correction (a decision superseding one whose schedule has
  installments), finance stops the old installments not yet paid, schedules the rest of the
  corrected amounts and flags what was paid beyond them for recovery; once done, a second call
  writes nothing (the page's 「按更正后的决定调整拨付计划」 button).
- `stop_remaining`: an institution that closes before its committed years has its remaining
  installments stopped and what was paid flagged for recovery (`recovery_cases` lists them); the
  nightly `subsidies.stop_installments_of_closed` does it for every closure (`closures_to_act_on`).
"""

from __future__ import annotations

import datetime
import io
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from eldercare.accounts.scope import SYSTEM, region_in_scope, scope_queryset
from eldercare.audit.models import Action, Result
from eldercare.audit.services import diff, record, snapshot
from eldercare.core.exports import neutralise
from eldercare.regions import codes
from institutions.enums import Status as InstitutionStatus

from .models import Application, Budget, Decision, FundingSource, Installment, Payment

log = logging.getLogger(__name__)

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
RECORD_PAYMENT = "subsidies.record_payment"
DOUBLE_PAYMENT = "该期补助已拨付，不能重复拨付。"
PAYMENT_FIELDS = [
    "installment",
    "kind",
    "paid_on",
    "amount",
    "voucher_no",
    "payee_account",
    "funding_source",
    "reverses",
    "live",
]
INSTALLMENT_FIELDS = ["application", "decision", "due_year", "amount", "status", "recovery_flag", "note"]
MAX_YEARS = 30  # a liability table spans at most this many years


# -- helpers ------------------------------------------------------------------------------------
def money(value, field: str = "amount") -> Decimal:
    """A Decimal amount of yuan, exact to the fen; a float's binary noise ("0.30000000000000004")
    or a third decimal is refused rather than rounded."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError({field: "请填写金额。"})
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: f"金额“{value}”格式不正确。"}) from exc
    if not d.is_finite() or d != d.quantize(FEN):
        raise ValidationError({field: "金额应以元为单位，精确到分（最多两位小数）。"})
    return d.quantize(FEN)


def _day(value, field: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValidationError({field: "日期格式应为 YYYY-MM-DD。"}) from exc
    if not isinstance(value, datetime.date):
        raise ValidationError({field: "请填写日期。"})
    if value > timezone.localdate():
        raise ValidationError({field: "日期不能晚于今天。"})
    return value


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _check_money_writer(actor, region_code: str) -> None:
    """Payments, reversals and recoveries are recorded by a finance officer in person."""
    if _user(actor) is None:
        raise PermissionDenied("补助拨付须由财政部门工作人员本人登记。")
    if not actor.has_perm(RECORD_PAYMENT):
        raise PermissionDenied("您没有登记补助拨付的权限。")
    if not region_in_scope(actor, region_code):
        raise PermissionDenied("该机构不在您的管辖范围内。")


def _locked_installment(pk) -> Installment:
    try:
        return (
            Installment.objects.select_for_update(of=("self",))
            .select_related("application__institution")
            .get(pk=getattr(pk, "pk", pk))
        )
    except Installment.DoesNotExist as exc:
        raise ValidationError("该期补助不存在。") from exc


def _messages(exc) -> str:
    return "；".join(getattr(exc, "messages", None) or [str(exc)])


def _audit_refusal(actor, operation: str, object_type: str, object_id, exc, detail: dict | None = None):
    record(
        actor,
        Action.CREATE,
        object_type=object_type,
        object_id=str(getattr(object_id, "pk", object_id) or ""),
        result=Result.DENIED,
        detail={"operation": operation, "reason": _messages(exc)[:300], **(detail or {})},
    )


def _source(value) -> str:
    if value not in FundingSource.values:
        raise ValidationError({"funding_source": "资金来源应为：" + "、".join(FundingSource.labels) + "。"})
    return value


def _save_ledger_row(row: Payment, voucher_no: str) -> None:
    """Insert inside a savepoint: a unique index's refusal becomes a Chinese message and the
    caller's transaction stays usable."""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        text = str(exc)
        if "payment_voucher_unique" in text or "voucher_no" in text:
            raise ValidationError(
                {"voucher_no": f"凭证号“{voucher_no}”已登记过{row.get_kind_display()}，请核对。"}
            ) from exc
        if row.kind == Payment.Kind.REVERSAL:
            raise ValidationError("该笔拨付已冲销，不能重复冲销。") from exc
        # payment_once_per_installment: one live payment per installment, whatever the locks.
        raise ValidationError(DOUBLE_PAYMENT) from exc


def net_paid(installment) -> Decimal:
    """What the institution holds of this installment: payments − reversals − recoveries."""
    return Payment.objects.filter(installment=installment).aggregate(s=Sum("amount"))["s"] or ZERO


# -- the schedule -------------------------------------------------------------------------------
def _clean_schedule(decision: Decision) -> list[tuple[int, Decimal]]:
    if not decision.schedule:
        raise ValidationError("该核定结果没有拨付计划。")
    out, seen = [], set()
    for item in decision.schedule:
        try:
            year = int(item["due_year"])
            amount = money(item["amount"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"拨付计划格式不正确：{item}。") from exc
        if amount <= 0 or year in seen or not 2000 <= year <= 2100:
            raise ValidationError(f"拨付计划不正确：{item}。")
        seen.add(year)
        out.append((year, amount))
    total = sum((a for _y, a in out), ZERO)
    if total != decision.amount:
        raise ValidationError(f"拨付计划合计 {total} 元与核定金额 {decision.amount} 元不一致。")
    return sorted(out)


@transaction.atomic
def schedule_installments(*, decision: Decision, actor=None) -> list[Installment]:
    """The installments of an approved decision, created once: a second call returns the
    existing rows and creates nothing. `actor`: who approved (the audit's author; the system
    if not given). Refused for a decision that is not eligible or has been superseded, and when
    the application already has installments from another decision (a correction after
    approval: finance reconciles the old schedule first)."""
    actor = actor or SYSTEM
    d = Decision.objects.select_for_update(of=("self",)).select_related("application").get(pk=decision.pk)
    existing = list(Installment.objects.filter(decision=d).order_by("due_year"))
    if existing:
        return existing
    if d.eligible is not True:
        raise ValidationError("不符合补助条件的核定结果不能生成拨付计划。")
    if Decision.objects.filter(supersedes=d).exists():
        raise ValidationError("该核定结果已被更正，不能按它生成拨付计划。")
    other = Installment.objects.filter(application_id=d.application_id).exclude(decision=d).first()
    if other is not None:
        raise ValidationError(
            f"该申请已有按核定结果 #{other.decision_id} 生成的拨付计划；更正后的拨付计划须先由财政部门核对原计划。"
        )
    rows = []
    for year, amount in _clean_schedule(d):
        inst = Installment.objects.create(
            application_id=d.application_id, decision=d, due_year=year, amount=amount
        )
        record(
            actor, Action.CREATE, inst, changes=snapshot(inst, INSTALLMENT_FIELDS), detail={"decision": d.pk}
        )
        rows.append(inst)
    return rows


@dataclass
class Reconciliation:
    """What reconciling a schedule after a correction did (or, planned only, would do)."""

    stopped: list[Installment] = field(default_factory=list)  # old installments not yet paid
    created: list[Installment] = field(default_factory=list)  # rescheduled by the current decision
    flagged: list[tuple[Installment, Decimal]] = field(default_factory=list)  # (paid, the excess)
    # paid installments an earlier reconciliation flagged, paid no more than a later correction
    # grants: the flag is lifted
    unflagged: list[Installment] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.stopped or self.created or self.flagged or self.unflagged)


def _current_decision(app: Application) -> Decision | None:
    return app.decisions.filter(superseded_by__isnull=True).order_by("-created_at", "-id").first()


def _stop_note(current: Decision) -> str:
    return f"核定更正后停止（按核定 #{current.pk} 重新安排）"


EXCESS_NOTE = "核定更正后多拨"


def _excess_note(excess: Decimal) -> str:
    return f"{EXCESS_NOTE} {excess} 元，待追回"


def _reconcile_plan(
    current: Decision | None, old: list[Installment], new: list[Installment]
) -> Reconciliation:
    """Nothing written: the old installments to stop, the paid ones to flag (with the excess)
    and the installments of the current decision to create (unsaved). `new`: the current
    decision's installments already there (a reconciliation done before), so planning again
    after it plans nothing."""
    plan = Reconciliation()
    paid_by_year: dict[int, Decimal] = {}
    for inst in old:
        if inst.status == Installment.Status.SCHEDULED:
            plan.stopped.append(inst)
            continue
        net = sum((p.amount for p in inst.payments.all()), ZERO)  # prefetched
        if net > 0:
            paid_by_year[inst.due_year] = paid_by_year.get(inst.due_year, ZERO) + net
    wanted = dict(_clean_schedule(current)) if current is not None and current.eligible else {}
    for year, net in sorted(paid_by_year.items()):
        excess = net - wanted.get(year, ZERO)
        paid = [i for i in old if i.due_year == year and i.status == Installment.Status.PAID]
        if excess <= 0:
            plan.unflagged += [i for i in paid if i.recovery_flag and i.note.startswith(EXCESS_NOTE)]
            continue
        inst = paid[0] if paid else None
        if inst is not None and not (inst.recovery_flag and inst.note == _excess_note(excess)):
            plan.flagged.append((inst, excess))
    have = {i.due_year for i in new}
    for year, amount in sorted(wanted.items()):
        rest = amount - paid_by_year.get(year, ZERO)
        if rest > 0 and year not in have:
            plan.created.append(
                Installment(
                    application_id=current.application_id, decision=current, due_year=year, amount=rest
                )
            )
    return plan


def _reconcile_inputs(app: Application, *, lock: bool):
    current = _current_decision(app)
    qs = Installment.objects.filter(application=app).order_by("due_year", "id")
    if lock:
        qs = qs.select_for_update(of=("self",))
    rows = list(qs.prefetch_related("payments"))
    if current is None:
        return None, rows, []
    return (
        current,
        [i for i in rows if i.decision_id != current.pk],
        [i for i in rows if i.decision_id == current.pk],
    )


def reconciliation_pending(application) -> Reconciliation | None:
    """For the application page: None when there is no schedule of an older decision to
    reconcile; else what `reconcile_schedule` would do now (`.changed` False: done already)."""
    current, old, new = _reconcile_inputs(application, lock=False)
    if not old:
        return None
    try:
        return _reconcile_plan(current, old, new)
    except ValidationError:
        return Reconciliation()  # a malformed schedule: the button's own call explains it


def reconcile_schedule(*, actor, application) -> Reconciliation:
    """After a correction (`services.decision_correct`), finance brings the schedule in line with
    the current decision: installments of superseded decisions not yet paid are stopped; for each
    year of the current decision's schedule what was already paid that year (net, on the old
    installments) is deducted and the rest scheduled; a year already paid beyond the new amount
    flags that payment's installment for recovery of the difference (and a flag an earlier
    reconciliation set is lifted when a later correction grants what was paid). A current
    decision that is not eligible stops everything unpaid and flags everything paid. Idempotent:
    once done, a second call writes nothing (`.changed` False). Every write audited; a refusal
    too."""
    try:
        return _reconcile_schedule(actor=actor, pk=getattr(application, "pk", application))
    except (ValidationError, PermissionDenied) as exc:
        _audit_refusal(actor, "reconcile", "subsidies.application", application, exc)
        raise


@transaction.atomic
def _reconcile_schedule(*, actor, pk) -> Reconciliation:
    app = Application.objects.select_for_update(of=("self",)).select_related("institution").get(pk=pk)
    _check_money_writer(actor, app.institution.region_id)
    current, old, new = _reconcile_inputs(app, lock=True)
    if not old:
        raise ValidationError("该申请没有需要核对的原拨付计划。")
    plan = _reconcile_plan(current, old, new)
    for inst in plan.stopped:
        inst.status, inst.note = Installment.Status.STOPPED, _stop_note(current)
        inst.save(update_fields=["status", "note"])
        record(
            actor,
            Action.UPDATE,
            inst,
            changes={"status": ["scheduled", "stopped"]},
            detail={"reconcile": current.pk},
        )
    for inst, excess in plan.flagged:
        before = snapshot(inst, ["recovery_flag", "note"])
        inst.recovery_flag, inst.note = True, _excess_note(excess)
        inst.save(update_fields=["recovery_flag", "note"])
        record(
            actor,
            Action.UPDATE,
            inst,
            changes=diff(before, snapshot(inst, ["recovery_flag", "note"])),
            detail={"reconcile": current.pk, "excess": str(excess)},
        )
    for inst in plan.unflagged:
        before = snapshot(inst, ["recovery_flag", "note"])
        inst.recovery_flag, inst.note = False, f"核定 #{current.pk} 更正后不再多拨，取消追回"
        inst.save(update_fields=["recovery_flag", "note"])
        record(
            actor,
            Action.UPDATE,
            inst,
            changes=diff(before, snapshot(inst, ["recovery_flag", "note"])),
            detail={"reconcile": current.pk},
        )
    for inst in plan.created:
        inst.save()
        record(
            actor,
            Action.CREATE,
            inst,
            changes=snapshot(inst, INSTALLMENT_FIELDS),
            detail={"reconcile": current.pk},
        )
    return plan


def reconcile_after_correction(*, actor, application) -> list[Installment]:
    """`reconcile_schedule`, returning the new installments only (the API's and the tests' older
    call)."""
    return reconcile_schedule(actor=actor, application=application).created


# -- payments -----------------------------------------------------------------------------------
def payment_record(
    *, actor, installment, paid_on, amount, voucher_no, payee_account, funding_source
) -> Payment:
    """Pay one installment (an object or its id): exactly its amount, once."""
    try:
        return _payment_record(
            actor=actor,
            pk=getattr(installment, "pk", installment),
            paid_on=paid_on,
            amount=amount,
            voucher_no=voucher_no,
            payee_account=payee_account,
            funding_source=funding_source,
        )
    except (ValidationError, PermissionDenied) as exc:
        _audit_refusal(
            actor,
            "payment",
            "subsidies.installment",
            installment,
            exc,
            {"voucher_no": str(voucher_no or "")[:60]},
        )
        raise


def _superseded(inst: Installment) -> bool:
    return Decision.objects.filter(supersedes_id=inst.decision_id).exists()


@transaction.atomic
def _payment_record(*, actor, pk, paid_on, amount, voucher_no, payee_account, funding_source) -> Payment:
    inst = _locked_installment(pk)
    app = inst.application
    _check_money_writer(actor, app.institution.region_id)
    if inst.status == Installment.Status.PAID:
        raise ValidationError(DOUBLE_PAYMENT)
    if inst.status == Installment.Status.STOPPED:
        raise ValidationError(
            f"该期补助已停止拨付{('（' + inst.note + '）') if inst.note else ''}，不能拨付。"
        )
    if app.institution.status == InstitutionStatus.CLOSED:
        when = f"于 {app.institution.status_date:%Y-%m-%d} " if app.institution.status_date else ""
        raise ValidationError(f"{app.institution.name}已{when}注销，剩余补助应停止拨付，不能拨付。")
    if _superseded(inst):
        raise ValidationError("该期补助所依据的核定已被更正，须先由财政部门核对原拨付计划，暂不能拨付。")
    errors = {}
    amount = money(amount)
    if amount != inst.amount:
        errors["amount"] = f"拨付金额应等于本期核定金额 {inst.amount} 元（填写的是 {amount} 元）。"
    paid_on = _day(paid_on, "paid_on")
    if paid_on.year < inst.due_year:
        errors["paid_on"] = f"本期补助应于 {inst.due_year} 年度拨付，不能提前拨付。"
    elif paid_on < app.application_date:
        errors["paid_on"] = f"拨付日期不能早于申请日期 {app.application_date:%Y-%m-%d}。"
    voucher_no = (voucher_no or "").strip()
    if not voucher_no:
        errors["voucher_no"] = "请填写凭证号。"
    payee_account = (payee_account or "").strip()
    if not payee_account:
        errors["payee_account"] = "请填写收款账号。"
    try:
        funding_source = _source(funding_source)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    payment = Payment(
        installment=inst,
        kind=Payment.Kind.PAYMENT,
        paid_on=paid_on,
        amount=amount,
        voucher_no=voucher_no[:60],
        payee_account=payee_account[:60],
        funding_source=funding_source,
        created_by=actor,
    )
    _save_ledger_row(payment, voucher_no)
    before = snapshot(inst, ["status"])
    inst.status = Installment.Status.PAID
    inst.save(update_fields=["status"])
    record(
        actor,
        Action.CREATE,
        payment,
        changes=snapshot(payment, PAYMENT_FIELDS),
        detail={"application": app.pk},
    )
    record(
        actor,
        Action.UPDATE,
        inst,
        changes=diff(before, snapshot(inst, ["status"])),
        detail={"payment": payment.pk},
    )
    return payment


def payment_reverse(*, actor, payment, on, voucher_no, reason) -> Payment:
    """Reverse a wrong payment (冲销): a reversal row with the negated amount, dated `on`; the
    payment is no longer live and its installment can be paid again (or stays stopped, if the
    case was stopped meanwhile)."""
    try:
        return _payment_reverse(
            actor=actor, pk=getattr(payment, "pk", payment), on=on, voucher_no=voucher_no, reason=reason
        )
    except (ValidationError, PermissionDenied) as exc:
        _audit_refusal(actor, "reversal", "subsidies.payment", payment, exc)
        raise


@transaction.atomic
def _payment_reverse(*, actor, pk, on, voucher_no, reason) -> Payment:
    try:
        installment_id = Payment.objects.values_list("installment_id", flat=True).get(pk=pk)
    except Payment.DoesNotExist as exc:
        raise ValidationError("该拨付记录不存在。") from exc
    inst = _locked_installment(installment_id)  # the same lock order as paying: installment first
    app = inst.application
    _check_money_writer(actor, app.institution.region_id)
    pay = Payment.objects.select_for_update().get(pk=pk)
    if pay.kind != Payment.Kind.PAYMENT:
        raise ValidationError("只能冲销拨付记录。")
    if not pay.live:
        raise ValidationError("该笔拨付已冲销，不能重复冲销。")
    if inst.payments.filter(kind=Payment.Kind.RECOVERY).exists():
        raise ValidationError("该期补助已有追回记录，不能再冲销拨付；如有差错请登记追回。")
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "请说明冲销理由。"
    on = _day(on, "on")
    if on < pay.paid_on:
        errors["on"] = f"冲销日期不能早于拨付日期 {pay.paid_on:%Y-%m-%d}。"
    voucher_no = (voucher_no or "").strip()
    if not voucher_no:
        errors["voucher_no"] = "请填写冲销凭证号。"
    if errors:
        raise ValidationError(errors)
    reversal = Payment(
        installment=inst,
        kind=Payment.Kind.REVERSAL,
        paid_on=on,
        amount=-pay.amount,
        voucher_no=voucher_no[:60],
        payee_account=pay.payee_account,
        funding_source=pay.funding_source,
        reverses=pay,
        created_by=actor,
    )
    _save_ledger_row(reversal, voucher_no)
    pay.live = False
    pay.save(update_fields=["live"])
    before = snapshot(inst, ["status", "recovery_flag", "note"])
    stopped_case = inst.application.installments.filter(status=Installment.Status.STOPPED).exists()
    inst.status = Installment.Status.STOPPED if stopped_case else Installment.Status.SCHEDULED
    inst.recovery_flag = False  # what was reversed was never the institution's to give back
    inst.note = f"{on:%Y-%m-%d} 冲销拨付（凭证 {pay.voucher_no}）：{reason}"[:300]
    inst.save(update_fields=["status", "recovery_flag", "note"])
    record(
        actor,
        Action.CREATE,
        reversal,
        changes=snapshot(reversal, PAYMENT_FIELDS),
        detail={"reason": reason[:300], "reverses": pay.pk},
    )
    record(actor, Action.UPDATE, pay, changes={"live": [True, False]}, detail={"reversed_by": reversal.pk})
    record(
        actor, Action.UPDATE, inst, changes=diff(before, snapshot(inst, ["status", "recovery_flag", "note"]))
    )
    return reversal


def recovery_record(*, actor, installment, on, amount, voucher_no) -> Payment:
    """Money recovered from the institution (追回), at most what it still holds of the installment;
    stored negative, in the source of the payment it recovers."""
    try:
        return _recovery_record(
            actor=actor,
            pk=getattr(installment, "pk", installment),
            on=on,
            amount=amount,
            voucher_no=voucher_no,
        )
    except (ValidationError, PermissionDenied) as exc:
        _audit_refusal(actor, "recovery", "subsidies.installment", installment, exc)
        raise


@transaction.atomic
def _recovery_record(*, actor, pk, on, amount, voucher_no) -> Payment:
    inst = _locked_installment(pk)
    app = inst.application
    _check_money_writer(actor, app.institution.region_id)
    live = inst.payments.filter(kind=Payment.Kind.PAYMENT, live=True).first()
    held = net_paid(inst)
    if live is None or held <= 0:
        raise ValidationError("该期补助没有已拨付未追回的款项，无可追回。")
    errors = {}
    amount = money(amount)
    if amount <= 0:
        errors["amount"] = "追回金额应大于零。"
    elif amount > held:
        errors["amount"] = f"追回金额不能超过已拨付未追回的 {held} 元。"
    on = _day(on, "on")
    if on < live.paid_on:
        errors["on"] = f"追回日期不能早于拨付日期 {live.paid_on:%Y-%m-%d}。"
    voucher_no = (voucher_no or "").strip()
    if not voucher_no:
        errors["voucher_no"] = "请填写追回凭证号。"
    if errors:
        raise ValidationError(errors)
    recovery = Payment(
        installment=inst,
        kind=Payment.Kind.RECOVERY,
        paid_on=on,
        amount=-amount,
        voucher_no=voucher_no[:60],
        payee_account=live.payee_account,
        funding_source=live.funding_source,
        created_by=actor,
    )
    _save_ledger_row(recovery, voucher_no)
    record(
        actor,
        Action.CREATE,
        recovery,
        changes=snapshot(recovery, PAYMENT_FIELDS),
        detail={"held_before": held, "held_after": held - amount},
    )
    return recovery


# -- closures -----------------------------------------------------------------------------------
def commitment_end(application: Application, installments=None) -> datetime.date | None:
    """The day the institution's commitment ends: the operating commitment (application date +
    committed years) if recorded, else the end of a multi-year schedule (the rented branch's five
    installments); None for a single payment without a commitment (改建, 运营)."""
    if application.committed_years:
        return _add_years(application.application_date, application.committed_years)
    years = {
        i.due_year for i in (installments if installments is not None else application.installments.all())
    }
    if len(years) > 1:
        return datetime.date(max(years) + 1, 1, 1)
    return None


@transaction.atomic
def stop_remaining(*, actor, application, on, reason: str) -> dict:
    """An institution closing (on `on`) before its committed years: the installments still to
    be paid are stopped, and those paid are flagged for recovery when `on` falls before the
    commitment's end (`commitment_end`). Idempotent: nothing left to do, nothing written.
    Returns {"stopped": [ids], "flagged": [ids]}."""
    app = (
        Application.objects.select_for_update(of=("self",))
        .select_related("institution")
        .get(pk=getattr(application, "pk", application))
    )
    if actor is not SYSTEM:
        _check_money_writer(actor, app.institution.region_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请说明停止拨付的理由。"})
    if isinstance(on, datetime.datetime):
        on = on.date()
    insts = list(Installment.objects.select_for_update().filter(application=app).order_by("due_year"))
    end = commitment_end(app, insts)
    done = {"stopped": [], "flagged": []}
    for inst in insts:
        before = snapshot(inst, ["status", "recovery_flag", "note"])
        if inst.status == Installment.Status.SCHEDULED:
            inst.status = Installment.Status.STOPPED
            inst.note = f"{on:%Y-%m-%d} 停止拨付：{reason}"[:300]
            done["stopped"].append(inst.pk)
        elif (
            inst.status == Installment.Status.PAID and not inst.recovery_flag and end is not None and on < end
        ):
            inst.recovery_flag = True
            inst.note = f"{on:%Y-%m-%d} 未满承诺期限（至 {end:%Y-%m-%d}），列入追回：{reason}"[:300]
            done["flagged"].append(inst.pk)
        else:
            continue
        inst.save(update_fields=["status", "recovery_flag", "note"])
        record(
            actor,
            Action.UPDATE,
            inst,
            changes=diff(before, snapshot(inst, ["status", "recovery_flag", "note"])),
            detail={"operation": "stop_remaining", "on": on, "reason": reason[:300], "commitment_end": end},
        )
    return done


def closures_to_act_on(today: datetime.date | None = None) -> list[Application]:
    """Applications of institutions closed (注销) on or before `today` that still have
    installments to stop, or paid installments not yet flagged although the closure fell before
    the commitment's end. Each carries its institution (`.institution.status_date` is the
    closure date)."""
    today = today or timezone.localdate()
    closed = Q(institution__status=InstitutionStatus.CLOSED) & (
        Q(institution__status_date__isnull=True) | Q(institution__status_date__lte=today)
    )
    pending = Q(installments__status=Installment.Status.SCHEDULED) | Q(
        installments__status=Installment.Status.PAID, installments__recovery_flag=False
    )
    apps = (
        Application.objects.filter(closed)
        .filter(pending)
        .distinct()
        .select_related("institution")
        .prefetch_related("installments")
        .order_by("institution_id", "id")
    )
    out = []
    for app in apps:
        insts = list(app.installments.all())
        if any(i.status == Installment.Status.SCHEDULED for i in insts):
            out.append(app)
            continue
        end = commitment_end(app, insts)
        on = app.institution.status_date or today
        if end is not None and on < end:
            out.append(app)
    return out


def stop_for_closures(today: datetime.date | None = None) -> int:
    """The nightly task's body: `stop_remaining` (as the system) for every closure to act on,
    each in its own transaction. Returns the number of applications changed."""
    today = today or timezone.localdate()
    changed = 0
    for app in closures_to_act_on(today):
        on = app.institution.status_date or today
        try:
            done = stop_remaining(
                actor=SYSTEM, application=app, on=on, reason=f"{app.institution.name}已于 {on:%Y-%m-%d} 注销"
            )
        except Exception:  # one bad case must not keep the others from being stopped
            log.exception("stop_remaining failed for application %s", app.pk)
            continue
        changed += bool(done["stopped"] or done["flagged"])
    return changed


def recovery_cases(*, actor, region=None):
    """Installments flagged for recovery in the actor's scope, with what the institution still
    holds (`held`: payments − reversals − recoveries) — the cases finance follows up."""
    qs = (
        Installment.objects.filter(recovery_flag=True)
        .select_related("application__institution")
        .annotate(held=Sum("payments__amount"))
        .order_by("application__institution__name", "application_id", "due_year")
    )
    return scope_queryset(qs, actor, region=region)


# -- budget -------------------------------------------------------------------------------------
def _county_code(region) -> str:
    code = getattr(region, "code", region)
    if not isinstance(code, str) or codes.level_of(code) != codes.COUNTY:
        raise ValidationError({"region": "预算按县（市、区）编制，请选择县级区划。"})
    return code


@transaction.atomic
def budget_set(*, actor, region, year: int, funding_source: str, amount) -> Budget:
    """Set the year's budget of a county for one funding source (create or change)."""
    code = _county_code(region)
    if actor is not SYSTEM:
        if not (actor.has_perm("subsidies.add_budget") and actor.has_perm("subsidies.change_budget")):
            raise PermissionDenied("您没有编制补助预算的权限。")
        if not region_in_scope(actor, code):
            raise PermissionDenied("该县（区）不在您的管辖范围内。")
    try:
        year = int(year)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"year": "年度应为四位数字。"}) from exc
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": "年度应为四位数字。"})
    funding_source = _source(funding_source)
    amount = money(amount)
    if amount < 0:
        raise ValidationError({"amount": "预算金额不能为负数。"})
    budget = (
        Budget.objects.select_for_update()
        .filter(region_id=code, year=year, funding_source=funding_source)
        .first()
    )
    if budget is None:
        budget = Budget(region_id=code, year=year, funding_source=funding_source, amount=amount)
        try:
            with transaction.atomic():
                budget.save()
        except IntegrityError:  # created meanwhile by another officer: change that one
            budget = Budget.objects.select_for_update().get(
                region_id=code, year=year, funding_source=funding_source
            )
        else:
            record(
                actor,
                Action.CREATE,
                budget,
                changes=snapshot(budget, ["region", "year", "funding_source", "amount"]),
            )
            return budget
    if budget.amount != amount:
        old = budget.amount
        budget.amount = amount
        budget.save(update_fields=["amount", "updated_at"])
        record(actor, Action.UPDATE, budget, changes={"amount": [str(old), str(amount)]})
    return budget


# -- liabilities --------------------------------------------------------------------------------
COLUMNS = [
    ("year", "年度"),
    ("budget_higher", "预算·上级补助"),
    ("budget_county", "预算·县财政"),
    ("budget_total", "预算合计"),
    ("paid_higher", "已拨付·上级补助"),
    ("paid_county", "已拨付·县财政"),
    ("paid_total", "已拨付合计"),
    ("arrears", "以前年度欠拨"),
    ("committed", "当年应拨未拨"),
    ("future", "以后年度应拨"),
    ("balance", "预算结余"),
]
EXPLANATION = (
    "口径：已拨付＝当年拨付 − 当年冲销 − 当年追回（按各笔记录的日期计入年度，已报年度的数字不因以后的冲销而改变）；"
    "当年应拨未拨＝已批准、计划于当年拨付而尚未拨付的各期补助（含以前年度批准的分期）；"
    "以前年度欠拨＝计划于以前年度拨付、至今仍未拨付的各期补助（仍须从当年起拨付；今后各年按如期拨付预测，不再重复计入）；"
    "以后年度应拨＝计划于以后年度拨付的各期补助（如租用场地新建床位的五年分期；以前年度只计当年年底前已申请的补助）；"
    "尚未拨付的款项在拨付时确定资金来源，故只列合计；预算结余＝预算合计 − 已拨付合计 − 以前年度欠拨 − 当年应拨未拨。"
)


def _years(years) -> list[int]:
    try:
        out = sorted({int(y) for y in years})
    except (TypeError, ValueError) as exc:
        raise ValidationError({"years": "年度应为四位数字。"}) from exc
    if not out or not 2000 <= out[0] <= out[-1] <= 2100:
        raise ValidationError({"years": "请选择 2000—2100 之间的年度。"})
    if len(out) > MAX_YEARS:
        raise ValidationError({"years": f"一次最多统计 {MAX_YEARS} 个年度。"})
    return out


def _view_region(actor, region) -> str:
    code = getattr(region, "code", region)
    if not isinstance(code, str) or codes.level_of(code) > codes.COUNTY:
        raise ValidationError({"region": "预算按县（市、区）编制，请选择县级或以上区划。"})
    if actor is not SYSTEM:
        if not actor.has_perm("subsidies.view_budget"):
            raise PermissionDenied("您没有查看补助预算的权限。")
        if not region_in_scope(actor, code):
            raise PermissionDenied("该区划不在您的管辖范围内。")
    return code


def liabilities(*, actor, region, years) -> list[dict]:
    """Per year: the budget and the paid (net) per funding source, what is due that year and not
    yet paid (committed), what is scheduled for later years (future) and the balance — three
    aggregate queries (Sum with filter=Q), whatever the number of applications. Amounts are
    Decimal; see EXPLANATION for the rules."""
    code = _view_region(actor, region)
    years = _years(years)
    sources = (FundingSource.HIGHER.value, FundingSource.COUNTY.value)
    first, last = years[0], years[-1]
    this_year = timezone.localdate().year

    budgets = scope_queryset(Budget.objects.filter(year__in=years), actor, region=code).aggregate(
        **{f"b{y}_{s}": Sum("amount", filter=Q(year=y, funding_source=s)) for y in years for s in sources}
    )
    paid = scope_queryset(
        Payment.objects.filter(
            paid_on__gte=datetime.date(first, 1, 1), paid_on__lt=datetime.date(last + 1, 1, 1)
        ),
        actor,
        region=code,
    ).aggregate(
        **{
            f"p{y}_{s}": Sum(
                "amount",
                filter=Q(
                    paid_on__gte=datetime.date(y, 1, 1),
                    paid_on__lt=datetime.date(y + 1, 1, 1),
                    funding_source=s,
                ),
            )
            for y in years
            for s in sources
        }
    )
    due = scope_queryset(
        Installment.objects.filter(status=Installment.Status.SCHEDULED),
        actor,
        region=code,
    ).aggregate(
        # Arrears are known up to this year; a later year is projected with every installment
        # paid on time (no arrears), so one overdue installment is not counted again each year.
        **{f"a{y}": Sum("amount", filter=Q(due_year__lt=y)) for y in years if y <= this_year},
        **{f"c{y}": Sum("amount", filter=Q(due_year=y)) for y in years},
        # A past year's later liabilities are those of applications already made by its end.
        **{
            f"f{y}": Sum(
                "amount",
                filter=Q(due_year__gt=y, application__application_date__lte=datetime.date(y, 12, 31)),
            )
            for y in years
        },
    )

    def v(d, key):
        return d.get(key) or ZERO

    rows = []
    for y in years:
        row = {"year": y}
        for s in sources:
            row[f"budget_{s}"] = v(budgets, f"b{y}_{s}")
            row[f"paid_{s}"] = v(paid, f"p{y}_{s}")
        row["budget_total"] = row["budget_higher"] + row["budget_county"]
        row["paid_total"] = row["paid_higher"] + row["paid_county"]
        # Arrears: installments due before year y and still unpaid today (an overdue one must
        # not vanish from the table — it is paid out of a later year's money).
        row["arrears"] = v(due, f"a{y}")
        row["committed"] = v(due, f"c{y}")
        row["future"] = v(due, f"f{y}")
        row["balance"] = row["budget_total"] - row["paid_total"] - row["arrears"] - row["committed"]
        rows.append(row)
    return rows


def liabilities_chart(rows: list[dict]) -> dict:
    """The chart's data (amounts as strings of yuan, as the table shows them)."""
    return {
        "years": [str(r["year"]) for r in rows],
        "series": {
            key: [str(r[key]) for r in rows]
            for key in ("paid_higher", "paid_county", "committed", "budget_total")
        },
        "labels": {
            "paid_higher": "已拨付·上级补助",
            "paid_county": "已拨付·县财政",
            "committed": "当年应拨未拨",
            "budget_total": "预算合计",
        },
    }


def _detail_rows(actor, code: str, years: list[int]):
    qs = scope_queryset(
        Installment.objects.filter(due_year__gte=years[0], due_year__lte=years[-1]),
        actor,
        region=code,
    )
    qs = (
        qs.select_related("application__institution")
        .annotate(held=Sum("payments__amount"))
        .order_by(
            "application__institution__region_id",
            "application__institution__name",
            "application_id",
            "due_year",
        )
    )
    status = dict(Installment.Status.choices)
    for i in qs:
        app = i.application
        yield [
            app.institution.name,
            app.institution.credit_code or app.institution.portal_no or "",
            app.get_rule_display(),
            app.application_date.isoformat(),
            i.due_year,
            i.amount,
            status.get(i.status, i.status),
            i.held or ZERO,
            "是" if i.recovery_flag else "",
            i.note,
        ]


def liabilities_xlsx(*, actor, region, years) -> bytes:
    """The liability table (and the installments behind it) as a workbook for finance; text
    cells formula-neutralised (eldercare/core/exports.py), the export audited."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    code = _view_region(actor, region)
    years = _years(years)
    rows = liabilities(actor=actor, region=code, years=years)
    wb = Workbook()
    ws = wb.active
    ws.title = "补助资金预算与拨付"
    bold = Font(bold=True)
    ws.append([neutralise(label) for _key, label in COLUMNS])
    for cell in ws[1]:
        cell.font = bold
    for r in rows:
        ws.append([r[key] for key, _label in COLUMNS])
    for row in ws.iter_rows(min_row=2, min_col=2):
        for cell in row:
            cell.number_format = "#,##0.00"
    ws.append([])
    ws.append([neutralise(EXPLANATION)])
    ws.column_dimensions["A"].width = 8
    for letter in "BCDEFGHIJ":
        ws.column_dimensions[letter].width = 16

    detail = wb.create_sheet("拨付计划明细")
    header = [
        "机构",
        "统一社会信用代码/系统编号",
        "补助项目",
        "申请日期",
        "计划年度",
        "本期金额",
        "状态",
        "已拨付净额",
        "追回",
        "备注",
    ]
    detail.append([neutralise(h) for h in header])
    for cell in detail[1]:
        cell.font = bold
    count = 0
    for values in _detail_rows(actor, code, years):
        detail.append([neutralise(v) for v in values])
        for col in (6, 8):
            detail.cell(row=detail.max_row, column=col).number_format = "#,##0.00"
        count += 1
    for letter, width in zip("ABCDEFGHIJ", (28, 22, 24, 12, 10, 14, 10, 14, 6, 40), strict=True):
        detail.column_dimensions[letter].width = width

    out = io.BytesIO()
    wb.save(out)
    record(
        actor,
        Action.EXPORT,
        object_type="subsidies.budget",
        object_repr=f"补助资金预算与拨付 {years[0]}—{years[-1]} xlsx",
        detail={"region": code, "years": [years[0], years[-1]], "rows": len(rows), "installments": count},
    )
    return out.getvalue()
