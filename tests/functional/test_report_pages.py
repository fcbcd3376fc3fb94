"""目标考核 pages (issue 7) on the hand-checked county (tests/report_fixtures.py): the dashboard's
figures, colours and version line; the drill-down to the institutions behind a figure; scope
(a township user sees its own township, 404 elsewhere); 「立即重算」 and its progress; the xlsx,
printable page and PDF (audited exports); and a dashboard whose query count does not grow."""

import io
import re
import shutil
import subprocess
import zlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from assessments.models import ReportRun, RunStatus
from eldercare.audit.models import Action, AuditEvent
from tests.factories import csrf_client, post_form
from tests.report_fixtures import COUNTY, T1, T2, T3, run

pytestmark = pytest.mark.django_db
DASH = "/reports/"


def page(client, url, status=200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp.content.decode()


def flat(fragment: str) -> str:
    """The text of an HTML fragment: inline tags vanish, block tags become spaces."""
    fragment = re.sub(r"</?(span|a)\b[^>]*>", "", fragment)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def cell(html: str, region: str, indicator: str) -> tuple[str, str]:
    """(status, text) of a matrix cell."""
    m = re.search(rf'data-cell="{region}:{indicator}" data-status="(\w+)">(.*?)</td>', html, re.S)
    assert m, (region, indicator)
    return m.group(1), flat(m.group(2))


def own(html: str, indicator: str) -> tuple[str, str]:
    m = re.search(rf'<tr data-indicator="{indicator}" data-status="(\w+)">(.*?)</tr>', html, re.S)
    assert m, indicator
    return m.group(1), flat(m.group(2))


# -- the dashboard --------------------------------------------------------------------------------
def test_the_dashboard_shows_the_hand_checked_figures(report, health, client, login):
    login(client, health)
    html = page(client, f"{DASH}?year=2025&region={COUNTY}")
    assert "数据截至 " in html and "评估日 2025-12-31" in html and f"版本 #{report.pk}" in html
    status, text = own(html, "YL_MED_COVERAGE")
    assert status == "not_attained" and "40.00%" in text and "2 / 5" in text and "-60.00" in text
    status, text = own(html, "FD_SIGNING_RATE")
    assert status == "insufficient_data" and "73.33%" in text and "2/3" in text and "继承" in text
    status, text = own(html, "YL_BEDS")
    assert status == "not_attained" and "400 张" in text and "4200 张" in text and "-3800" in text

    # The matrix: 丝绸路街道 66.67 (inherited target, rank 1), 北郊镇 0.00 (rank 2), 南郊镇 数据不足.
    status, text = cell(html, T1, "YL_MED_COVERAGE")
    assert status == "not_attained" and "66.67%" in text and "第1名" in text and "（继承）" in text
    assert "差距 -33.33" in text and "3/3" in text
    assert (
        cell(html, T2, "YL_MED_COVERAGE")[0] == "not_attained"
        and "0.00%" in cell(html, T2, "YL_MED_COVERAGE")[1]
    )
    status, text = cell(html, T3, "YL_MED_COVERAGE")
    assert status == "insufficient_data" and "数据不足" in text and "0.00%" not in text  # never 0%
    status, text = cell(html, T1, "FD_SIGNING_RATE")
    assert status == "not_attained" and "80.00%" in text and "目标 85.00" in text and "继承" not in text
    assert cell(html, T1, "GOV_YL_MED_COVERAGE")[0] == "no_target"
    # Colours: red, grey; a neutral no-target cell.
    assert re.search(rf'class="table-danger small text-nowrap" data-cell="{T1}:YL_MED_COVERAGE"', html)
    assert re.search(rf'class="table-secondary small text-nowrap" data-cell="{T3}:YL_MED_COVERAGE"', html)
    # Ranking, the trend's data (json_script + table) and the scorecard are on the page.
    assert 'id="report-trend"' in html and 'data-testid="trend-table"' in html
    assert 'data-trend-chart="YL_MED_COVERAGE"' in html and "echarts.min.js" in html
    assert 'data-testid="scorecard"' in html
    assert "<script>" not in html and "onclick" not in html  # CSP: no inline scripts


def test_the_scorecard_uses_the_stored_rows_and_todays_weights(report, health, client, login):
    from decimal import ROUND_HALF_UP, Decimal

    from assessments.models import Indicator
    from assessments.target_services import indicator_weight_set

    def score_cell(html, region):
        row = re.search(
            rf'<tr data-region="{region}"[^>]*>(.*?)</tr>', html.split('data-testid="scorecard"')[1], re.S
        )
        return re.search(r'data-col="score">([^<]*)<', row.group(1)).group(1), flat(row.group(1))

    def expect(weights):
        # 丝绸路街道's indicators with a target and data: coverage 2/3 of 100 (inherited), green
        # channel 1/1 of 100 (inherited), family-doctor signing 80 of its own 85. The county's
        # 4,200 beds is the county's own count target, not inherited by its townships.
        parts = {
            "YL_MED_COVERAGE": D(2) / 3,
            "GREEN_CHANNEL_RATE": D(1),
            "FD_SIGNING_RATE": D(80) / 85,
        }
        total = sum(weights.get(k, 1) * v for k, v in parts.items()) / sum(weights.get(k, 1) for k in parts)
        return str((100 * total).quantize(D("0.01"), rounding=ROUND_HALF_UP))

    D = Decimal
    login(client, health)
    html = page(client, f"{DASH}?year=2025&region={COUNTY}")
    shown, text = score_cell(html, T1)
    assert shown == expect({}) == "86.93"
    assert "养老服务机构医养结合服务覆盖率：1.00 × 0.6667" in text and "老年人满意度（无目标）" in text
    # Through the service (as the catalogue page and the API do): the cached page shows it next.
    indicator_weight_set(actor=health, indicator=Indicator.objects.get(code="FD_SIGNING_RATE"), weight=3)
    html = page(client, f"{DASH}?year=2025&region={COUNTY}")
    assert score_cell(html, T1)[0] == expect({"FD_SIGNING_RATE": 3}) == "89.80"
    # 南郊镇: no institutions (coverage left out: 数据不足) and no township report — the
    # family-doctor target it inherits scores 0 (not reporting never raises a score).
    shown, text = score_cell(html, T3)
    assert shown == "0.00" and "养老服务机构医养结合服务覆盖率（数据不足）" in text and "未报送，计 0" in text


def test_a_reopened_correction_is_marked_changed(county, health, client, login):
    from assessments.models import TownshipReport

    rep = TownshipReport.objects.get(region_id=T1, year=2025)
    rep.values = {**rep.values, "fd_signed60": 850}
    rep.status = "reopened"
    rep.save()
    run(2025)
    login(client, health)
    html = page(client, f"{DASH}?year=2025&region={COUNTY}")
    status, text = cell(html, T1, "FD_SIGNING_RATE")
    assert "有修订" in text and "80.00%" in text  # the accepted value still counts
    assert "有修订" not in cell(html, T2, "FD_SIGNING_RATE")[1]
    assert "有修订" in own(html, "FD_SIGNING_RATE")[1]


def test_no_report_yet_says_so_and_offers_recompute(county, health, client, login):
    login(client, health)
    html = page(client, f"{DASH}?year=2025&region={COUNTY}")
    assert 'data-testid="no-report"' in html and "尚无周村区2025年度的目标考核报告" in html
    assert 'data-testid="recompute"' in html and 'data-testid="export-xlsx"' not in html


def test_defaults_to_the_users_region_and_this_year(report, silk, client, login):
    login(client, silk)
    html = page(client, DASH)
    assert "丝绸路街道 · 2026年度" in html and 'data-testid="no-report"' in html  # no 2026 run yet
    assert 'data-testid="recompute"' not in html  # township users may not recompute


def test_a_township_user_sees_its_own_township_only(report, silk, client, login):
    login(client, silk)
    html = page(client, f"{DASH}?year=2025")
    status, text = own(html, "YL_MED_COVERAGE")
    assert status == "not_attained" and "66.67%" in text
    assert 'data-testid="matrix"' not in html and "北郊镇" not in html
    assert 'data-testid="export-xlsx"' not in html  # no export permission
    page(client, f"{DASH}?year=2025&region={COUNTY}", 404)
    page(client, f"{DASH}?year=2025&region={T2}", 404)
    page(client, f"{DASH}?year=2025&region=370307001000", 404)
    page(client, f"{DASH}?year=2025&region=abc", 404)
    page(client, f"/reports/2025/{T1}/YL_MED_COVERAGE/")
    page(client, f"/reports/2025/{T2}/YL_MED_COVERAGE/", 404)
    page(client, f"/reports/2025/{COUNTY}/YL_MED_COVERAGE/", 404)
    page(client, f"/reports/runs/{report.pk}/progress/")  # its county's run covers it
    assert client.get(reverse("assessments:report_xlsx") + f"?year=2025&region={T1}").status_code == 403


def test_another_countys_user_gets_404(report, make_user, client, login):
    login(client, make_user("other_health", "health", "370307000000"))
    page(client, f"{DASH}?year=2025&region={COUNTY}", 404)
    page(client, f"/reports/2025/{T1}/YL_MED_COVERAGE/", 404)
    page(client, f"/reports/runs/{report.pk}/progress/", 404)
    page(client, reverse("assessments:report_xlsx") + f"?year=2025&region={COUNTY}", 404)
    html = page(client, f"{DASH}?year=2025")  # its own county: no report (the run is 周村区's)
    assert 'data-testid="no-report"' in html


# -- the drill-down ---------------------------------------------------------------------------------
def test_drill_down_lists_the_uncovered_homes(county, report, health, client, login):
    login(client, health)
    html = page(client, f"/reports/2025/{COUNTY}/YL_MED_COVERAGE/")
    assert 'data-col="fraction">2 / 5' in html
    outside = html.split('data-testid="outside"')[1].split("</table>")[0]
    for key in ("h3", "h5", "h6"):
        h = county[key]
        assert h.name in outside and reverse("institutions:detail", args=[h.pk]) in outside
    assert county["h1"].name not in outside and county["h2"].name not in outside
    assert county["h4"].name not in html  # closed on 15 Nov 2025: not in the population
    numerator = html.split('data-testid="numerator"')[1].split("</table>")[0]
    assert county["h1"].name in numerator and county["h2"].name in numerator
    assert 'data-testid="outside-count">3<' in html

    # A township's drill-down: only its own homes.
    html = page(client, f"/reports/2025/{T2}/YL_MED_COVERAGE/")
    outside = html.split('data-testid="outside"')[1].split("</table>")[0]
    assert county["h5"].name in outside and county["h6"].name in outside and county["h3"].name not in outside

    # 未填报: the village clinic's green channel.
    html = page(client, f"/reports/2025/{COUNTY}/GREEN_CHANNEL_RATE/")
    missing = html.split('data-testid="missing"')[1].split("</table>")[0]
    assert "银子社区卫生室" in missing and 'data-testid="missing-count">1<' in html


def test_drill_down_of_a_reported_indicator_names_the_townships_not_reported(report, health, client, login):
    login(client, health)
    html = page(client, f"/reports/2025/{COUNTY}/FD_SIGNING_RATE/")
    reported = html.split('data-testid="reported"')[1].split("</table>")[0]
    assert "丝绸路街道" in reported and "北郊镇" in reported and "800" in reported and "1000" in reported
    not_reported = html.split('data-testid="not-reported"')[1].split("</div>")[0]
    assert f'data-township="{T3}"' in not_reported and "南郊镇" in not_reported
    assert "丝绸路街道" not in not_reported
    assert 'data-testid="not-reported-count">1<' in html


def test_drill_down_refuses_unknown_things(report, health, client, login):
    login(client, health)
    page(client, f"/reports/2025/{COUNTY}/NO_SUCH/", 404)
    page(client, f"/reports/1999/{COUNTY}/YL_MED_COVERAGE/", 404)
    page(client, f"/reports/2030/{COUNTY}/YL_MED_COVERAGE/", 404)
    page(client, "/reports/2025/123/YL_MED_COVERAGE/", 404)
    assert 'data-testid="no-report"' in page(client, f"/reports/2024/{COUNTY}/YL_MED_COVERAGE/")


# -- recompute and progress ----------------------------------------------------------------------------
def test_recompute_starts_a_run_and_the_progress_endpoint_reports_it(
    county, health, django_capture_on_commit_callbacks
):
    client = csrf_client(health)
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_form(
            client,
            f"{DASH}?year=2025&region={COUNTY}",
            reverse("assessments:report_recompute"),
            {"year": "2025", "region": COUNTY},
        )
    new = ReportRun.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"?year=2025&region={COUNTY}&run={new.pk}")
    assert new.root_id == COUNTY and new.requested_by == health and new.reason == "manual"
    assert new.status == RunStatus.COMPLETE  # Celery runs eagerly in tests
    data = client.get(reverse("assessments:report_progress", args=[new.pk])).json()
    assert data == {
        "id": new.pk,
        "status": "complete",
        "status_label": "已完成",
        "progress": 100,
        "slices_done": 1,
        "slices_total": 1,
        "error": None,
        "done": True,
    }
    html = page(client, resp["Location"])
    assert 'data-testid="run-progress" data-status="complete"' in html and 'aria-valuenow="100"' in html
    assert "66.67%" in flat(html)
    assert AuditEvent.objects.filter(action="report.recompute", username=health.username).exists()


