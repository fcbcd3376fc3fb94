"""Every audited event leaves exactly one audit record (SECURITY.md "Audit"; issue 8): the records
a service call adds are listed whole — none missing, none doubled (say by a signal and the
service both) — with the acting user, the role, the action, the object and the result.

One record per changed row: a payment creates the payment and moves its installment to paid, so
it leaves one record for each (the payment's values, the installment's old and new status); a
contract also makes the system rewrite its home's stored compliance warnings (derived data),
logged as one bulk write; an import leaves one record per step (upload, the registry's bulk
write, commit), each with the file's hash. A refused action leaves one record, result denied."""

import datetime
import hashlib
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.test import Client

from contracts import services as contracts
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent, Result
from eldercare.sheets import engine
from eldercare.workflow import services as wf
from institutions import services as registry
from subsidies import occupancy, payments
from subsidies.models import Application, Decision, RuleKind
from tests.factories import PASSWORD, RUN_BY_PAYLOAD, at, make_home, make_hospital, ready_filing

pytestmark = pytest.mark.django_db
D = datetime.date
ZHANG = "370306194501021237"


@contextmanager
def new_events():
    """The audit records added inside the block, oldest first."""
    before = AuditEvent.objects.aggregate(m=Max("pk"))["m"] or 0
    added: list[AuditEvent] = []
    yield added
    added.extend(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))


def shape(events) -> list[tuple]:
    return [(e.action, e.object_type, e.username, e.result) for e in events]


@pytest.fixture
def civil(make_user):
    return make_user("civil1", "civil", "370306000000")


@pytest.fixture
def town(make_user):
    return make_user("bj_town", "township", "370306100000")


@pytest.fixture
def home(regions):
    return make_home(opened_on=D(2020, 1, 1))


# -- sign-in ----------------------------------------------------------------------------------------
def post_login(client, username, password):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="10.3.3.3"
    )


def test_sign_in_sign_out_and_failures(make_user):
    make_user("h1", "health")
    c = Client()
    with new_events() as added:
        assert post_login(c, "h1", PASSWORD).status_code == 302
    assert shape(added) == [(Action.LOGIN, "accounts.user", "h1", Result.OK)]
    assert added[0].ip == "10.3.3.3" and added[0].role == "health" and added[0].actor.username == "h1"
    with new_events() as added:
        c.post("/accounts/logout/")
    assert shape(added) == [(Action.LOGOUT, "accounts.user", "h1", Result.OK)]
    with new_events() as added:
        post_login(Client(), "h1", "wrong")
    assert [(e.action, e.username, e.result) for e in added] == [(Action.LOGIN_FAILED, "h1", Result.DENIED)]
    for _ in range(3):
        post_login(Client(), "h1", "wrong")
    with new_events() as added:  # the fifth failure: the failure itself and the lockout
        post_login(Client(), "h1", "wrong")
    assert sorted(e.action for e in added) == sorted([Action.LOGIN_FAILED, Action.LOCKOUT])


def test_api_token_issued(make_user):
    make_user("h1", "health")
    with new_events() as added:
        resp = Client().post(
            "/api/v1/auth/token/", {"username": "h1", "password": PASSWORD}, content_type="application/json"
        )
    assert resp.status_code == 200
    assert [e.action for e in added] == [Action.TOKEN]
    assert added[0].username == "h1" and added[0].result == Result.OK


# -- business data ------------------------------------------------------------------------------
def test_institution_change(home, civil):
    with new_events() as added:
        registry.institution_change(
            actor=civil, institution=home, changes={"beds_eldercare": 90}, effective=D(2026, 1, 1)
        )
    assert shape(added) == [(Action.UPDATE, "institutions.institution", "civil1", Result.OK)]
    ev = added[0]
    assert ev.actor == civil and ev.role == "civil" and ev.object_id == str(home.pk)
    assert ev.changes["beds_eldercare"] == [80, 90]


def test_contract_create(home, civil):
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    with new_events() as added:
        c = contracts.contract_create(
            actor=civil,
            facts={
                "medical": hospital,
                "eldercare": home,
                "agreement_no": "BJ-2026-01",
                "mode": "agreement",
                "start": D(2026, 1, 1),
                "end": D(2026, 12, 31),
            },
        )
    mine = [e for e in added if e.object_type == "contracts.contract"]
    assert shape(mine) == [(Action.CREATE, "contracts.contract", "civil1", Result.OK)]
    assert mine[0].object_id == str(c.pk) and mine[0].changes["agreement_no"] == [None, "BJ-2026-01"]
    # Besides: the home's stored compliance warnings, derived data the system rewrote in bulk.
    rest = [e for e in added if e not in mine]
    assert [(e.action, e.username, e.detail.get("what")) for e in rest] in (
        [],
        [(Action.BULK, "system", "refresh_warning_codes")],
    )


