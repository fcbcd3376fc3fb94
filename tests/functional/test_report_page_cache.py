"""The dashboard's cached report (issue 8; assessments/report_views.dashboard): the picker and the
report below the header bar are rendered once per (versions shown, region, year, viewer's region,
permissions) and data version. Here: a cached page is the uncached one byte for byte; a write
through the service layer, a new version (even one that completes without a data-version
change) and a region's new name show on the next request; another region, another scope and
another role each see their own; the header bar (「立即重算」 with its CSRF token) and the
progress of a version being computed stay per request; and a warm page runs fewer queries."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.safestring import mark_safe

from assessments.models import Indicator, ReportRun, RunStatus
from eldercare.core import dataversion, pagecache
from tests.factories import csrf_client, post_form
from tests.report_fixtures import COUNTY, T1, T2, run

pytestmark = pytest.mark.django_db
DASH = "/reports/"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def get(client, url) -> tuple[str, int]:
    """(the page without its per-request CSRF token, the number of queries)."""
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return CSRF.sub('name="csrfmiddlewaretoken" value="…"', resp.content.decode()), len(ctx.captured_queries)


def picker(html: str) -> str:
    return html.split('data-testid="report-picker"')[1].split("</form>")[0]


def trend_cells(html: str, indicator: str, year: int) -> list[str]:
    """The trend table's line of a year: [year, value, target, status]."""
    section = html.split(f'data-testid="indicator-section" data-indicator="{indicator}"')[1]
    row = re.search(rf'<tr data-year="{year}">(.*?)</tr>', section.split("</table>")[0], re.S)
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


URLS = [
    f"{DASH}?year=2025&region={COUNTY}",  # the county: matrix, scorecard, rankings, trends
    f"{DASH}?year=2025&region={T1}",  # a township: its own rows only
    f"{DASH}?year=2024&region={COUNTY}",  # no report
    DASH,  # the defaults: this year, the user's region
]


def test_a_cached_page_is_the_uncached_one(report, health, client, login, monkeypatch):
    login(client, health)
    pending = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on="2025-12-31")
    urls = [*URLS, f"{DASH}?year=2025&region={COUNTY}&run={pending.pk}"]
    client.get(DASH)  # the first request also refreshes the session
    cached = {}
    for url in urls:
        cache.clear()
        cold, cold_n = get(client, url)
        warm, warm_n = get(client, url)
        assert warm == cold, url
        assert warm_n < cold_n, (url, warm_n, cold_n)  # the report came from the cache
        cached[url] = warm
    # ... and the page as it is rendered without any cache at all (no kept page either).
    monkeypatch.setattr(pagecache, "page_key", lambda *a, **k: None)
    monkeypatch.setattr(
        dataversion,
        "cached_fragment",
        lambda name, parts, render, **kw: mark_safe(render()),  # noqa: S308  # our own templates
    )
    for url in urls:
        assert get(client, url)[0] == cached[url], url
    assert 'data-testid="run-progress" data-status="pending"' in cached[urls[-1]]
    assert 'data-testid="matrix"' in cached[urls[0]] and 'data-testid="no-report"' in cached[urls[2]]


def test_writes_through_the_services_show_on_the_next_request(report, health, client, login):
    from assessments.target_services import indicator_weight_set
    from eldercare.regions.models import Region

    login(client, health)
    url = f"{DASH}?year=2025&region={COUNTY}"
    get(client, url)
    before, _ = get(client, url)  # cached
    score = re.compile(rf'<tr data-region="{T1}"[^>]*>.*?data-col="score">([^<]*)<', re.S)
    assert score.search(before.split('data-testid="scorecard"')[1]).group(1) == "86.93"

    # A weight (the scorecard is computed with today's weights, not stored in the version).
    indicator_weight_set(actor=health, indicator=Indicator.objects.get(code="FD_SIGNING_RATE"), weight=3)
    html, _ = get(client, url)
    assert score.search(html.split('data-testid="scorecard"')[1]).group(1) == "89.80"

    # The catalogue's name of an indicator and a region's name (read live with the rows).
    ind = Indicator.objects.get(code="YL_BEDS")
    ind.name = "养老床位总数（新）"
    ind.save()
    town = Region.objects.get(code=T2)
    town.name = "北郊新镇"
    town.save()
    html, _ = get(client, url)
    assert "养老床位总数（新）" in html and "北郊新镇" in html and ">北郊镇<" not in html

    # A new version of the year: the page shows it.
    newer = run(2025)
    html, _ = get(client, url)
    assert f"版本 #{newer.pk}" in html and f"版本 #{report.pk}" not in html