def test_progress_of_a_pending_run_and_the_dashboard_bar(county, health, client, login):
    login(client, health)
    pending = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on="2025-12-31")
    data = client.get(reverse("assessments:report_progress", args=[pending.pk])).json()
    assert (data["status"], data["progress"], data["done"]) == ("pending", 0, False)
    html = page(client, f"{DASH}?year=2025&region={COUNTY}")
    assert 'data-testid="run-progress" data-status="pending"' in html
    assert (
        f'data-report-progress="/reports/runs/{pending.pk}/progress/"' in html
        and "report-progress.js" in html
    )
    ReportRun.objects.filter(pk=pending.pk).update(status=RunStatus.RUNNING, slices_total=4, slices_done=2)
    data = client.get(reverse("assessments:report_progress", args=[pending.pk])).json()
    assert (data["progress"], data["slices_done"], data["slices_total"]) == (52, 2, 4)
    ReportRun.objects.filter(pk=pending.pk).update(status=RunStatus.FAILED, error="boom")
    data = client.get(reverse("assessments:report_progress", args=[pending.pk])).json()
    assert data["error"] == "boom" and data["done"] is True


def test_recompute_needs_its_permission_and_scope(county, make_user, civil, silk):
    # civil affairs reads and exports reports but does not recompute; a township user neither.
    for user in (civil, silk):
        client = csrf_client(user)
        resp = post_form(
            client, DASH + "?year=2025", reverse("assessments:report_recompute"), {"year": "2025"}
        )
        assert resp.status_code == 403
    other = csrf_client(make_user("other_health", "health", "370307000000"))
    resp = post_form(
        other,
        DASH + "?year=2025",
        reverse("assessments:report_recompute"),
        {"year": "2025", "region": COUNTY},
    )
    assert resp.status_code == 404 and not ReportRun.objects.exists()
    # GET is refused, and CSRF is enforced.
    health_client = csrf_client(make_user("h2", "health", COUNTY))
    assert health_client.get(reverse("assessments:report_recompute")).status_code == 405
    assert health_client.post(reverse("assessments:report_recompute"), {"year": "2025"}).status_code == 403


