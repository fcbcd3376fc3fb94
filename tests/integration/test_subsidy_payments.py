"""Installments, payments, reversals, recoveries, closures and the budget (issue 6, DOMAIN.md §6)
on the real database: the schedule of an approved decision, paying once (also two officers on
two PostgreSQL connections at once), the signed ledger, stopping a closed institution's
installments, the liability table on a hand-checked set, the xlsx, scope and audit.

Decisions are built directly (the rules engine is tested on its own): 5,000 yuan per bed is
always divisible into five equal yearly installments, so the fen remainder is shown with
another county's 5,000.01 per bed."""

import datetime
import io
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.urls import include, path

from eldercare import urls as root_urls
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent, Result
from institutions import services as registry
from subsidies import payments
from subsidies.models import Application, Budget, Decision, Installment, Payment, RuleKind
from subsidies.tasks import stop_installments_of_closed
from tests.factories import at, login, make_home

D = datetime.date
M = Decimal
TODAY = D(2026, 12, 2)

# The finance pages, until eldercare/urls.py includes subsidies.urls.
urlpatterns = list(root_urls.urlpatterns)
if not any(getattr(p, "namespace", None) == "subsidies" for p in urlpatterns):
    urlpatterns.append(path("", include("subsidies.urls")))


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    at(monkeypatch, TODAY)


def code(seed: str, lead="52", county="370306") -> str:
    from institutions.credit_code import check_character

    body = f"{lead}{county}{seed:0>9}"[:17]
    return body + check_character(body)


def home(name="北郊镇敬老院", region="370306100000", seed=None, county="370306"):
    credit = code(seed, county=county) if seed else "52370306MJD600087D"
    return make_home(name=name, region=region, credit_code=credit, opened_on=D(2020, 1, 1))


def approved(institution, rule, applied_on, amount, schedule, **fields) -> Decision:
    app = Application.objects.create(
        institution=institution, rule=rule, application_date=applied_on, **fields
    )
    return Decision.objects.create(
        application=app,
        eligible=True,
        amount=M(amount),
        schedule=[{"due_year": y, "amount": a} for y, a in schedule],
        checks=[{"code": "test", "passed": True, "message": "", "clause": "三(一)"}],
    )


A_APPLIED = D(2025, 3, 1)


def rented_60(institution, applied_on=A_APPLIED) -> list[Installment]:
    """60 beds × 5,000 = 300,000.00 in five yearly installments of 60,000.00."""
    y = applied_on.year
    d = approved(
        institution,
        RuleKind.NEW_RENTED,
        applied_on,
        "300000.00",
        [(y + i, "60000.00") for i in range(5)],
        beds=60,
        lease_start=applied_on,
        lease_end=D(y + 6, 2, 28),
    )
    return payments.schedule_installments(decision=d)


def pay(actor, inst, on, voucher, source="county", amount=None):
    return payments.payment_record(
        actor=actor,
        installment=inst,
        paid_on=on,
        amount=inst.amount if amount is None else amount,
        voucher_no=voucher,
        payee_account="6228480000000000001",
        funding_source=source,
    )


@pytest.fixture
def fin(make_user):
    return make_user("fin1", "finance", "370306000000")


@pytest.fixture
def fin_other(make_user):
    return make_user("fin9", "finance", "370307000000")


def events(obj, action=None, result=Result.OK):
    qs = AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), result=result)
    return qs.filter(action=action) if action else qs


# -- the schedule -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_five_installments_with_the_fen_remainder_on_the_last(regions):
    inst_home = home()
    # another county's policy: 51 beds × 5,000.01 = 255,000.51; ÷ 5 = 51,000.102 → 4 × 51,000.10
    # and the last 255,000.51 − 204,000.40 = 51,000.11
    d = approved(
        inst_home,
        RuleKind.NEW_RENTED,
        D(2025, 3, 1),
        "255000.51",
        [(2025, "51000.10"), (2026, "51000.10"), (2027, "51000.10"), (2028, "51000.10"), (2029, "51000.11")],
        beds=51,
    )
    rows = payments.schedule_installments(decision=d)
    assert [(i.due_year, i.amount, i.status) for i in rows] == [
        (2025, M("51000.10"), "scheduled"),
        (2026, M("51000.10"), "scheduled"),
        (2027, M("51000.10"), "scheduled"),
        (2028, M("51000.10"), "scheduled"),
        (2029, M("51000.11"), "scheduled"),
    ]
    assert sum(i.amount for i in rows) == d.amount
    # idempotent: the approval hook may run again, nothing new is created
    again = payments.schedule_installments(decision=d)
    assert [i.pk for i in again] == [i.pk for i in rows]
    assert Installment.objects.filter(decision=d).count() == 5
    assert AuditEvent.objects.filter(object_type="subsidies.installment", action=Action.CREATE).count() == 5


