"""Finance's 「按更正后的决定调整拨付计划」 on the application page (issue 6): shown once a correction
superseded a decision whose schedule has installments; it calls
subsidies.payments.reconcile_schedule and says what happened (stopped, rescheduled, flagged for
recovery); a second press changes nothing and says so; finance's alone (403), in scope (404)."""

import datetime
from decimal import Decimal

import pytest

from eldercare.audit.models import AuditEvent
from institutions import services as registry
from subsidies import payments, services
from subsidies.models import Installment
from tests.factories import at, csrf_client, make_home, make_hospital, post_form
from tests.functional.test_subsidy_pages import LIST, approved_rented, messages_of, text

pytestmark = pytest.mark.django_db
D = datetime.date
BUTTON = 'data-testid="reconcile-button"'


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def users(make_user):
    """As in test_subsidy_pages (approved_rented's cast)."""
    return {
        "town": make_user("bj_town", "township", "370306100000"),
        "civil": make_user("civil1", "civil", "370306000000"),
        "finance": make_user("fin1", "finance", "370306000000"),
    }


@pytest.fixture
def run(regions):
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    return make_home(name="卫生院医养中心", run_by=hospital.pk, beds_eldercare=60, opened_on=D(2020, 1, 1))


def corrected(users, run, monkeypatch):
    """Approved for 60 beds (5 × 60,000.00 from 2026), 2026 paid, then corrected to 50 beds."""
    app = approved_rented(users, run, monkeypatch)
    first = Installment.objects.get(application=app, due_year=2026)
    payments.payment_record(
        actor=users["finance"], installment=first, paid_on=D(2026, 3, 3), amount=first.amount,
        voucher_no="CZ-2026-001", payee_account="6222000011112222", funding_source="county",
    )  # fmt: skip
    page = text(csrf_client(users["finance"]).get(f"{LIST}{app.pk}/"))
    assert BUTTON not in page and 'data-testid="reconcile"' not in page  # nothing to reconcile yet
    registry.institution_change(
        actor=users["civil"], institution=run, changes={"beds_eldercare": 50}, effective=D(2026, 1, 1)
    )
    app.beds = 50
    app.save(update_fields=["beds"])
    services.decision_correct(actor=users["civil"], application=app, reason="核定床位应为 50 张")
    return app


def test_finance_reconciles_once_and_is_told_what_happened(users, run, monkeypatch):
    app = corrected(users, run, monkeypatch)
    fin = csrf_client(users["finance"])
    url = f"{LIST}{app.pk}/"
    page = text(fin.get(url))
    assert BUTTON in page and "按更正后的决定调整拨付计划" in page
    assert 'data-confirm="确定按更正后的决定调整拨付计划？' in page  # asks first
    assert "将停止原计划中尚未拨付的 4 期、新安排 4 期，并将 1 期已拨付的列入追回" in page

    resp = post_form(fin, url, f"{url}reconcile/", follow=True)
    assert resp.redirect_chain[-1][0] == f"{url}#installments"
    assert messages_of(resp) == [
        "已按更正后的决定调整拨付计划：停止原计划中尚未拨付的 4 期（2027、2028、2029、2030 年）；"
        "按更正后的核定新安排 4 期（2027 年 ¥50,000.00；2028 年 ¥50,000.00；2029 年 ¥50,000.00；"
        "2030 年 ¥50,000.00）；已拨付的 1 期列入追回（2026 年多拨 ¥10,000.00）。"
    ]
    rows = list(
        Installment.objects.filter(application=app)
        .order_by("due_year", "id")
        .values_list("due_year", "amount", "status", "recovery_flag")
    )
    assert rows == [
        (2026, Decimal("60000.00"), "paid", True),
        *[
            row
            for y in range(2027, 2031)
            for row in (
                (y, Decimal("60000.00"), "stopped", False),
                (y, Decimal("50000.00"), "scheduled", False),
            )
        ],
    ]
    body = text(resp)
    assert BUTTON not in body and 'data-testid="reconciled"' in body and "列入追回" in body

    # A second press (a stale page, a double click): nothing changes, and it says so.
    events = AuditEvent.objects.count()
    resp = post_form(fin, url, f"{url}reconcile/", follow=True)
    assert messages_of(resp) == ["拨付计划已与更正后的决定一致，本次未作任何修改。"]
    assert Installment.objects.filter(application=app).count() == 9
    assert AuditEvent.objects.count() == events


def test_every_change_is_audited_with_the_finance_officer(users, run, monkeypatch):
    app = corrected(users, run, monkeypatch)
    fin = csrf_client(users["finance"])
    url = f"{LIST}{app.pk}/"
    before = AuditEvent.objects.count()
    post_form(fin, url, f"{url}reconcile/")
    events = AuditEvent.objects.filter(object_type="subsidies.installment").order_by("-id")[:9]
    assert AuditEvent.objects.count() == before + 9  # 4 stopped, 1 flagged, 4 created
    assert {e.actor_id for e in events} == {users["finance"].pk}
    assert all("reconcile" in e.detail for e in events)


def test_only_finance_in_scope_may_reconcile(users, run, monkeypatch, make_user):
    app = corrected(users, run, monkeypatch)
    url = f"{LIST}{app.pk}/"
    civil = csrf_client(users["civil"])
    page = text(civil.get(url))
    assert 'data-testid="reconcile"' in page and BUTTON not in page  # told, not offered
    assert "由财政部门调整拨付计划" in page
    for who in ("civil", "town"):
        assert post_form(csrf_client(users[who]), url, f"{url}reconcile/").status_code == 403
    other = csrf_client(make_user("fin_other", "finance", "370307000000"))
    assert other.get(url).status_code == 404
    assert post_form(other, LIST, f"{url}reconcile/").status_code == 404
    assert not Installment.objects.filter(application=app, status="stopped").exists()


def test_nothing_to_reconcile_is_a_message(users, run, monkeypatch):
    app = approved_rented(users, run, monkeypatch)
    fin = csrf_client(users["finance"])
    url = f"{LIST}{app.pk}/"
    at(monkeypatch, D(2026, 3, 4))
    resp = post_form(fin, url, f"{url}reconcile/", follow=True)
    assert messages_of(resp) == ["未调整拨付计划：该申请没有需要核对的原拨付计划。"]
    assert Installment.objects.filter(application=app).count() == 5