def test_recompute_of_a_future_year_is_refused_with_a_message(county, health):
    client = csrf_client(health)
    resp = post_form(
        client, DASH, reverse("assessments:report_recompute"), {"year": "2031", "region": COUNTY}, follow=True
    )
    assert resp.status_code == 200 and "年度应为 2000–2026 之间的年份" in resp.content.decode()
    assert not ReportRun.objects.exists()


# -- exports ---------------------------------------------------------------------------------------
def test_the_xlsx_has_a_sheet_per_level_with_the_figures(report, health, client, login):
    login(client, health)
    resp = client.get(reverse("assessments:report_xlsx") + f"?year=2025&region={COUNTY}")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attainment-370306000000-2025.xlsx" in resp["Content-Disposition"]
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["县（区）", "乡镇（街道）", "综合评分"]
    county_sheet, towns = book["县（区）"], book["乡镇（街道）"]
    assert county_sheet["A1"].value == "周村区2025年度医养结合目标考核达标情况（县（区））"
    meta = {
        county_sheet.cell(row=r, column=1).value: county_sheet.cell(row=r, column=2).value
        for r in range(2, 7)
    }
    assert meta["区划"] == "周村区（370306000000）" and meta["年度"] == "2025"
    assert meta["评估日"] == "2025-12-31" and meta["数据截至"] and meta["报告版本"] == f"#{report.pk}"
    header = [c.value for c in county_sheet[8]]
    assert header[:6] == ["区划代码", "区划名称", "指标代码", "指标名称", "单位", "值"]
    assert county_sheet.freeze_panes == "C9" and county_sheet["A8"].font.bold

    def line(ws, region, indicator):
        for row in ws.iter_rows(min_row=9):
            if row[0].value == region and row[2].value == indicator:
                return row
        raise AssertionError((region, indicator))

    cov = line(county_sheet, COUNTY, "YL_MED_COVERAGE")
    assert cov[5].value == pytest.approx(0.4) and cov[5].number_format == "0.00%"
    assert (cov[6].value, cov[7].value, cov[8].value, cov[10].value) == (2, 5, 1.0, -60.0)
    assert cov[11].value == "未达标" and cov[11].fill.fgColor.rgb.endswith("FFC7CE")
    beds = line(county_sheet, COUNTY, "YL_BEDS")
    assert (beds[5].value, beds[7].value, beds[8].value, beds[10].value) == (400, None, 4200, -3800)
    t1 = line(towns, T1, "YL_MED_COVERAGE")
    assert (
        t1[5].value == pytest.approx(0.6667) and t1[12].value == 1 and t1[9].value.startswith("继承自周村区")
    )
    t3 = line(towns, T3, "YL_MED_COVERAGE")
    assert t3[5].value is None and t3[11].value == "数据不足" and t3[11].fill.fgColor.rgb.endswith("D9D9D9")
    assert line(towns, T1, "FD_SIGNING_RATE")[13].value == "1/1"
    ev = AuditEvent.objects.get(action=Action.EXPORT, username=health.username)
    assert ev.detail["format"] == "xlsx" and ev.detail["run"] == report.pk and ev.detail["region"] == COUNTY