@pytest.mark.django_db
def test_the_policy_amount_splits_evenly(regions):
    rows = rented_60(home())
    assert [(i.due_year, i.amount) for i in rows] == [(2025 + k, M("60000.00")) for k in range(5)]


@pytest.mark.django_db
def test_a_schedule_that_does_not_add_up_or_an_ineligible_decision_is_refused(regions):
    h = home()
    d = approved(h, RuleKind.CONVERSION, D(2025, 3, 1), "100000.00", [(2025, "99999.99")])
    with pytest.raises(ValidationError, match="与核定金额 100000.00 元不一致"):
        payments.schedule_installments(decision=d)
    d2 = approved(h, RuleKind.CONVERSION, D(2025, 3, 1), "100000.00", [(2025, "100000.00")])
    d2.eligible = None
    d2.save()
    with pytest.raises(ValidationError, match="不符合补助条件"):
        payments.schedule_installments(decision=d2)
    assert not Installment.objects.exists()


# -- paying ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_pay_once_then_paying_again_is_refused(regions, fin):
    first = rented_60(home())[0]
    p = pay(fin, first, D(2025, 6, 10), "V-2025-001", source="higher")
    first.refresh_from_db()
    assert (p.kind, p.amount, p.funding_source, p.live) == ("payment", M("60000.00"), "higher", True)
    assert first.status == "paid"
    assert events(p, Action.CREATE).count() == 1
    assert events(first, Action.UPDATE).get().changes == {"status": ["scheduled", "paid"]}

    with pytest.raises(ValidationError) as exc:
        pay(fin, first, D(2025, 6, 11), "V-2025-002")
    assert "该期补助已拨付，不能重复拨付" in exc.value.messages[0]
    assert Payment.objects.count() == 1
    denied = events(first, Action.CREATE, Result.DENIED).get()
    assert denied.detail["operation"] == "payment" and "不能重复拨付" in denied.detail["reason"]


@pytest.mark.django_db
def test_the_unique_index_has_the_last_word(regions, fin):
    first = rented_60(home())[0]
    pay(fin, first, D(2025, 6, 10), "V-1")
    # whatever a bug does to the installment's status, a second live payment cannot be stored
    Installment.objects.filter(pk=first.pk).update(status="scheduled")
    with pytest.raises(ValidationError, match="该期补助已拨付，不能重复拨付"):
        pay(fin, first, D(2025, 6, 11), "V-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            installment=first, paid_on=D(2025, 6, 12), amount=first.amount, voucher_no="V-3",
            funding_source="county", created_by=fin,
        )  # fmt: skip
    assert Payment.objects.filter(installment=first).count() == 1


@pytest.mark.django_db
def test_wrong_amount_date_or_source_is_refused(regions, fin):
    rows = rented_60(home())
    first = rows[0]

    def refused(**kw):
        args = {
            "actor": fin,
            "installment": first,
            "paid_on": D(2025, 6, 10),
            "amount": "60000.00",
            "voucher_no": "V-9",
            "payee_account": "6228",
            "funding_source": "county",
            **kw,
        }
        with pytest.raises(ValidationError) as exc:
            payments.payment_record(**args)
        return exc.value.message_dict

    assert refused(amount="59999.99")["amount"] == [
        "拨付金额应等于本期核定金额 60000.00 元（填写的是 59999.99 元）。"
    ]
    assert "精确到分" in refused(amount="60000.001")["amount"][0]
    assert "精确到分" in refused(amount=0.1 + 0.2)["amount"][0]  # a float's noise is never rounded
    assert "格式不正确" in refused(amount="六万")["amount"][0]
    assert refused(funding_source="bank")["funding_source"] == ["资金来源应为：上级补助、县财政。"]
    assert "凭证号" in refused(voucher_no=" ")["voucher_no"][0]
    assert "收款账号" in refused(payee_account="")["payee_account"][0]
    assert "不能早于申请日期" in refused(paid_on=D(2025, 2, 1))["paid_on"][0]
    assert "不能晚于今天" in refused(paid_on=TODAY + datetime.timedelta(days=1))["paid_on"][0]
    # the 2027 installment is not paid in 2026
    with pytest.raises(ValidationError, match="应于 2027 年度拨付，不能提前拨付"):
        pay(fin, rows[2], D(2026, 6, 1), "V-10")
    # exactly the amount, given as a string, an int or a Decimal
    pay(fin, first, D(2025, 6, 10), "V-11", amount=60000)
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_voucher_numbers_are_unique_per_kind(regions, fin):
    rows = rented_60(home())
    pay(fin, rows[0], D(2025, 6, 10), "V-1")
    with pytest.raises(ValidationError) as exc:
        pay(fin, rows[1], D(2026, 6, 10), "V-1")
    assert "凭证号“V-1”已登记过拨付" in exc.value.message_dict["voucher_no"][0]
    rows[1].refresh_from_db()
    assert rows[1].status == "scheduled"


