"""The whole dashboard kept per browser (eldercare/core/pagecache.py, ADR 0015): served again
byte for byte to the same browser on the same data version, and rendered anew for anything its
key does not hold — another user, another browser (CSRF secret), a write, a role taken away, the
region switcher, a notification, a flash message, parameters the view does not name, a request
without a CSRF cookie yet, and no cache at all."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from eldercare.core import dataversion
from eldercare.core.models import Notification
from tests.factories import page_token
from tests.report_fixtures import COUNTY, T1

pytestmark = pytest.mark.django_db
URL = f"/reports/?year=2025&region={COUNTY}"
HIT = "X-Portal-Page-Cache"


def fetch(client, url=URL, status=200):
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp


def warm(client, url=URL):
    """(the rendered page, the kept one). A request that sets the CSRF cookie is not kept (it
    would be keyed by no secret); the next renders and keeps the page; the one after is served
    from the cache."""
    had_cookie = "csrftoken" in client.cookies
    rendered = fetch(client, url)
    assert HIT not in rendered
    if not had_cookie:
        rendered = fetch(client, url)
        assert HIT not in rendered
    kept = fetch(client, url)
    assert kept[HIT] == "hit"
    return rendered, kept


def test_the_same_browser_gets_the_same_bytes(report, health, login):
    c = login(Client(), health)
    rendered, kept = warm(c)
    assert kept.content == rendered.content
    assert kept["Content-Type"] == rendered["Content-Type"] == "text/html; charset=utf-8"
    # the middleware still runs on a kept page: security headers and CSP
    assert kept["Content-Security-Policy"] == rendered["Content-Security-Policy"]
    assert kept["X-Frame-Options"] == "DENY"
    assert 'data-testid="matrix"' in kept.content.decode()


def test_the_kept_pages_csrf_token_is_valid_for_its_browser(report, health, login):
    c = login(Client(enforce_csrf_checks=True), health)
    _, kept = warm(c)
    resp = c.post(
        reverse("assessments:report_recompute"),
        {"year": "2025", "region": COUNTY, "csrfmiddlewaretoken": page_token(kept)},
    )
    assert resp.status_code == 302


def test_another_user_or_another_browser_is_never_served_it(report, health, make_user, login, monkeypatch):
    c = login(Client(), health)
    warm(c)
    # another user of the same role and region, even with this browser's CSRF secret
    other = login(Client(), make_user("h2", "health", COUNTY))
    other.cookies["csrftoken"] = c.cookies["csrftoken"].value
    resp = fetch(other)
    assert HIT not in resp and "h2" in resp.content.decode()
    same_user_other_browser = login(Client(), health)
    fetch(same_user_other_browser)
    assert HIT not in fetch(same_user_other_browser)
    # a browser whose CSRF cookie is gone: rendered, a new cookie set, and that page not kept
    kept = []
    real = dataversion.versioned_set
    monkeypatch.setattr(
        dataversion,
        "versioned_set",
        lambda key, value, *a, **k: kept.append(key) or real(key, value, *a, **k),
    )
    c.cookies.pop("csrftoken")
    resp = fetch(c)
    assert HIT not in resp and "csrftoken" in resp.cookies
    assert not [k for k in kept if k and ":page:" in k]


def test_a_write_a_role_a_region_switch_or_a_notification_renders_anew(report, health, login):
    from eldercare.regions.models import Region

    c = login(Client(), health)
    warm(c)
    town = Region.objects.get(code=T1)
    town.name = "丝绸路新街道"
    town.save()
    resp = fetch(c)
    assert HIT not in resp and "丝绸路新街道" in resp.content.decode()

    assert fetch(c)[HIT] == "hit"
    Notification.objects.create(user=health, title="新消息")
    resp = fetch(c)
    assert HIT not in resp and '<span class="badge bg-warning text-dark">1</span>' in resp.content.decode()

    assert fetch(c)[HIT] == "hit"
    c.post("/region/switch/", {"region": T1, "next": "/"})
    resp = fetch(c)
    assert HIT not in resp and f'<option value="{T1}" selected>' in resp.content.decode()

    assert fetch(c)[HIT] == "hit"
    # the role loses the export (the roles-and-permissions version changes): the buttons go
    group = Group.objects.get(name=health.groups.get().name)
    assert 'data-testid="export-xlsx"' in fetch(c).content.decode()
    group.permissions.remove(Permission.objects.get(codename="export_report"))
    resp = fetch(c)
    assert HIT not in resp and 'data-testid="export-xlsx"' not in resp.content.decode()
    # ... and the report permission itself: 403 before any kept page is looked at
    assert fetch(c)[HIT] == "hit"
    group.permissions.remove(Permission.objects.get(codename="view_report"))
    assert fetch(c, status=403)


def test_a_flash_message_is_shown_once_and_never_kept(report, health, login):
    c = login(Client(), health)
    warm(c)
    # a refused 「立即重算」 leaves an error message for the next page
    resp = c.post(reverse("assessments:report_recompute"), {"year": "1900", "region": COUNTY})
    assert resp.status_code == 302
    shown = fetch(c)
    assert HIT not in shown and "年度应为" in shown.content.decode()
    again = fetch(c)
    assert again[HIT] == "hit" and "年度应为" not in again.content.decode()  # that page was not kept


@pytest.mark.parametrize(
    "query",
    [
        "&utm=1",  # a parameter the view does not name
        "&year=2025",  # a named one twice
        "&run=999999",  # a run that does not exist
    ],
)
def test_urls_that_are_not_canonical_are_not_kept(report, health, login, query):
    c = login(Client(), health)
    url = f"{URL}{query}"
    for _ in range(3):
        assert HIT not in fetch(c, url)


def test_a_non_canonical_value_is_not_kept_but_the_canonical_url_is(report, health, login):
    c = login(Client(), health)
    for _ in range(3):
        assert HIT not in fetch(c, f"/reports/?year=02025&region={COUNTY}")
    warm(c, f"{URL}&run={report.pk}")  # a real run: kept


def test_without_a_cache_every_page_is_rendered(report, health, login, monkeypatch):
    c = login(Client(), health)
    fetch(c)
    monkeypatch.setattr(dataversion, "current", lambda: None)
    for _ in range(3):
        assert HIT not in fetch(c)


def test_a_version_being_computed_moves_on_the_kept_page(report, health, login):
    from assessments.models import ReportRun, RunStatus

    pending = ReportRun.objects.create(year=2025, root_id=COUNTY, evaluated_on="2025-12-31")
    c = login(Client(), health)
    warm(c)
    ReportRun.objects.filter(pk=pending.pk).update(status=RunStatus.RUNNING, slices_total=4, slices_done=3)
    resp = fetch(c)
    assert HIT not in resp and "data-progress-slices>3/4<" in resp.content.decode()