def test_xlsx_text_cells_are_formula_neutralised(report, health, client, login):
    from eldercare.regions.models import Region

    Region.objects.filter(code=T2).update(name='=HYPERLINK("x")')
    login(client, health)
    book = load_workbook(io.BytesIO(client.get(reverse("assessments:report_xlsx") + "?year=2025").content))
    names = {row[1].value for row in book["乡镇（街道）"].iter_rows(min_row=9)}
    assert '\'=HYPERLINK("x")' in names and not any(str(n).startswith("=") for n in names)


def test_exports_need_a_report_and_the_permission(county, health, silk, client, login):
    login(client, health)
    resp = client.get(reverse("assessments:report_xlsx") + "?year=2025")
    assert resp.status_code == 302  # no report yet: back to the dashboard with a message
    login(client, silk)
    assert client.get(reverse("assessments:report_print") + "?year=2025").status_code == 403


def test_the_printable_page(report, health, client, login):
    login(client, health)
    html = page(client, reverse("assessments:report_print") + f"?year=2025&region={COUNTY}")
    assert "周村区2025年度医养结合目标考核达标情况" in html and "评估日：2025-12-31" in html
    assert "数据截至：" in html and f"报告版本 #{report.pk}" in html
    assert 'data-testid="print"' in html and "css/report-document.css" in html and "<script>" not in html
    assert "40.00%" in html and "66.67%" in html and "数据不足" in html
    assert AuditEvent.objects.filter(action=Action.EXPORT, detail__format="html").exists()