# -- reversal and recovery ------------------------------------------------------------------------
@pytest.mark.django_db
def test_reversal_then_payment_again(regions, fin):
    first = rented_60(home())[0]
    wrong = pay(fin, first, D(2025, 6, 10), "V-1", source="county")
    with pytest.raises(ValidationError, match="请说明冲销理由"):
        payments.payment_reverse(actor=fin, payment=wrong, on=D(2025, 6, 20), voucher_no="R-1", reason=" ")
    with pytest.raises(ValidationError, match="不能早于拨付日期"):
        payments.payment_reverse(actor=fin, payment=wrong, on=D(2025, 6, 1), voucher_no="R-1", reason="x")

    rev = payments.payment_reverse(
        actor=fin, payment=wrong, on=D(2025, 6, 20), voucher_no="R-1", reason="收款账号错误"
    )
    wrong.refresh_from_db()
    first.refresh_from_db()
    assert (rev.kind, rev.amount, rev.funding_source, rev.reverses_id) == (
        "reversal",
        M("-60000.00"),
        "county",
        wrong.pk,
    )
    assert wrong.live is False
    assert first.status == "scheduled" and "收款账号错误" in first.note
    assert payments.net_paid(first) == M("0.00")
    with pytest.raises(ValidationError, match="已冲销，不能重复冲销"):
        payments.payment_reverse(actor=fin, payment=wrong, on=D(2025, 6, 21), voucher_no="R-2", reason="x")
    with pytest.raises(ValidationError, match="只能冲销拨付记录"):
        payments.payment_reverse(actor=fin, payment=rev, on=D(2025, 6, 21), voucher_no="R-3", reason="x")

    again = pay(fin, first, D(2025, 6, 25), "V-2", source="higher")
    first.refresh_from_db()
    assert first.status == "paid" and again.live
    assert payments.net_paid(first) == M("60000.00")
    assert list(first.payments.order_by("id").values_list("kind", "amount", "live")) == [
        ("payment", M("60000.00"), False),
        ("reversal", M("-60000.00"), True),
        ("payment", M("60000.00"), True),
    ]
    assert events(rev, Action.CREATE).get().detail["reason"] == "收款账号错误"
    assert events(wrong, Action.UPDATE).get().changes == {"live": [True, False]}


# -- reconciliation after a correction ----------------------------------------------------------
def correct(previous: Decision, amount, schedule, eligible=True) -> Decision:
    """A correction after approval (services.decision_correct's row, built directly)."""
    return Decision.objects.create(
        application=previous.application,
        supersedes=previous,
        eligible=eligible,
        amount=M(amount),
        schedule=[{"due_year": y, "amount": a} for y, a in schedule],
        reason="更正",
    )


def schedule_of(app) -> list[tuple]:
    return list(
        Installment.objects.filter(application=app)
        .order_by("due_year", "id")
        .values_list("due_year", "decision_id", "amount", "status", "recovery_flag")
    )


@pytest.mark.django_db
def test_reconciling_an_ineligible_correction_stops_all_and_flags_all_paid_once(regions, fin):
    rows = rented_60(home())  # 2025–2029 × 60,000.00
    app, first = rows[0].application, rows[0].decision
    pay(fin, rows[0], D(2025, 6, 10), "V-2025")
    pay(fin, rows[1], D(2026, 6, 10), "V-2026")
    assert payments.reconciliation_pending(app) is None  # no correction yet
    wrong = correct(first, "0.00", [], eligible=False)
    pending = payments.reconciliation_pending(app)
    assert pending.changed and [i.due_year for i in pending.stopped] == [2027, 2028, 2029]
    done = payments.reconcile_schedule(actor=fin, application=app)
    assert [i.due_year for i in done.stopped] == [2027, 2028, 2029] and done.created == []
    assert [(i.due_year, excess) for i, excess in done.flagged] == [
        (2025, M("60000.00")),
        (2026, M("60000.00")),
    ]
    assert schedule_of(app) == [
        (2025, first.pk, M("60000.00"), "paid", True),
        (2026, first.pk, M("60000.00"), "paid", True),
        *[(y, first.pk, M("60000.00"), "stopped", False) for y in (2027, 2028, 2029)],
    ]
    # Idempotent: nothing left to do, nothing written.
    before = AuditEvent.objects.count()
    again = payments.reconcile_schedule(actor=fin, application=app)
    assert not again.changed and AuditEvent.objects.count() == before
    assert not payments.reconciliation_pending(app).changed
    assert wrong.installments.count() == 0


