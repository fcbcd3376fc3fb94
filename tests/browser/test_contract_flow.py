"""医养签约 through the real pages in Chromium (issue 5, "done when"): an uncovered home shows on
the coverage page with the township's health centre suggested; the township clerk registers the
contract from that suggestion, files it (医养签约协议备案) with the signed agreement; a civil
affairs officer accepts and approves; the contract reads 已备案 and the home now counts as
covered (医养签约) — and on a later date, after the term, it does not."""

import datetime

import pytest

from contracts.models import Contract
from eldercare.workflow.models import Filing
from tests.browser.test_filing_flow import _act, _page, _upload, _user
from tests.factories import at, ensure_filing_types, make_home, make_hospital, make_tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = datetime.date


def _contract_services():
    """Data migration rows a transaction=True flush removed (the checklist, the filing type)."""
    import importlib

    from contracts.models import ServiceItem
    from eldercare.workflow.models import FilingType

    for order, (code, name) in enumerate(
        importlib.import_module("contracts.migrations.0002_services_and_filing").SERVICES, 1
    ):
        ServiceItem.objects.get_or_create(code=code, defaults={"name": name, "order": order})
    ensure_filing_types()
    FilingType.objects.filter(code="contract").update(active=True)


def _row(page, home) -> dict:
    cells = page.locator(f"[data-testid=by-township] tr[data-township='{home.region_id[:9]}000']")
    return {k: cells.locator(f"[data-col={k}]").inner_text() for k in ("operating", "covered", "uncovered")}


def test_a_contract_walks_from_uncovered_to_covered(
    browser, live_server, artifacts, monkeypatch, settings, tmp_path
):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = settings.SESSION_COOKIE_AGE = 400 * 24 * 3600
    make_tree()
    _contract_services()
    _user("bj_town", "township", "370306100000")
    _user("civil05", "civil", "370306000000")
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    home = make_home(opened_on=D(2015, 1, 1))
    base = live_server.url

    at(monkeypatch, D(2026, 3, 2))
    town = _page(browser, base, "bj_town")
    town.goto(base + "/contracts/coverage/")
    assert _row(town, home) == {"operating": "1", "covered": "0", "uncovered": "1"}
    uncovered = town.locator(f"[data-testid=uncovered] tr[data-home='{home.pk}']")
    assert hospital.name in uncovered.locator("[data-testid=suggestions]").inner_text()

    # Register the contract (the form pre-filled from the suggestion, or from scratch).
    town.goto(base + "/contracts/new/")
    town.select_option("#id_eldercare", str(home.pk))
    town.select_option("#id_medical", str(hospital.pk))
    town.fill("#id_agreement_no", "BJ-2026-001")
    town.select_option("#id_mode", "agreement")
    town.check("input[name=services][value=checkup]")
    town.select_option("#id_visit_frequency", "monthly")
    town.fill("#id_start", "2026-03-01")
    town.fill("#id_end", "2027-02-28")
    with town.expect_navigation():
        town.click("[data-testid=save]")
    contract = Contract.objects.get()
    assert town.url.endswith(f"/contracts/{contract.pk}/")
    assert "上门巡诊" in town.inner_text("[data-testid=services]")  # implied by the frequency

    # File it: a draft 医养签约协议备案 with the contract as subject, the agreement attached.
    with town.expect_navigation():
        town.click("[data-testid=file]")
    filing = Filing.objects.get()
    assert town.url.endswith(f"/filings/{filing.pk}/") and filing.subject == contract
    _upload(town, "agreement", "application.pdf")
    _act(town, "submit")

    at(monkeypatch, D(2026, 3, 3))
    civil = _page(browser, base, "civil05")
    civil.goto(base + f"/filings/{filing.pk}/")
    assert "BJ-2026-001" in civil.inner_text("[data-testid=subject]")
    _act(civil, "accept")
    _act(civil, "approve", "签约协议内容完整，予以备案。")
    with civil.expect_navigation():
        civil.click("[data-testid=subject]")
    assert "已备案" in civil.inner_text("[data-testid=filed]")
    contract.refresh_from_db()
    assert contract.filed_on == D(2026, 3, 3)

    # Coverage on 31 December 2026 counts it; on 1 March 2027, after the term, it does not.
    civil.goto(base + "/contracts/coverage/?date=2026-12-31")
    assert _row(civil, home) == {"operating": "1", "covered": "1", "uncovered": "0"}
    assert "医养签约" in civil.locator("[data-testid=routes]").text_content()  # in the collapsed list
    civil.screenshot(path=str(artifacts / "contract-coverage.png"), full_page=True)
    civil.goto(base + "/contracts/coverage/?date=2027-03-01")
    assert _row(civil, home) == {"operating": "1", "covered": "0", "uncovered": "1"}