# -- the PDF -------------------------------------------------------------------------------------
def _noto_cjk_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False
    out = subprocess.run([fc_list], capture_output=True, text=True).stdout  # noqa: S603 - fixed arguments
    return "Noto Sans CJK SC" in out and "Noto Serif CJK SC" in out


def _font_names(pdf: bytes) -> str:
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            streams.append(raw)
    return b"\n".join([pdf, *streams]).decode("latin-1")


def test_the_pdf_renders_in_noto_cjk(report, health, client, login, tmp_path):
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        pytest.skip("WeasyPrint (or Pango) is not installed")
    if not _noto_cjk_installed():
        pytest.skip("fonts-noto-cjk is not installed (Noto Sans/Serif CJK SC): Chinese would print as boxes")
    login(client, health)
    resp = client.get(reverse("assessments:report_pdf") + f"?year=2025&region={COUNTY}")
    assert resp.status_code == 200, resp.content[:300]
    assert resp["Content-Type"] == "application/pdf" and resp.content.startswith(b"%PDF")
    assert resp["Content-Disposition"].startswith("inline;")
    names = _font_names(resp.content).replace("-", "")
    assert "NotoSansCJKSC" in names and "NotoSerifCJKSC" in names
    fonts = re.findall(r"/BaseFont\s*/([A-Z]{6}\+)?([\w-]+)", _font_names(resp.content))
    assert fonts and all("CJK" in name for _tag, name in fonts), fonts  # no fallback font: no tofu
    tool = shutil.which("pdftotext")
    if tool:
        path = tmp_path / "report.pdf"
        path.write_bytes(resp.content)
        out = subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)  # noqa: S603
        text = re.sub(r"\s+", "", out.stdout.decode())
        for phrase in (
            "周村区2025年度医养结合目标考核达标情况",
            "评估日：2025-12-31",
            "丝绸路街道",
            "66.67%",
            "数据不足",
        ):
            assert phrase in text, phrase
        assert "打印" not in text.replace("打印日期", "")  # the toolbar is not on the paper
    assert AuditEvent.objects.filter(action=Action.EXPORT, detail__format="pdf").exists()