@pytest.mark.django_db
def test_a_second_correction_is_reconciled_against_both_earlier_schedules(regions, fin):
    rows = rented_60(home())
    app, first = rows[0].application, rows[0].decision
    pay(fin, rows[0], D(2025, 6, 10), "V-2025")
    pay(fin, rows[1], D(2026, 6, 10), "V-2026")
    fifty = correct(first, "250000.00", [(2025 + i, "50000.00") for i in range(5)])
    done = payments.reconcile_schedule(actor=fin, application=app)
    assert [(i.due_year, i.amount) for i in done.created] == [(y, M("50000.00")) for y in (2027, 2028, 2029)]
    assert [(i.due_year, e) for i, e in done.flagged] == [(2025, M("10000.00")), (2026, M("10000.00"))]
    # Back to 60 beds: 50,000 installments stopped, 60,000 rescheduled, the recovery flags lifted.
    sixty = correct(fifty, "300000.00", [(2025 + i, "60000.00") for i in range(5)])
    done = payments.reconcile_schedule(actor=fin, application=app)
    assert [(i.due_year, i.decision_id) for i in done.stopped] == [(y, fifty.pk) for y in (2027, 2028, 2029)]
    assert [(i.due_year, i.amount, i.decision_id) for i in done.created] == [
        (y, M("60000.00"), sixty.pk) for y in (2027, 2028, 2029)
    ]
    assert done.flagged == [] and [i.due_year for i in done.unflagged] == [2025, 2026]
    assert not Installment.objects.filter(application=app, recovery_flag=True).exists()
    assert not payments.reconcile_schedule(actor=fin, application=app).changed
    # The current schedule is payable; the stopped ones are not.
    live = Installment.objects.get(application=app, decision=sixty, due_year=2027)
    assert live.status == "scheduled"


@pytest.mark.django_db
def test_reconciling_is_finances_in_scope_and_refusals_are_audited(regions, fin, fin_other, make_user):
    rows = rented_60(home())
    app = rows[0].application
    correct(rows[0].decision, "250000.00", [(2025 + i, "50000.00") for i in range(5)])
    civil = make_user("civil9", "civil", "370306000000")
    for who in (civil, fin_other):
        with pytest.raises(PermissionDenied):
            payments.reconcile_schedule(actor=who, application=app)
    denied = AuditEvent.objects.filter(result=Result.DENIED, object_type="subsidies.application")
    assert denied.count() == 2 and all(e.detail["operation"] == "reconcile" for e in denied)
    assert not Installment.objects.filter(application=app, status="stopped").exists()
    # The older call still returns the new installments.
    new = payments.reconcile_after_correction(actor=fin, application=app)
    assert [i.due_year for i in new] == [2025, 2026, 2027, 2028, 2029]


@pytest.mark.django_db
def test_recovery_is_negative_and_limited_to_what_is_held(regions, fin):
    rows = rented_60(home())
    with pytest.raises(ValidationError, match="无可追回"):
        payments.recovery_record(
            actor=fin, installment=rows[0], on=D(2025, 7, 1), amount="1.00", voucher_no="Z-0"
        )
    p = pay(fin, rows[0], D(2025, 6, 10), "V-1", source="higher")
    rec = payments.recovery_record(
        actor=fin, installment=rows[0], on=D(2026, 7, 1), amount="10000", voucher_no="Z-1"
    )
    assert (rec.kind, rec.amount, rec.funding_source, rec.paid_on) == (
        "recovery",
        M("-10000.00"),
        "higher",
        D(2026, 7, 1),
    )
    assert payments.net_paid(rows[0]) == M("50000.00")
    with pytest.raises(ValidationError, match="不能超过已拨付未追回的 50000.00 元"):
        payments.recovery_record(
            actor=fin, installment=rows[0], on=D(2026, 7, 2), amount="50000.01", voucher_no="Z-2"
        )
    with pytest.raises(ValidationError, match="已有追回记录"):
        payments.payment_reverse(actor=fin, payment=p, on=D(2026, 7, 3), voucher_no="R-1", reason="x")
    assert events(rec, Action.CREATE).get().detail == {"held_before": "60000.00", "held_after": "50000.00"}


