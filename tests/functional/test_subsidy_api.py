"""`/api/v1/subsidies/applications/` (CONTRACT.md, issue 6): judged by 东政办〔2022〕42号 三(一) as
data, every check explained with its clause; township submits → civil accepts → approves; an
approved rented-premises decision schedules five yearly installments; approving beyond the 核定
beds is refused; no policy in force is a failed check; back-dating is civil's, audited."""

import datetime
from decimal import Decimal

import pytest

from eldercare.audit.models import AuditEvent
from subsidies.models import Installment, OccupancyReport
from tests.factories import at, make_home, make_hospital
from tests.functional.test_filing_api import Api

pytestmark = pytest.mark.django_db
D = datetime.date
URL = "/api/v1/subsidies/applications/"


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_API_TOKEN_HOURS = 24 * 365


@pytest.fixture
def api(make_user):
    make_user("bj_town", "township", "370306100000")
    make_user("silk_town", "township", "370306001000")
    make_user("civil1", "civil", "370306000000")
    cache = {}

    def get(username):
        return cache.setdefault(username, Api(username))

    return get


@pytest.fixture
def homes(regions):
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    run = make_home(name="卫生院医养中心", run_by=hospital.pk, beds_eldercare=60, opened_on=D(2020, 1, 1))
    plain = make_home(
        name="民办养老院", credit_code="52370306MJD600080P", beds_eldercare=80, opened_on=D(2020, 1, 1)
    )
    return run, plain


def checks(body) -> dict:
    return {c["code"]: c for c in body["checks"]}