def test_the_pdf_answers_503_without_weasyprint(report, health, client, login, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)
    login(client, health)
    resp = client.get(reverse("assessments:report_pdf") + "?year=2025")
    assert resp.status_code == 503 and "PDF 生成组件未安装" in resp.content.decode()


# -- the home card and the navigation ---------------------------------------------------------------------
def test_the_home_card_and_the_nav_entry(report, health, client, login, monkeypatch):
    login(client, health)
    html = page(client, "/")
    # 周村区 2026: no run; 2025: targets for YL_MED_COVERAGE, GREEN, YL_BEDS, FD (inherited) -> 0 of 4.
    assert "2025年目标达标（周村区）" in html and "0 / 4" in html
    assert 'data-nav="assessments:reports"' in html and "目标考核" in html
    html = page(client, DASH)
    assert re.search(r'class="nav-link active" href="/reports/" data-nav="assessments:reports"', html)
    html = page(client, "/reports/township/")
    assert not re.search(r'class="nav-link active" href="/reports/"', html)


# -- query counts ------------------------------------------------------------------------------------
def queries(client, url, *, cold: bool = False) -> int:
    """The queries of one request; `cold`: with the rendered report not in the cache (a cleared
    cache has no data version: a new one, under which nothing is cached yet)."""
    if cold:
        from django.core.cache import cache

        cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_dashboard_reads_stored_rows_in_a_constant_number_of_queries(county, health, login, monkeypatch):
    from tests.factories import RegionFactory

    client = login(Client(), health)
    for year in (2024, 2025):
        run(year)
    url = f"{DASH}?year=2025&region={COUNTY}"
    queries(client, url)  # warm-up: the first request also refreshes the session
    few = queries(client, url, cold=True)
    # More townships, more years of reports, another version: the same number of queries.
    for i in range(5):
        RegionFactory(code=f"370306{300 + i}000", name=f"新镇{i}", parent_id=COUNTY)
    for year in (2022, 2023, 2025):
        run(year)
    assert queries(client, url, cold=True) == few
    # On a warm cache the rendered report is not read again: fewer queries still.
    assert queries(client, url) < few
    # ... and nothing is computed on load.
    before = ReportRun.objects.count()
    client.get(url)
    assert ReportRun.objects.count() == before
