"""Two officers act on one filing at the same moment, each on their own PostgreSQL connection:
exactly one transition is recorded, the other is told 「已被他人处理」 (issue 4)."""

import threading
import time

import pytest
from django.db import connection, connections

from eldercare.workflow import effects
from eldercare.workflow import services as wf
from eldercare.workflow.models import Filing, FilingDocument, FilingStep
from institutions.models import Institution
from tests.factories import RUN_BY_PAYLOAD, make_hospital, ready_filing

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks across two connections: PostgreSQL"
    ),
]


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


def race(actors, action, filing_pk, **kw):
    """Run the same action for each actor in its own thread (own connection), all released
    together. Returns [(actor, "ok" | message)], plus the backend pids that served them."""
    barrier = threading.Barrier(len(actors))
    results, pids = [], set()

    def run(actor):
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pids.add(cur.fetchone()[0])
            barrier.wait()
            wf.filing_transition(actor=actor, filing=filing_pk, action=action, **kw)
            results.append((actor.username, "ok"))
        except wf.TransitionRefused as exc:
            results.append((actor.username, exc.message))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, pids


@pytest.fixture
def slow_effect(monkeypatch):
    """Hold the winner inside its transaction (and its row lock) long enough that the other
    officer's request certainly arrives while it is open."""
    real = effects.apply

    def slow(filing, **kw):
        time.sleep(0.5)
        return real(filing, **kw)

    monkeypatch.setattr(effects, "apply", slow)


def test_two_officers_approving_at_once_yield_one_approval(regions, make_user, slow_effect):
    town = make_user("bj_town", "township", "370306100000")
    officers = [make_user(f"civil{i}", "civil", "370306000000") for i in (1, 2)]
    f = ready_filing(town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    wf.filing_transition(actor=town, filing=f, action="submit")
    wf.filing_transition(actor=officers[0], filing=f, action="accept")

    results, pids = race(officers, "approve", f.pk, comment="同意")
    assert len(pids) == 2  # two connections really
    outcomes = sorted(r[1] == "ok" for r in results)
    assert outcomes == [False, True], results
    loser = next(msg for _, msg in results if msg != "ok")
    assert wf.TAKEN in loser and "已批准" in loser
    assert FilingStep.objects.filter(filing=f, action="approve").count() == 1
    assert FilingDocument.objects.filter(filing=f, kind="decision").count() == 1
    assert (
        Institution.objects.filter(family="eldercare", run_by__isnull=False).count() == 1
    )  # one record, not two
    assert Filing.objects.get(pk=f.pk).status == "approved"


def test_accept_racing_withdraw_leaves_one_consistent_state(regions, make_user, slow_effect):
    """The township withdraws while the officer accepts: whichever is first wins, the other is
    refused; the ledger never shows both."""
    town = make_user("bj_town", "township", "370306100000")
    officer = make_user("civil1", "civil", "370306000000")
    f = ready_filing(town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    wf.filing_transition(actor=town, filing=f, action="submit")
    barrier = threading.Barrier(2)
    results = []

    def run(actor, action):
        try:
            barrier.wait()
            wf.filing_transition(actor=actor, filing=f.pk, action=action, expected_status="submitted")
            results.append(action)
        except wf.TransitionRefused as exc:
            results.append(exc.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=a) for a in ((officer, "accept"), (town, "withdraw"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [r for r in results if r in ("accept", "withdraw")]
    assert len(winners) == 1 and any(wf.TAKEN in r for r in results), results
    steps = list(FilingStep.objects.filter(filing=f).values_list("action", flat=True))
    assert steps == ["submit", winners[0]]