def test_another_years_new_version_shows_in_the_trend_without_a_data_version_change(
    report, health, client, login, monkeypatch
):
    """compute finishes a version with an unaudited .update(): the trend's versions are in the
    key, so a page cached before still changes when another year's version completes."""
    login(client, health)
    url = f"{DASH}?year=2025&region={COUNTY}"
    get(client, url)
    html, _ = get(client, url)
    assert trend_cells(html, "YL_MED_COVERAGE", 2024) == ["2024", "—", "—", "无报告"]
    version = dataversion.current()
    with monkeypatch.context() as m:
        m.setattr(dataversion, "bump", lambda *a, **k: None)
        run(2024)
    assert dataversion.current() == version
    html, _ = get(client, url)
    _year, value, _target, status = trend_cells(html, "YL_MED_COVERAGE", 2024)
    assert status != "无报告" and value != "—"  # 2024 has its version now


def test_another_region_scope_and_role_see_their_own(report, health, civil, silk, make_user, login):
    county_user = login(Client(), health)
    town_user = login(Client(), silk)
    civil_user = login(Client(), civil)
    t1 = f"{DASH}?year=2025&region={T1}"

    # The same township by a county user (picker: the county and its townships) and by a user of
    # the same role scoped to the township (picker: the township only), whichever comes first.
    local = login(Client(), make_user("health_t1", "health", T1))
    mine, _ = get(county_user, t1)
    theirs, _ = get(local, t1)
    assert f'value="{COUNTY}"' in picker(mine) and f'value="{T2}"' in picker(mine)
    assert f'value="{COUNTY}"' not in picker(theirs) and f'value="{T2}"' not in picker(theirs)
    assert "北郊镇" not in theirs
    assert picker(get(county_user, t1)[0]) == picker(mine)
    # ... and the township's own user (no export, no recompute).
    html, _ = get(town_user, t1)
    assert "北郊镇" not in html and 'data-testid="export-xlsx"' not in html
    # ... and the county's page is the county's, not the township's cached one.
    html, _ = get(county_user, f"{DASH}?year=2025&region={COUNTY}")
    assert 'data-testid="matrix"' in html and "周村区各项指标" in html
    assert town_user.get(f"{DASH}?year=2025&region={COUNTY}").status_code == 404

    # The roles: health recomputes, civil affairs does not (the notice and the button say so).
    none = f"{DASH}?year=2024&region={COUNTY}"
    html, _ = get(county_user, none)
    assert "可以点击「立即重算」现在计算" in html and 'data-testid="recompute"' in html
    html, _ = get(civil_user, none)
    assert "请联系卫健局工作人员计算" in html and "可以点击「立即重算」" not in html
    assert 'data-testid="recompute"' not in html and 'data-testid="export-xlsx"' not in html
    html, _ = get(civil_user, f"{DASH}?year=2025&region={COUNTY}")
    assert 'data-testid="export-xlsx"' in html and 'data-testid="recompute"' not in html

    # Another county's user: its own county, never 周村区's cached report.
    other = login(Client(), make_user("other_health", "health", "370307000000"))
    html, _ = get(other, f"{DASH}?year=2025")
    assert 'data-testid="no-report"' in html and "丝绸路街道" not in html


def test_the_recompute_form_and_the_progress_are_per_request(
    county, health, make_user, login, django_capture_on_commit_callbacks
):
    url = f"{DASH}?year=2025&region={COUNTY}"
    first = login(Client(), health)
    get(first, url)  # the report (none yet) is now cached
    # Another user's token on the same cached page: the POST passes CSRF.
    second = csrf_client(make_user("h2", "health", COUNTY))
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_form(
            second, url, reverse("assessments:report_recompute"), {"year": "2025", "region": COUNTY}
        )
    assert resp.status_code == 302
    done = ReportRun.objects.get()
    assert done.status == RunStatus.COMPLETE
    html, _ = get(first, url)
    assert f"版本 #{done.pk}" in html and 'data-testid="no-report"' not in html

    # A version being computed: its state is read on every request (compute moves it on with
    # .update(), which no cache hears about).
    pending = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on="2025-12-31")
    html, _ = get(first, url)
    assert 'data-testid="run-progress" data-status="pending"' in html
    ReportRun.objects.filter(pk=pending.pk).update(status=RunStatus.RUNNING, slices_total=4, slices_done=2)
    html, _ = get(first, url)
    assert 'data-status="running"' in html and "data-progress-slices>2/4<" in html
    assert f"版本 #{done.pk}" in html  # the previous version meanwhile
    ReportRun.objects.filter(pk=pending.pk).update(status=RunStatus.FAILED, error="boom")
    html, _ = get(first, f"{url}&run={pending.pk}")
    assert 'data-status="failed"' in html and "boom" in html