# -- closures -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_closed_institution_has_its_remaining_installments_stopped_and_paid_ones_flagged(regions, fin):
    rented_home = home()
    owned_home = home("丝绸路医养中心", "370306001000", seed="2")
    small = home("李家村幸福院", "370306100000", seed="3")
    open_home = home("王家村敬老院", "370306100000", seed="4")

    a = rented_60(rented_home)  # 2025…2029, two paid
    pay(fin, a[0], D(2025, 6, 10), "V-A25")
    pay(fin, a[1], D(2026, 5, 1), "V-A26")
    b = payments.schedule_installments(
        decision=approved(
            owned_home,
            RuleKind.NEW_OWNED,
            D(2026, 2, 1),
            "600000.00",
            [(2026, "600000.00")],
            beds=60,
            committed_years=5,
        )
    )
    pay(fin, b[0], D(2026, 4, 10), "V-B26")
    conv = payments.schedule_installments(
        decision=approved(
            small, RuleKind.CONVERSION, D(2024, 5, 1), "20000.00", [(2024, "20000.00")], beds=10
        )
    )
    pay(fin, conv[0], D(2024, 6, 1), "V-C24")
    oper = payments.schedule_installments(
        decision=approved(
            small, RuleKind.OPERATION, D(2026, 1, 15), "12345.67", [(2026, "12345.67")], year=2025
        )
    )
    untouched = rented_60(open_home)

    for h in (rented_home, owned_home, small):
        registry.institution_set_status(actor=SYSTEM, institution=h, status="closed", effective=D(2026, 9, 1))
    # closed on 1 September: a closure dated after today is not acted on yet
    assert payments.closures_to_act_on(D(2026, 8, 31)) == []
    found = payments.closures_to_act_on(TODAY)
    # the conversion subsidy paid in 2024 carried no commitment: nothing to act on
    assert sorted(app.pk for app in found) == sorted(
        [a[0].application_id, b[0].application_id, oper[0].application_id]
    )

    assert stop_installments_of_closed.delay().get() == 3

    def state(rows):
        return [
            (i.due_year, i.status, i.recovery_flag)
            for i in Installment.objects.filter(pk__in=[r.pk for r in rows])
        ]

    assert state(a) == [
        (2025, "paid", True),
        (2026, "paid", True),
        (2027, "stopped", False),
        (2028, "stopped", False),
        (2029, "stopped", False),
    ]
    assert state(b) == [(2026, "paid", True)]  # closed before 2031-02-01, the five committed years
    assert state(conv) == [(2024, "paid", False)]
    assert state(oper) == [(2026, "stopped", False)]
    assert {i.status for i in Installment.objects.filter(pk__in=[r.pk for r in untouched])} == {"scheduled"}
    assert "2026-09-01 停止拨付" in Installment.objects.get(pk=a[2].pk).note

    cases = list(payments.recovery_cases(actor=fin))
    assert sorted(c.pk for c in cases) == sorted([a[0].pk, a[1].pk, b[0].pk])
    assert {c.pk: c.held for c in cases} == {
        a[0].pk: M("60000.00"),
        a[1].pk: M("60000.00"),
        b[0].pk: M("600000.00"),
    }

    stop_events = AuditEvent.objects.filter(
        object_type="subsidies.installment", detail__operation="stop_remaining"
    )
    assert stop_events.count() == 7 and {e.username for e in stop_events} == {"system"}
    # idempotent: the next night finds nothing and writes nothing
    assert payments.closures_to_act_on(TODAY) == []
    assert stop_installments_of_closed.delay().get() == 0
    assert stop_events.count() == 7
    with pytest.raises(ValidationError, match="已停止拨付"):
        pay(fin, a[2], D(2026, 11, 1), "V-A27")


@pytest.mark.django_db
def test_paying_a_closed_institution_is_refused_before_the_night_run(regions, fin):
    h = home()
    a = rented_60(h)
    registry.institution_set_status(actor=SYSTEM, institution=h, status="closed", effective=D(2026, 11, 30))
    with pytest.raises(ValidationError, match="已于 2026-11-30 注销"):
        pay(fin, a[1], D(2026, 12, 1), "V-1")


@pytest.mark.django_db
def test_stop_remaining_by_an_officer_needs_scope_and_a_reason(regions, fin, fin_other):
    a = rented_60(home())
    app = a[0].application
    with pytest.raises(PermissionDenied):
        payments.stop_remaining(actor=fin_other, application=app, on=D(2026, 9, 1), reason="注销")
    with pytest.raises(ValidationError, match="理由"):
        payments.stop_remaining(actor=fin, application=app, on=D(2026, 9, 1), reason="")
    done = payments.stop_remaining(actor=fin, application=app, on=D(2026, 9, 1), reason="机构停办")
    assert len(done["stopped"]) == 5 and done["flagged"] == []
    assert payments.stop_remaining(actor=fin, application=app, on=D(2026, 9, 1), reason="机构停办") == {
        "stopped": [],
        "flagged": [],
    }


