"""CSRF is enforced (SECURITY.md, issue 8): a browser-like client (enforce_csrf_checks) POSTing a
representative form without the token gets 403 and nothing changes; the same POST with the page's
token goes through — so the 403 was the CSRF check, not a permission. And no page view opts out:
the only csrf_exempt views are DRF's, whose session authentication enforces CSRF itself.

Already elsewhere, not repeated: a filing transition (tests/functional/test_filing_pages.py::
test_csrf_is_enforced), an import confirmation (tests/functional/test_import_pages.py::
test_unknown_action_and_get_are_refused), a contract termination (tests/functional/
test_contract_pages.py::test_writes_need_post_and_csrf), the API with a browser session
(tests/functional/test_api.py::test_session_api_with_csrf)."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from eldercare.accounts.lockout import is_locked
from institutions.models import Institution, versions_on
from subsidies import payments
from subsidies.models import Application, Decision, Payment, RuleKind
from tests.factories import PASSWORD, csrf_client, make_home, page_token

pytestmark = pytest.mark.django_db
D = datetime.date


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p.callback


def test_no_page_view_is_csrf_exempt():
    exempt = {path: cb for path, cb in walk(get_resolver().url_patterns) if getattr(cb, "csrf_exempt", False)}
    assert exempt, "the API's views should be listed: the walk found nothing"
    for path, cb in exempt.items():
        view = getattr(cb, "cls", None)
        assert view is not None and issubclass(view, APIView), f"{path} is csrf_exempt and not a DRF view"
        for auth in view.authentication_classes:
            if issubclass(auth, SessionAuthentication):
                # DRF checks CSRF for session-authenticated requests: nobody may switch it off.
                assert auth.enforce_csrf is SessionAuthentication.enforce_csrf, (path, auth)


def test_login_form_needs_the_token(make_user):
    make_user("h1", "health")
    c = Client(enforce_csrf_checks=True)
    resp = c.post("/accounts/login/", {"username": "h1", "password": PASSWORD})
    assert resp.status_code == 403
    assert "_auth_user_id" not in c.session
    # Refused before authentication: not even counted as a failed attempt.
    for _ in range(6):
        c.post("/accounts/login/", {"username": "h1", "password": "wrong"})
    assert not is_locked("h1")
    page = c.get("/accounts/login/")
    resp = c.post(
        "/accounts/login/",
        {"username": "h1", "password": PASSWORD, "csrfmiddlewaretoken": page_token(page)},
    )
    assert resp.status_code == 302 and "_auth_user_id" in c.session


def test_institution_edit_needs_the_token(regions, make_user):
    home = make_home(name="萌水颐养院", region="370306100000", opened_on=D(2021, 5, 1))
    civil = csrf_client(make_user("c1", "civil"))
    url = f"/institutions/{home.pk}/edit/"
    form = civil.get(url)
    data = {k: v for k, v in form.context["form"].initial.items() if v is not None}
    data.update({"beds_eldercare": "100", "effective": "2024-01-01", "region": "370306100000"})
    assert civil.post(url, data).status_code == 403
    assert Institution.objects.get(pk=home.pk).beds_eldercare == 80
    assert home.versions.count() == 1
    resp = civil.post(url, {**data, "csrfmiddlewaretoken": page_token(form)})
    assert resp.status_code == 302
    assert versions_on(D(2024, 6, 1)).get(institution=home).beds_eldercare == 100


def test_subsidy_payment_needs_the_token(regions, make_user):
    home = make_home(opened_on=D(2020, 1, 1))
    app = Application.objects.create(
        institution=home,
        rule=RuleKind.OPERATION,
        application_date=D(2026, 1, 10),
        beds=60,
        created_by=make_user("bj_town", "township", "370306100000"),
    )
    decision = Decision.objects.create(
        application=app,
        eligible=True,
        amount=Decimal("60000.00"),
        schedule=[{"due_year": 2026, "amount": "60000.00"}],
        checks=[{"code": "test", "passed": True, "message": "", "clause": "三(一)"}],
    )
    [inst] = payments.schedule_installments(decision=decision)
    fin = csrf_client(make_user("fin1", "finance"))
    url = f"/subsidies/applications/{app.pk}/installments/{inst.pk}/pay/"
    data = {
        f"i{inst.pk}-paid_on": "2026-03-03",
        f"i{inst.pk}-amount": "60000.00",
        f"i{inst.pk}-voucher_no": "CZ-2026-001",
        f"i{inst.pk}-payee_account": "6222000011112222",
        f"i{inst.pk}-funding_source": "county",
    }
    assert fin.post(url, data).status_code == 403
    assert not Payment.objects.exists()
    page = fin.get(f"/subsidies/applications/{app.pk}/")
    assert page.status_code == 200
    assert fin.post(url, {**data, "csrfmiddlewaretoken": page_token(page)}).status_code == 302
    assert Payment.objects.filter(installment=inst).count() == 1


def test_security_admin_unlock_needs_the_token(make_user):
    target = make_user("h1", "health")
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "h1", "password": "wrong"})
    assert is_locked("h1")
    from tests.factories import login

    sec = login(Client(enforce_csrf_checks=True), make_user("sec", "security"))
    assert sec.post(f"/users/{target.pk}/unlock/").status_code == 403
    assert is_locked("h1")
    page = sec.get(f"/users/{target.pk}/")
    assert (
        sec.post(f"/users/{target.pk}/unlock/", {"csrfmiddlewaretoken": page_token(page)}).status_code == 302
    )
    assert not is_locked("h1")