def test_filing_transitions(regions, town, civil, monkeypatch):
    at(monkeypatch, D(2026, 9, 28))
    f = ready_filing(town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    with new_events() as added:
        wf.filing_transition(actor=town, filing=f, action="submit")
    assert shape(added) == [(Action.TRANSITION, "workflow.filing", "bj_town", Result.OK)]
    assert added[0].changes == {"status": ["draft", "submitted"]}
    at(monkeypatch, D(2026, 9, 29))
    with new_events() as added:
        wf.filing_transition(actor=civil, filing=f, action="accept")
    assert shape(added) == [(Action.TRANSITION, "workflow.filing", "civil1", Result.OK)]
    with new_events() as added:  # refused (already accepted): audited once, as denied
        with pytest.raises(wf.TransitionRefused):
            wf.filing_transition(actor=civil, filing=f, action="accept")
    assert shape(added) == [(Action.TRANSITION, "workflow.filing", "civil1", Result.DENIED)]


def test_subsidy_payment(home, make_user):
    fin = make_user("fin1", "finance")
    app = Application.objects.create(
        institution=home, rule=RuleKind.OPERATION, application_date=D(2026, 1, 10), beds=60
    )
    decision = Decision.objects.create(
        application=app,
        eligible=True,
        amount=Decimal("60000.00"),
        schedule=[{"due_year": 2026, "amount": "60000.00"}],
        checks=[{"code": "test", "passed": True, "message": "", "clause": "三(一)"}],
    )
    [inst] = payments.schedule_installments(decision=decision)
    with new_events() as added:
        p = payments.payment_record(
            actor=fin,
            installment=inst,
            paid_on=D(2026, 3, 3),
            amount=Decimal("60000.00"),
            voucher_no="CZ-2026-001",
            payee_account="6222000011112222",
            funding_source="county",
        )
    assert shape(added) == [
        (Action.CREATE, "subsidies.payment", "fin1", Result.OK),
        (Action.UPDATE, "subsidies.installment", "fin1", Result.OK),
    ]
    assert added[0].object_id == str(p.pk) and added[1].changes == {"status": ["scheduled", "paid"]}
    with new_events() as added:  # paying twice: refused, audited once
        with pytest.raises(ValidationError):
            payments.payment_record(
                actor=fin,
                installment=inst,
                paid_on=D(2026, 3, 4),
                amount=Decimal("60000.00"),
                voucher_no="CZ-2026-002",
                payee_account="6222000011112222",
                funding_source="county",
            )
    assert [(e.object_type, e.result) for e in added] == [("subsidies.installment", Result.DENIED)]


def test_unmask(home, town, civil, monkeypatch):
    at(monkeypatch, D(2025, 8, 15))
    r = occupancy.resident_record(
        SYSTEM, home, name="张秀英", id_number=ZHANG, ability_level=1, admitted_on=D(2025, 1, 5)
    )
    with new_events() as added:
        assert occupancy.resident_unmask(civil, r, "核对补贴申领材料") == ZHANG
    assert shape(added) == [(Action.UNMASK, "subsidies.resident", "civil1", Result.OK)]
    assert added[0].detail["reason"] == "核对补贴申领材料" and ZHANG not in str(added[0].detail)
    with new_events() as added:  # a township may not: refused, audited once
        with pytest.raises(PermissionDenied):
            occupancy.resident_unmask(town, r, "核对补贴申领材料")
    assert shape(added) == [(Action.UNMASK, "subsidies.resident", "bj_town", Result.DENIED)]


def test_export(home, civil):
    from tests.factories import login

    c = login(Client(), civil)
    with new_events() as added:
        assert c.get("/institutions/", {"export": "csv"}).status_code == 200
    assert shape(added) == [(Action.EXPORT, "institutions.institution", "civil1", Result.OK)]
    assert added[0].detail == {"rows": 1, "format": "csv"}


def test_import(civil):
    data = (
        "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数,成立日期\n"
        "银子敬老院,91310110666007217T,养老服务机构,敬老院,370306001001,120,2020-01-05\n"
    ).encode()
    with new_events() as added:
        batch = engine.start_import(actor=civil, kind="institutions", data=data, filename="名录.csv")
    assert batch.status == "committed"
    digest = hashlib.sha256(data).hexdigest()
    # One record per step (the upload, the registry's bulk write, the commit), each with the
    # file's hash; the counts on the write and the commit.
    assert [(e.action, e.object_type, e.detail.get("step")) for e in added] == [
        (Action.IMPORT, "sheets.importbatch", "upload"),
        (Action.IMPORT, "institutions.institution", None),
        (Action.IMPORT, "sheets.importbatch", "committed"),
    ]
    assert all(e.username == "civil1" and e.detail["file_sha256"] == digest for e in added)
    assert added[1].detail["created"] == added[2].detail["created"] == 1