# -- budget and liabilities -----------------------------------------------------------------------
@pytest.fixture
def ledger(regions, fin, fin_other, make_user):
    """The hand-checked set (amounts in yuan):
    A rented, applied 2025-03-01: 60,000 due each year 2025…2029; 2025 paid 2025-06-10 from
      上级补助; 2026 paid 2026-05-01 from 县财政; 10,000 of 2025's recovered 2026-07-01.
    B self-built, applied 2026-02-01: 600,000 due 2026, paid 2026-04-01 from 县财政, reversed
      2026-04-05, paid again 2026-04-10 from 上级补助.
    Budgets 2025: 上级 100,000, 县 50,000; 2026: 上级 400,000, 县 300,000.
    Another county (370307): an installment paid 1,000 in 2026 and a budget of 999 — never counted.
    """
    admin = make_user("admin1", "admin", "370306000000")
    a = rented_60(home())
    b = payments.schedule_installments(
        decision=approved(
            home("丝绸路医养中心", "370306001000", seed="2"),
            RuleKind.NEW_OWNED,
            D(2026, 2, 1),
            "600000.00",
            [(2026, "600000.00")],
            beds=60,
            committed_years=5,
        )
    )
    pay(fin, a[0], D(2025, 6, 10), "V-2025-001", "higher")
    pay(fin, a[1], D(2026, 5, 1), "V-2026-001", "county")
    wrong = pay(fin, b[0], D(2026, 4, 1), "V-2026-002", "county")
    payments.payment_reverse(
        actor=fin, payment=wrong, on=D(2026, 4, 5), voucher_no="R-2026-001", reason="资金来源错误"
    )
    pay(fin, b[0], D(2026, 4, 10), "V-2026-003", "higher")
    payments.recovery_record(
        actor=fin, installment=a[0], on=D(2026, 7, 1), amount="10000.00", voucher_no="Z-2026-001"
    )
    payments.budget_set(actor=fin, region="370306000000", year=2025, funding_source="higher", amount="100000")
    payments.budget_set(actor=fin, region="370306000000", year=2025, funding_source="county", amount="50000")
    payments.budget_set(
        actor=admin, region="370306000000", year=2026, funding_source="higher", amount="400000"
    )
    payments.budget_set(actor=fin, region="370306000000", year=2026, funding_source="county", amount="300000")

    elsewhere = payments.schedule_installments(
        decision=approved(
            home("邻县敬老院", "370307001000", seed="9", county="370307"),
            RuleKind.CONVERSION,
            D(2026, 1, 10),
            "1000.00",
            [(2026, "1000.00")],
        )
    )
    pay(fin_other, elsewhere[0], D(2026, 3, 1), "V-X-1")
    payments.budget_set(
        actor=fin_other, region="370307000000", year=2026, funding_source="county", amount="999"
    )
    return {"a": a, "b": b}


EXPECTED = {
    2025: {
        "budget_higher": "100000.00", "budget_county": "50000.00", "budget_total": "150000.00",
        "paid_higher": "60000.00", "paid_county": "0.00", "paid_total": "60000.00",
        "arrears": "0.00", "committed": "0.00", "future": "180000.00", "balance": "90000.00",
    },
    2026: {
        "budget_higher": "400000.00", "budget_county": "300000.00", "budget_total": "700000.00",
        # 600,000 (B again) − 10,000 (A 2025 recovered); 60,000 (A 2026) + 600,000 − 600,000 (B reversed)
        "paid_higher": "590000.00", "paid_county": "60000.00", "paid_total": "650000.00",
        "arrears": "0.00", "committed": "0.00", "future": "180000.00", "balance": "50000.00",
    },
    2027: {
        "budget_higher": "0.00", "budget_county": "0.00", "budget_total": "0.00",
        "paid_higher": "0.00", "paid_county": "0.00", "paid_total": "0.00",
        "arrears": "0.00", "committed": "60000.00", "future": "120000.00", "balance": "-60000.00",
    },
}  # fmt: skip


@pytest.mark.django_db
def test_liabilities_on_the_hand_checked_set(ledger, fin, django_assert_num_queries):
    payments.liabilities(actor=fin, region="370306000000", years=[2025])  # warms the permission cache
    with django_assert_num_queries(3):  # budgets, payments, installments: aggregates, not loops
        rows = payments.liabilities(actor=fin, region="370306000000", years=range(2025, 2028))
    got = {r["year"]: {k: str(v) for k, v in r.items() if k != "year"} for r in rows}
    assert got == EXPECTED
    # the system actor (the nightly jobs) gets the same numbers
    assert payments.liabilities(actor=SYSTEM, region="370306000000", years=range(2025, 2028)) == rows


