"""The chrome every page renders (permissions, navigation, region switcher, badges) is kept in the
cache under versions (eldercare/core/dataversion.py) — and never shows what is no longer true:
a role taken away, a region added, a notification arriving or read, the queue's outbox."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eldercare.accounts import services as accounts
from eldercare.accounts.scope import SYSTEM
from eldercare.core import dataversion
from eldercare.core.models import Notification

pytestmark = pytest.mark.django_db


def _sqls(client, url="/"):
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url)
    assert resp.status_code == 200
    return resp, [q["sql"] for q in ctx.captured_queries]


def test_a_warm_chrome_reads_no_permissions_regions_or_counts(make_user, login):
    c = login(Client(), make_user("h1", "health"))
    _sqls(c, "/accounts/profile/")
    _, warm = _sqls(c, "/accounts/profile/")
    joined = "\n".join(warm)
    assert "auth_permission" not in joined
    # the user's region comes with the user (a join), the switcher's choices from the cache
    assert not [q for q in warm if q.startswith('SELECT "regions_region"')]
    assert "core_notification" not in joined and "core_outboxmessage" not in joined


def test_a_role_taken_away_is_gone_on_the_next_request(make_user, login):
    user = make_user("c1", "civil")
    c = login(Client(), user)
    assert c.get("/subsidies/applications/").status_code == 200  # warm: civil's permission set is cached
    assert 'data-nav="subsidies:application_list"' in c.get("/").content.decode()
    accounts.user_set_roles(actor=SYSTEM, user=user, roles={"health"})
    assert c.get("/subsidies/applications/").status_code == 403
    assert 'data-nav="subsidies:application_list"' not in c.get("/").content.decode()


def test_the_navigation_marks_the_section_in_view(make_user, login):
    c = login(Client(), make_user("h2", "health"))
    body = c.get("/institutions/").content.decode()
    assert 'class="nav-link active" href="/institutions/" data-nav="institutions:list"' in body
    body = c.get("/").content.decode()
    assert 'class="nav-link active" href="/" data-nav="core:home"' in body
    assert 'class="nav-link" href="/institutions/" data-nav="institutions:list"' in body
    # the mobile menu: the same items, without icons
    assert '<li class="nav-item"><a class="nav-link" href="/institutions/">' in body


def test_a_new_township_appears_in_the_region_switcher(make_user, login, regions):
    from tests.factories import RegionFactory

    c = login(Client(), make_user("h3", "health"))
    assert "新设镇" not in c.get("/").content.decode()
    RegionFactory(code="370306200000", name="新设镇", parent_id="370306000000")
    body = c.get("/").content.decode()
    assert '<option value="370306200000">　新设镇</option>' in body


def test_the_region_switcher_marks_the_region_in_view(make_user, login):
    c = login(Client(), make_user("h4", "health"))
    c.post("/region/switch/", {"region": "370306100000", "next": "/"})
    body = c.get("/").content.decode()
    assert '<option value="370306100000" selected>　北郊镇</option>' in body
    assert '<option value="370306000000">周村区</option>' in body


def test_the_unread_badge_follows_new_and_read_notifications(make_user, login):
    user = make_user("h5", "health")
    c = login(Client(), user)
    assert c.get("/").context["unread_notifications"] == 0
    # bulk_create (as the digests and reminders write them) reaches no signal; the manager does
    Notification.objects.bulk_create(
        [Notification(user=user, title="甲"), Notification(user=user, title="乙")]
    )
    assert c.get("/").context["unread_notifications"] == 2
    Notification.objects.create(user=user, title="丙")
    assert c.get("/").context["unread_notifications"] == 3
    c.post("/notifications/")
    assert c.get("/").context["unread_notifications"] == 0


def test_pages_serve_without_a_cache(make_user, login, settings):
    """Redis down (tests/faults/test_redis_down.py runs the real thing): every cached read falls
    back to the database, and the breaker stops trying for a few seconds."""
    c = login(Client(), make_user("h6", "health"))
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    try:
        dataversion._down_until = 0.0  # noqa: SLF001
        resp = c.get("/")
        assert resp.status_code == 200 and 'data-nav="core:home"' in resp.content.decode()
        assert dataversion._down_until > 0  # noqa: SLF001  # the breaker is open
        assert dataversion.current() is None
        assert c.get("/institutions/").status_code == 200
    finally:
        dataversion._down_until = 0.0  # noqa: SLF001


def test_without_a_shared_cache_nothing_is_kept(make_user, login, settings):
    settings.PORTAL_VERSIONED_CACHE = False
    c = login(Client(), make_user("h7", "health"))
    _sqls(c, "/accounts/profile/")
    _, again = _sqls(c, "/accounts/profile/")
    assert any("auth_permission" in q for q in again)
    assert dataversion.current() is None
