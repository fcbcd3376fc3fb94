"""目标考核 through the real pages in Chromium (issue 7, "done when"): a health officer opens the
dashboard of the hand-checked county (tests/report_fixtures.py), clicks 「立即重算」 and sees the
run finish (Celery runs eagerly in tests), reads the figures and the trend charts, drills into a
township to the uncovered homes, and downloads the xlsx; a run computed meanwhile by "a
worker" (this process) moves the progress bar and reloads the page."""

import datetime

import openpyxl
import pytest

from assessments import catalogue, compute
from assessments.models import ReportRun
from tests.browser.test_filing_flow import _page, _user
from tests.factories import make_tree
from tests.report_fixtures import COUNTY, T1, build_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_dashboard_recompute_drill_down_and_xlsx(
    browser, live_server, artifacts, monkeypatch, settings, tmp_path
):
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = settings.SESSION_COOKIE_AGE = 400 * 24 * 3600
    make_tree()
    catalogue.install()  # the data migration's rows, removed by the transaction=True flush
    homes = build_county(monkeypatch)  # "today" is 2026-06-01
    _user("health05", "health", COUNTY)
    base = live_server.url
    page = _page(browser, base, "health05")

    # The nav entry leads to the dashboard; pick 2025: nothing computed yet.
    page.click("[data-testid=nav] [data-nav='assessments:reports']")
    assert page.url.startswith(base + "/reports/")
    with page.expect_navigation():
        page.select_option("#rp-year", "2025")
    assert "尚无周村区2025年度的目标考核报告" in page.inner_text("[data-testid=no-report]")

    # 立即重算: the run is computed at once (eager Celery) and the bar shows it finished.
    with page.expect_navigation():
        page.click("[data-testid=recompute]")
    run = ReportRun.objects.get()
    progress = page.locator("[data-testid=run-progress]")
    assert progress.get_attribute("data-status") == "complete"
    assert page.locator("[data-report-progress]").get_attribute("aria-valuenow") == "100"
    assert f"版本 #{run.pk}" in page.inner_text("[data-testid=as-of]")
    assert "评估日 2025-12-31" in page.inner_text("[data-testid=as-of]")
    own = _flat(page.inner_text("[data-testid=own-rows] tr[data-indicator=YL_MED_COVERAGE]"))
    assert "40.00%" in own and "2 / 5" in own and "未达标" in own
    town = page.locator(f"[data-cell='{T1}:YL_MED_COVERAGE']")
    assert "66.67%" in town.inner_text() and town.get_attribute("data-status") == "not_attained"
    assert "数据不足" in page.inner_text("[data-cell='370306200000:YL_MED_COVERAGE']")
    # ECharts drew the trend (served from static/, no inline script) and the table is behind it.
    page.locator("[data-trend-chart=YL_MED_COVERAGE] svg").first.wait_for(state="attached")
    section = page.locator("[data-testid=indicator-section][data-indicator=YL_MED_COVERAGE]")
    section.locator("summary").click()
    assert "40.00" in section.locator("[data-testid=trend-table] tr[data-year='2025']").inner_text()
    page.screenshot(path=str(artifacts / "report-dashboard.png"), full_page=True)

    # Drill into 丝绸路街道's coverage: H3 is its uncovered home; the county's lists three.
    with page.expect_navigation():
        town.locator("a").click()
    assert page.url.endswith(f"/reports/2025/{T1}/YL_MED_COVERAGE/")
    outside = page.inner_text("[data-testid=outside]")
    assert homes["h3"].name in outside and homes["h5"].name not in outside
    with page.expect_navigation():
        page.click(".breadcrumb a")
    with page.expect_navigation():
        page.click("[data-testid=own-rows] tr[data-indicator=YL_MED_COVERAGE] [data-testid=drill]")
    outside = page.inner_text("[data-testid=outside]")
    assert all(homes[k].name in outside for k in ("h3", "h5", "h6"))
    page.screenshot(path=str(artifacts / "report-drill.png"), full_page=True)
    with page.expect_navigation():
        page.click(f"[data-testid=outside] tr[data-institution='{homes['h5'].pk}'] a")
    assert page.url.endswith(f"/institutions/{homes['h5'].pk}/")

    # The xlsx: both level sheets, the county's coverage as a percent.
    page.goto(base + f"/reports/?year=2025&region={COUNTY}")
    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "report.xlsx"
    download.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames[:2] == ["县（区）", "乡镇（街道）"]
    row = next(r for r in book["县（区）"].iter_rows(min_row=9) if r[2].value == "YL_MED_COVERAGE")
    assert (
        row[5].value == pytest.approx(0.4) and row[5].number_format == "0.00%" and row[11].value == "未达标"
    )
    row = next(
        r
        for r in book["乡镇（街道）"].iter_rows(min_row=9)
        if r[0].value == T1 and r[2].value == "YL_MED_COVERAGE"
    )
    assert row[5].value == pytest.approx(0.6667)

    # A run that "a worker" computes while the page watches: the bar moves and the page reloads.
    pending = ReportRun.objects.create(year=2024, root_id=COUNTY, evaluated_on=datetime.date(2024, 12, 31))
    page.goto(base + f"/reports/?year=2024&region={COUNTY}&run={pending.pk}")
    assert page.locator("[data-testid=run-progress]").get_attribute("data-status") == "pending"
    assert "尚无周村区2024年度" in page.inner_text("[data-testid=no-report]")
    with page.expect_navigation(timeout=20000):
        compute.run_inline(pending)
    page.wait_for_load_state()
    assert page.locator("[data-testid=run-progress]").get_attribute("data-status") == "complete"
    # 31 Dec 2024: H1 H2 H3 H4 H5 H6 operating, H1 covered -> 16.67%.
    assert "16.67%" in page.inner_text("[data-testid=own-rows] tr[data-indicator=YL_MED_COVERAGE]")