def test_rented_premises_five_installments_through_the_workflow(api, homes, monkeypatch):
    run, _ = homes
    town, civil = api("bj_town"), api("civil1")
    at(monkeypatch, D(2026, 3, 2))
    resp = town.post(
        URL,
        {
            "institution": run.credit_code,
            "rule": "construction_new_rented",
            "lease_start": "2026-01-01",
            "lease_end": "2031-01-01",
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["status"], body["eligible"], body["amount"]) == ("draft", True, "300000.00")
    assert body["installments"] == [{"due_year": 2026 + i, "amount": "60000.00"} for i in range(5)]
    assert body["policy"] == {"doc_no": "东政办〔2022〕42号", "clause": "三(一) 新建·租用", "version": 1}
    assert all(c["clause"].startswith("东政办〔2022〕42号") for c in body["checks"])
    pk = body["id"]
    at(monkeypatch, D(2026, 3, 3))
    body = town.post(f"{URL}{pk}/transitions/", {"action": "submit"}).json()
    assert (body["status"], body["application_date"]) == ("submitted", "2026-03-03")  # the submission date
    assert civil.post(f"{URL}{pk}/transitions/", {"action": "accept"}).status_code == 200
    resp = town.post(f"{URL}{pk}/transitions/", {"action": "approve"})
    assert resp.status_code == 403 and "申请方不能审核" in resp.json()["detail"]
    body = civil.post(f"{URL}{pk}/transitions/", {"action": "approve", "comment": "同意"}).json()
    assert body["status"] == "approved"
    rows = list(Installment.objects.filter(application_id=pk).values_list("due_year", "amount", "status"))
    assert rows == [(2026 + i, Decimal("60000.00"), "scheduled") for i in range(5)]

    # More beds than are left of the 核定 60: not eligible, and approving is refused.
    resp = town.post(URL, {"institution": run.credit_code, "rule": "construction_conversion", "beds": 10})
    body = resp.json()
    assert body["eligible"] is False and body["amount"] == "0.00" and body["installments"] == []
    assert checks(body)["beds_not_yet_subsidised"]["passed"] is False
    assert "最多还可申请 0 张" in checks(body)["beds_not_yet_subsidised"]["message"]


def test_approving_an_ineligible_application_is_refused(api, homes, monkeypatch):
    _, plain = homes
    town, civil = api("bj_town"), api("civil1")
    at(monkeypatch, D(2026, 3, 2))
    body = town.post(URL, {"institution": plain.credit_code, "rule": "construction_conversion"}).json()
    assert body["eligible"] is False
    assert (
        checks(body)["run_by_medical"]["message"]
        == "建设补助限于医疗机构举办的养老机构；该机构未登记举办医疗机构。"
    )
    pk = body["id"]
    town.post(f"{URL}{pk}/transitions/", {"action": "submit"})
    civil.post(f"{URL}{pk}/transitions/", {"action": "accept"})
    resp = civil.post(f"{URL}{pk}/transitions/", {"action": "approve"})
    assert resp.status_code == 409 and "不符合补助条件，不能批准" in resp.json()["detail"]
    assert (
        civil.post(f"{URL}{pk}/transitions/", {"action": "reject", "comment": "非医疗机构举办"}).json()[
            "status"
        ]
        == "rejected"
    )


def test_no_policy_in_force(api, homes, monkeypatch):
    run, _ = homes
    town = api("bj_town")  # signed in today; the clock then moves on
    at(monkeypatch, D(2027, 7, 26))  # the day after 东政办〔2022〕42号's five years
    body = town.post(URL, {"institution": run.credit_code, "rule": "construction_conversion"}).json()
    assert body["eligible"] is False and body["checks"][0]["code"] == "policy_in_force"
    assert body["checks"][0]["passed"] is False


def test_back_dating_is_civils_and_starts_submitted(api, homes, monkeypatch):
    run, _ = homes
    at(monkeypatch, D(2026, 3, 2))
    resp = api("bj_town").post(
        URL,
        {"institution": run.credit_code, "rule": "construction_conversion", "application_date": "2025-12-01"},
    )
    assert resp.status_code == 403 and "补录纸质申请" in resp.json()["detail"]
    body = (
        api("civil1")
        .post(
            URL,
            {
                "institution": run.credit_code,
                "rule": "construction_conversion",
                "application_date": "2025-12-01",
            },
        )
        .json()
    )
    assert (body["status"], body["application_date"], body["backdated"]) == ("submitted", "2025-12-01", True)
    assert AuditEvent.objects.filter(object_type="subsidies.application", detail__backdated=True).exists()


def test_operation_subsidy_and_a_missing_month(api, homes, monkeypatch):
    _, plain = homes
    for m in range(1, 13):
        OccupancyReport.objects.create(institution=plain, month=D(2025, m, 1), self_care=30, disabled=20)
    at(monkeypatch, D(2026, 2, 10))
    town = api("bj_town")
    body = town.post(URL, {"institution": plain.credit_code, "rule": "operation", "year": 2025}).json()
    assert (body["eligible"], body["amount"]) == (True, "108000.00")
    OccupancyReport.objects.filter(institution=plain, month=D(2025, 7, 1)).delete()
    body = town.post(f"{URL}{body['id']}/rejudge/").json()
    assert (body["eligible"], body["amount"]) == (None, "0.00")
    assert "7月 运营中但缺少入住月报" in checks(body)["months_reported"]["message"]


def test_scope_and_bad_input(api, homes):
    run, _ = homes
    pk = (
        api("bj_town")
        .post(URL, {"institution": run.credit_code, "rule": "construction_conversion"})
        .json()["id"]
    )
    silk = api("silk_town")
    assert silk.get(f"{URL}{pk}/").status_code == 404
    assert silk.post(f"{URL}{pk}/transitions/", {"action": "withdraw"}).status_code == 404
    resp = silk.post(URL, {"institution": run.credit_code, "rule": "construction_conversion"})
    assert resp.status_code == 400 and "找不到养老机构" in resp.json()["detail"]
    resp = api("bj_town").post(URL, {"institution": run.credit_code, "rule": "free_money"})
    assert resp.status_code == 400 and resp.json()["detail"].startswith("rule：")
    resp = api("bj_town").post(URL, {"institution": run.credit_code, "rule": "operation"})
    assert resp.status_code == 400 and "补助年度" in resp.json()["detail"]


def test_review_regressions(api, homes, make_user, monkeypatch):
    """A resubmission keeps the first submission's date; finance cannot re-judge; after
    acceptance only civil affairs re-judges; a policy rule's change bumps its version."""
    from subsidies.models import PolicyRule

    run, _ = homes
    town, civil = api("bj_town"), api("civil1")
    make_user("fin1", "finance", "370306000000")
    fin = api("fin1")
    at(monkeypatch, D(2027, 7, 20))
    pk = town.post(URL, {"institution": run.credit_code, "rule": "construction_conversion"}).json()["id"]
    town.post(f"{URL}{pk}/transitions/", {"action": "submit"})
    civil.post(f"{URL}{pk}/transitions/", {"action": "return", "comment": "请补充改建说明"})
    at(monkeypatch, D(2027, 7, 27))  # after 东政办〔2022〕42号 expired
    body = town.post(f"{URL}{pk}/transitions/", {"action": "submit"}).json()
    assert body["application_date"] == "2027-07-20" and body["eligible"] is True
    assert fin.post(f"{URL}{pk}/rejudge/").status_code == 403
    civil.post(f"{URL}{pk}/transitions/", {"action": "accept"})
    assert town.post(f"{URL}{pk}/rejudge/").status_code == 403
    assert civil.post(f"{URL}{pk}/rejudge/").status_code == 200
    rule = PolicyRule.objects.get(kind="construction_conversion")
    rule.params = {**rule.params, "amount_per_bed": "2500.00"}
    rule.save()
    assert PolicyRule.objects.get(pk=rule.pk).version == 2


def test_a_corrected_decisions_old_installments_are_not_paid(api, homes, make_user, monkeypatch):
    from django.core.exceptions import ValidationError

    from subsidies import payments, services
    from subsidies.models import Application

    run, _ = homes
    town, civil = api("bj_town"), api("civil1")
    fin = make_user("fin1", "finance", "370306000000")
    at(monkeypatch, D(2026, 3, 2))
    pk = town.post(
        URL,
        {
            "institution": run.credit_code,
            "rule": "construction_new_rented",
            "lease_start": "2026-01-01",
            "lease_end": "2031-01-01",
        },
    ).json()["id"]
    town.post(f"{URL}{pk}/transitions/", {"action": "submit"})
    civil.post(f"{URL}{pk}/transitions/", {"action": "accept"})
    civil.post(f"{URL}{pk}/transitions/", {"action": "approve"})
    app = Application.objects.get(pk=pk)
    from eldercare.accounts.models import User

    services.decision_correct(
        actor=User.objects.get(username="civil1"), application=app, reason="核定床位更正"
    )
    first = Installment.objects.filter(application=app).order_by("due_year").first()
    with pytest.raises(ValidationError) as exc:
        payments.payment_record(
            actor=fin,
            installment=first,
            paid_on=D(2026, 3, 2),
            amount=first.amount,
            voucher_no="CZ-2026-001",
            payee_account="6222000011112222",
            funding_source="county",
        )
    assert "核定已被更正" in exc.value.messages[0]


def test_finance_reconciles_the_schedule_after_a_correction(api, homes, make_user, monkeypatch):
    """A correction to 50 beds after the first of five 60,000 installments was paid: the unpaid
    old ones are stopped, 2027–2030 are scheduled at 50,000, and 2026's 10,000 paid too much is
    flagged for recovery."""
    from django.core.exceptions import ValidationError

    from eldercare.accounts.models import User
    from institutions import services as registry
    from subsidies import payments, services
    from subsidies.models import Application

    run, _ = homes
    town, civil = api("bj_town"), api("civil1")
    fin = make_user("fin1", "finance", "370306000000")
    at(monkeypatch, D(2026, 3, 2))
    pk = town.post(
        URL,
        {
            "institution": run.credit_code,
            "rule": "construction_new_rented",
            "lease_start": "2026-01-01",
            "lease_end": "2031-01-01",
        },
    ).json()["id"]
    for who, action in ((town, "submit"), (civil, "accept"), (civil, "approve")):
        who.post(f"{URL}{pk}/transitions/", {"action": action})
    app = Application.objects.get(pk=pk)
    first = Installment.objects.filter(application=app).order_by("due_year").first()
    payments.payment_record(
        actor=fin, installment=first, paid_on=D(2026, 3, 2), amount=first.amount,
        voucher_no="CZ-1", payee_account="6222", funding_source="county",
    )  # fmt: skip
    app.beds = 50  # the 核定 beds were 50 after all
    app.save(update_fields=["beds"])
    registry.institution_change(
        actor=User.objects.get(username="civil1"),
        institution=run,
        changes={"beds_eldercare": 50},
        effective=D(2026, 1, 1),
    )
    services.decision_correct(
        actor=User.objects.get(username="civil1"), application=app, reason="核定床位应为 50 张"
    )
    new = payments.reconcile_after_correction(actor=fin, application=app)
    assert [(i.due_year, i.amount) for i in new] == [(y, Decimal("50000.00")) for y in range(2027, 2031)]
    old = {
        i.due_year: i for i in Installment.objects.filter(application=app).exclude(pk__in=[n.pk for n in new])
    }
    assert old[2026].status == "paid" and old[2026].recovery_flag and "多拨 10000.00 元" in old[2026].note
    assert all(old[y].status == "stopped" for y in range(2027, 2031))
    with pytest.raises(ValidationError):  # the stopped old schedule cannot be paid any more
        payments.payment_record(
            actor=fin, installment=old[2027], paid_on=D(2026, 3, 2), amount=old[2027].amount,
            voucher_no="CZ-2", payee_account="6222", funding_source="county",
        )  # fmt: skip