@pytest.mark.django_db
def test_budget_set_creates_then_changes_with_audit(regions, fin, make_user):
    b = payments.budget_set(
        actor=fin, region="370306000000", year=2027, funding_source="county", amount="100.50"
    )
    assert events(b, Action.CREATE).get().changes["amount"] == "100.50"
    b2 = payments.budget_set(
        actor=fin, region="370306000000", year=2027, funding_source="county", amount="200"
    )
    assert b2.pk == b.pk and b2.amount == M("200.00")
    assert events(b, Action.UPDATE).get().changes == {"amount": ["100.50", "200.00"]}
    payments.budget_set(actor=fin, region="370306000000", year=2027, funding_source="county", amount="200.00")
    assert events(b, Action.UPDATE).count() == 1  # unchanged: nothing written
    with pytest.raises(ValidationError, match="县级区划"):
        payments.budget_set(actor=fin, region="370306100000", year=2027, funding_source="county", amount="1")
    with pytest.raises(ValidationError, match="负数"):
        payments.budget_set(actor=fin, region="370306000000", year=2027, funding_source="county", amount="-1")
    with pytest.raises(PermissionDenied):
        payments.budget_set(
            actor=make_user("civil1", "civil"),
            region="370306000000",
            year=2027,
            funding_source="county",
            amount="1",
        )
    assert Budget.objects.count() == 1


