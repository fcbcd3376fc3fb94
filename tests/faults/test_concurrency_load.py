"""Concurrency under load (issue 8; SECURITY.md "two officers approving at once yields exactly
one transition"; "money rows have unique constraints that make double payment impossible").

The per-issue tests race two officers through the services (tests/integration/
test_filing_concurrency.py, test_subsidy_payments.py). Here 16 officers act at once through
the real entry points — the filings API and the finance page's pay form — each on its own
thread, client and PostgreSQL connection, released together by a barrier. The winner is held
inside its transaction for a moment (as the two-officer tests do) so the others certainly
arrive while its row lock is held; a monitor samples pg_stat_activity to show they did wait.

Asserted: exactly one transition / one payment; every other officer gets the Chinese refusal
(409 「已被他人处理」 from the API; 「该期补助已拨付，不能重复拨付。」 on the page), each refusal
audited; no 500, no deadlock.
"""

import datetime
import threading
import time

import pytest
from django.contrib.messages import get_messages
from django.db import connections
from django.test import Client

from eldercare.audit.models import AuditEvent, Result
from eldercare.workflow import effects
from eldercare.workflow import services as wf
from eldercare.workflow.models import Filing, FilingDocument, FilingStep
from institutions.models import Institution
from subsidies import payments
from subsidies.models import Installment, Payment
from tests.factories import RUN_BY_PAYLOAD, at, login, make_hospital, make_user, ready_filing

from .conftest import needs_postgres, pg_admin

pytestmark = [pytest.mark.postgres, needs_postgres, pytest.mark.django_db(transaction=True)]

OFFICERS = 16
HOLD = 0.5  # seconds the winner keeps its transaction open


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


class LockWatch:
    """Samples how many backends of the test database wait on a lock (the losers queueing
    behind the winner's row lock)."""

    def __init__(self):
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        admin = pg_admin()
        try:
            while not self._stop.is_set():
                with admin.cursor() as cur:
                    cur.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    self.most = max(self.most, cur.fetchone()[0])
                time.sleep(0.02)
        finally:
            admin.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def race(clients, request):
    """`request(client)` on every client at once, one thread each; [(status, message)]."""
    barrier = threading.Barrier(len(clients))
    results, errors = [], []

    def run(client):
        try:
            barrier.wait(30)
            results.append(request(client))
        except Exception as exc:  # a 500 raises in the test client: keep it for the assertion
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a request hung (deadlock?)"
    assert not errors, errors
    return results


def test_sixteen_officers_approving_one_filing_through_the_api_yield_one_approval(monkeypatch):
    from tests.factories import make_tree

    make_tree()
    town = make_user("bj_town", "township", "370306100000")
    officers = [make_user(f"civil{i:02d}", "civil", "370306000000") for i in range(OFFICERS)]
    f = ready_filing(town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    wf.filing_transition(actor=town, filing=f, action="submit")
    wf.filing_transition(actor=officers[0], filing=f, action="accept")
    real = effects.apply

    def slow(filing, **kw):
        time.sleep(HOLD)
        return real(filing, **kw)

    monkeypatch.setattr(effects, "apply", slow)
    clients = [login(Client(), o) for o in officers]

    def approve(client):
        resp = client.post(
            f"/api/v1/filings/{f.pk}/transitions/",
            {"action": "approve", "comment": "同意", "expected_status": "accepted"},
            content_type="application/json",
        )
        return resp.status_code, resp.json().get("detail", "")

    with LockWatch() as watch:
        t0 = time.monotonic()
        results = race(clients, approve)
        took = time.monotonic() - t0
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * (OFFICERS - 1), results
    assert all(wf.TAKEN in msg for s, msg in results if s == 409), results
    assert FilingStep.objects.filter(filing=f, action="approve").count() == 1
    assert FilingDocument.objects.filter(filing=f, kind="decision").count() == 1
    assert Institution.objects.filter(family="eldercare", run_by__isnull=False).count() == 1
    assert Filing.objects.get(pk=f.pk).status == "approved"
    denied = AuditEvent.objects.filter(
        object_type="workflow.filing", object_id=str(f.pk), result=Result.DENIED
    )
    assert denied.count() == OFFICERS - 1
    assert watch.most >= 2, f"no officer ever waited on the winner's lock (max waiting {watch.most})"
    print(f"{OFFICERS} approvals in {took:.2f} s; at most {watch.most} waiting on a lock at once")


def test_sixteen_finance_officers_paying_one_installment_through_the_page_yield_one_payment(monkeypatch):
    from tests.factories import make_tree
    from tests.integration.test_subsidy_payments import home, rented_60

    make_tree()
    at(monkeypatch, datetime.date(2026, 12, 2))
    officers = [make_user(f"fin{i:02d}", "finance", "370306000000") for i in range(OFFICERS)]
    first = rented_60(home())[0]
    real = payments.record

    def slow(*args, **kw):
        time.sleep(HOLD)
        return real(*args, **kw)

    monkeypatch.setattr(payments, "record", slow)
    clients = [login(Client(), o) for o in officers]
    url = f"/subsidies/applications/{first.application_id}/installments/{first.pk}/pay/"

    def pay(client):
        n = officers[clients.index(client)].username
        resp = client.post(
            url,
            {
                f"i{first.pk}-paid_on": "2025-06-10",
                f"i{first.pk}-amount": str(first.amount),
                f"i{first.pk}-voucher_no": f"V-{n}",
                f"i{first.pk}-payee_account": "6228480000000000001",
                f"i{first.pk}-funding_source": "county",
            },
        )
        return resp.status_code, " ".join(str(m) for m in get_messages(resp.wsgi_request))

    with LockWatch() as watch:
        t0 = time.monotonic()
        results = race(clients, pay)
        took = time.monotonic() - t0
    assert all(status == 302 for status, _ in results), results
    paid = [msg for _, msg in results if msg.startswith("已登记")]
    refused = [msg for _, msg in results if "该期补助已拨付，不能重复拨付" in msg]
    assert len(paid) == 1 and len(refused) == OFFICERS - 1, results
    assert Payment.objects.filter(installment_id=first.pk).count() == 1
    assert Installment.objects.get(pk=first.pk).status == "paid"
    denied = AuditEvent.objects.filter(
        object_type="subsidies.installment", object_id=str(first.pk), result=Result.DENIED
    )
    assert denied.count() == OFFICERS - 1
    assert watch.most >= 2, f"no officer ever waited on the winner's lock (max waiting {watch.most})"
    print(f"{OFFICERS} payments in {took:.2f} s; at most {watch.most} waiting on a lock at once")