@pytest.mark.django_db
def test_liabilities_xlsx_opens_and_neutralises_text(ledger, fin):
    from openpyxl import load_workbook

    Installment.objects.filter(pk=ledger["a"][4].pk).update(note='=HYPERLINK("http://x")')
    content = payments.liabilities_xlsx(actor=fin, region="370306000000", years=range(2025, 2030))
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["补助资金预算与拨付", "拨付计划明细"]
    table = wb["补助资金预算与拨付"]
    header = [c.value for c in table[1]]
    assert header[:4] == ["年度", "预算·上级补助", "预算·县财政", "预算合计"]
    row_2026 = next(r for r in table.iter_rows(min_row=2, values_only=True) if r[0] == 2026)
    assert [M(str(v)).quantize(M("0.01")) for v in row_2026[1:]] == [
        M(EXPECTED[2026][k]) for k, _label in payments.COLUMNS[1:]
    ]
    detail = list(wb["拨付计划明细"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == 6  # A's five and B's one; the other county's is not there
    assert any(r[-1] == '\'=HYPERLINK("http://x")' for r in detail)
    ev = AuditEvent.objects.get(action=Action.EXPORT, object_type="subsidies.budget")
    assert ev.detail["installments"] == 6 and ev.username == "fin1"


# -- scope ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_another_countys_finance_cannot_touch_these_payments(ledger, fin_other, make_user):
    a = ledger["a"]
    live = a[0].payments.get(kind="payment", live=True)
    with pytest.raises(PermissionDenied):
        pay(fin_other, a[2], D(2026, 11, 1), "V-NO")
    with pytest.raises(PermissionDenied):
        payments.payment_reverse(
            actor=fin_other, payment=live, on=D(2026, 11, 1), voucher_no="R-NO", reason="x"
        )
    with pytest.raises(PermissionDenied):
        payments.recovery_record(
            actor=fin_other, installment=a[0], on=D(2026, 11, 1), amount="1", voucher_no="Z-NO"
        )
    with pytest.raises(PermissionDenied):
        payments.budget_set(
            actor=fin_other, region="370306000000", year=2026, funding_source="county", amount="1"
        )
    with pytest.raises(PermissionDenied):
        payments.liabilities(actor=fin_other, region="370306000000", years=[2026])
    assert list(payments.recovery_cases(actor=fin_other)) == []
    # a civil officer of the same county may not pay either; the system never pays
    with pytest.raises(PermissionDenied, match="权限"):
        pay(make_user("civil1", "civil"), a[2], D(2026, 11, 1), "V-NO")
    with pytest.raises(PermissionDenied, match="本人登记"):
        pay(SYSTEM, a[2], D(2026, 11, 1), "V-NO")
    assert not Payment.objects.filter(voucher_no__in=["V-NO", "R-NO", "Z-NO"]).exists()
    denied = AuditEvent.objects.filter(result=Result.DENIED, object_type="subsidies.installment")
    assert denied.filter(username="fin9", detail__operation="payment").exists()


@pytest.mark.django_db
def test_audit_events_for_each_write(ledger):
    by_kind = AuditEvent.objects.filter(
        object_type="subsidies.payment", action=Action.CREATE, result=Result.OK
    )
    # A's two, B's two and its reversal, the recovery, the other county's one
    assert by_kind.count() == 7
    assert AuditEvent.objects.filter(object_type="subsidies.installment", action=Action.CREATE).count() == 7
    assert AuditEvent.objects.filter(object_type="subsidies.budget", action=Action.CREATE).count() == 5
    for p in Payment.objects.all():
        ev = events(p, Action.CREATE).get()
        assert ev.changes["amount"] == str(p.amount) and ev.changes["voucher_no"] == p.voucher_no


# -- the finance page -----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_liabilities_page_table_chart_and_export(ledger, fin, fin_other, client, make_user):
    import json

    login(client, fin)
    resp = client.get("/subsidies/liabilities/?from=2025&to=2027")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'data-year="2026"' in html and 'data-col="paid_higher" data-value="590000.00">590,000.00' in html
    assert 'data-col="balance" data-value="-60000.00"' in html
    chart = json.loads(html.split('id="liabilities-data" type="application/json">')[1].split("</script>")[0])
    assert chart["years"] == ["2025", "2026", "2027"] and chart["series"]["committed"] == [
        "0.00",
        "0.00",
        "60000.00",
    ]
    assert "<script>" not in html  # CSP: data only, read by static/js/liabilities-chart.js
    assert 'data-testid="budget-form"' in html

    xlsx = client.get("/subsidies/liabilities/export/?from=2025&to=2027")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    resp = client.post(
        "/subsidies/budgets/", {"year": 2027, "funding_source": "higher", "amount": "250000.00"}
    )
    assert resp.status_code == 302
    assert Budget.objects.get(region_id="370306000000", year=2027, funding_source="higher").amount == M(
        "250000.00"
    )

    # the neighbouring county's finance sees its own county only
    other = login(type(client)(), fin_other).get("/subsidies/liabilities/?from=2026&to=2026").content.decode()
    assert 'data-col="paid_county" data-value="1000.00"' in other and "590,000.00" not in other
    # a township officer has no budget page
    town = login(type(client)(), make_user("town1", "township", "370306100000"))
    assert town.get("/subsidies/liabilities/").status_code == 403


# -- two officers at once -------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across two connections: PostgreSQL")
def test_two_officers_paying_one_installment_at_once_yield_one_payment(regions, make_user, monkeypatch):
    officers = [make_user(f"fin{i}", "finance", "370306000000") for i in (1, 2)]
    first = rented_60(home())[0]
    real = payments.record

    def slow(*args, **kw):  # hold the winner inside its transaction (and the row lock)
        time.sleep(0.5)
        return real(*args, **kw)

    monkeypatch.setattr(payments, "record", slow)
    barrier = threading.Barrier(2)
    results, pids = [], set()

    def run(actor, voucher):
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pids.add(cur.fetchone()[0])
            barrier.wait()
            pay(actor, first, D(2025, 6, 10), voucher)
            results.append("ok")
        except ValidationError as exc:
            results.append(exc.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(o, f"V-{o.username}")) for o in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(pids) == 2
    assert sorted(results) == sorted(["ok", "该期补助已拨付，不能重复拨付。"]), results
    assert Payment.objects.filter(installment_id=first.pk).count() == 1
    assert Installment.objects.get(pk=first.pk).status == "paid"


@pytest.mark.django_db
def test_an_overdue_installment_stays_in_the_table_as_arrears(regions, fin):
    """An installment due last year and still unpaid does not vanish: it is arrears this year."""
    installments = rented_60(home())  # five of 60,000 from the application year
    first = installments[0]
    rows = {
        r["year"]: r
        for r in payments.liabilities(actor=fin, region="370306000000", years=[first.due_year + 1])
    }
    row = rows[first.due_year + 1]
    assert row["arrears"] == M("60000.00") and row["committed"] == M("60000.00")
    assert row["balance"] == -(row["arrears"] + row["committed"])


@pytest.mark.django_db
def test_later_years_are_projected_paid_on_time_and_earlier_years_know_only_earlier_applications(
    regions, fin
):
    """New-user finding: the table counted one unpaid installment again in every later year's
    arrears, and showed last year a liability from an application made this year."""
    from django.utils import timezone

    this_year = timezone.localdate().year
    installments = rented_60(home(), applied_on=D(this_year, 3, 1))
    assert installments[0].due_year == this_year
    years = [this_year - 1, this_year, this_year + 1, this_year + 3]
    rows = {r["year"]: r for r in payments.liabilities(actor=fin, region="370306000000", years=years)}
    assert rows[this_year - 1]["future"] == M("0.00")  # the application did not exist yet
    assert rows[this_year]["future"] == M("240000.00") and rows[this_year]["committed"] == M("60000.00")
    for y in (this_year + 1, this_year + 3):  # this year's 60,000 unpaid: not arrears again later
        assert rows[y]["arrears"] == M("0.00") and rows[y]["committed"] == M("60000.00")
