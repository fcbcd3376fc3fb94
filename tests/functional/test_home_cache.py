"""The home page's cards on a warm cache (issue 8): the cached cards are the computed ones, a write
through the services shows on the next request, the cache never carries one scope's, one role's or
one user's cards to another, and a warm page runs fewer queries than a cold one."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eldercare.accounts import services as accounts
from eldercare.accounts.scope import SYSTEM
from eldercare.core import dataversion
from eldercare.core import selectors as home
from eldercare.regions.models import Region
from eldercare.workflow import services as wf
from institutions import services as registry
from tests.factories import at, csrf_client, make_home, make_hospital, ready_filing

pytestmark = pytest.mark.django_db

COUNTY = "370306000000"
TOWN = "370306100000"
HOMES = "运营中的养老服务机构"
BEDS = "核定养老床位数"
ACTIVE = "启用账号"
TODO = "待受理/待办理的备案"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = False


@pytest.fixture
def data(regions):
    make_hospital()
    make_home(name="北郊镇敬老院", region=TOWN, credit_code="52370306MJD600087D", beds_eldercare=80)
    make_home(
        name="丝绸路长者之家", region="370306001000", credit_code="52370306MJD600080P", beds_eldercare=30
    )


def cards(resp) -> dict:
    assert resp.status_code == 200
    return {str(c["label"]): c["value"] for c in resp.context["cards"]}


def body(resp) -> str:
    """The page without its CSRF tokens (masked anew on every request)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", resp.content.decode())


def queries(client, url="/"):
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url)
    assert resp.status_code == 200
    return len(ctx.captured_queries), resp


def uncached(monkeypatch):
    """home_cards with the cache bypassed: every section computed."""
    monkeypatch.setattr(home, "_cached", lambda name, parts, compute: compute())


ROLES = [
    ("health", COUNTY),
    ("civil", COUNTY),
    ("township", TOWN),
    ("finance", COUNTY),
    ("admin", COUNTY),
    ("security", COUNTY),
    ("auditor", COUNTY),
]


@pytest.mark.parametrize(("role", "region"), ROLES)
def test_a_cached_page_is_the_computed_page(role, region, data, make_user, monkeypatch):
    user = make_user(f"u-{role}", role, region)
    c = csrf_client(user)
    c.get("/")  # the first request of a session (the sign-in's own bookkeeping)
    cold = c.get("/")
    warm = c.get("/")
    assert cards(warm) == cards(cold) and body(warm) == body(cold)
    assert warm.context["cards"] == cold.context["cards"]
    with monkeypatch.context() as m:
        uncached(m)
        fresh = c.get("/")
    assert fresh.context["cards"] == warm.context["cards"]
    assert body(fresh) == body(warm)


def test_a_warm_page_runs_fewer_queries(data, make_user):
    c = csrf_client(make_user("h1", "health", COUNTY))
    c.get("/")
    dataversion.bump()  # a new version: every cached section is computed again
    cold, _ = queries(c)
    warm, _ = queries(c)
    again, _ = queries(c)
    assert warm == again
    # regions, institutions (one aggregate), contracts (2), attainment (1+), filings (3): 8 at least
    assert cold - warm >= 7, (cold, warm)


def test_a_write_through_the_services_shows_on_the_next_request(data, make_user):
    c = csrf_client(make_user("c1", "civil", COUNTY))
    before = cards(c.get("/"))
    assert cards(c.get("/")) == before  # warm
    inst = make_home(name="新建敬老院", region=TOWN, credit_code="52370306MJD600095U", beds_eldercare=50)
    after = cards(c.get("/"))
    assert after[HOMES] == before[HOMES] + 1 and after[BEDS] == before[BEDS] + 50
    registry.institution_change(actor=SYSTEM, institution=inst, changes={"beds_eldercare": 70})
    assert cards(c.get("/"))[BEDS] == before[BEDS] + 70
    # A region closed: the township counts follow.
    town = Region.objects.get(code="370306001000")
    town.active = False
    town.save()
    assert cards(c.get("/"))["乡镇（街道）"] == before["乡镇（街道）"] - 1


def test_live_cards_are_not_cached(data, make_user):
    """Accounts are outside the data version: a new user shows at once, no version needed."""
    admin = csrf_client(make_user("adm", "admin", COUNTY))
    n = cards(admin.get("/"))[ACTIVE]
    version = dataversion.current()
    accounts.user_save(actor=SYSTEM, username="newcomer", region=TOWN, is_active=True)
    assert cards(admin.get("/"))[ACTIVE] == n + 1
    assert dataversion.current() == version  # no new version: the count is simply not cached


def test_pending_uploads_card_is_live(data, make_user, monkeypatch):
    """Import batches are outside the data version: the acceptor's count follows a new upload."""
    from eldercare.sheets.models import ImportBatch

    civil = make_user("c1", "civil", COUNTY)
    town = make_user("t1", "township", TOWN)
    c = csrf_client(civil)
    label = "待审核的乡镇上传"
    assert cards(c.get("/"))[label] == 0
    version = dataversion.current()
    ImportBatch.objects.create(
        kind="institutions",
        created_by=town,
        username=town.username,
        region_id=TOWN,
        status=ImportBatch.Status.PENDING,
        file_name="a.csv",
        file_sha256="0" * 64,
        as_of=datetime.date(2026, 10, 1),
    )
    assert dataversion.current() == version  # no new version …
    assert cards(c.get("/"))[label] == 1  # … and still counted


def test_scope_region_and_language_are_in_the_key(data, make_user, login, settings):
    county = login(Client(), make_user("h1", "health", COUNTY))
    town = login(Client(), make_user("t1", "township", TOWN))
    c1, t1 = cards(county.get("/")), cards(town.get("/"))
    assert c1["村（社区）"] == 4 and t1["村（社区）"] == 2
    assert c1[HOMES] == 2 and t1[HOMES] == 1
    # Warm: each scope still its own.
    assert cards(county.get("/")) == c1 and cards(town.get("/")) == t1
    # The county user switches to the township: the township's numbers, not the county's.
    county.post("/region/switch/", {"region": TOWN, "next": "/"})
    switched = cards(county.get("/"))
    assert switched["村（社区）"] == 2 and switched[HOMES] == 1
    county.post("/region/switch/", {"region": COUNTY, "next": "/"})
    assert cards(county.get("/")) == c1
    # Another language (the language switch's cookie): another entry.
    county.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = cards(county.get("/"))
    assert en["Villages and communities"] == 4 and "村（社区）" not in en
    county.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert cards(county.get("/")) == c1


def test_roles_see_their_own_cards(data, make_user):
    seen = {}
    for role, region in ROLES:
        seen[role] = set(cards(csrf_client(make_user(f"u-{role}", role, region)).get("/")))
    # Warm now: each role's cards are still its own.
    for role, region in ROLES:
        user = make_user(f"v-{role}", role, region)
        assert set(cards(csrf_client(user).get("/"))) == seen[role], role
    assert ACTIVE in seen["admin"] and ACTIVE not in seen["health"]
    assert HOMES in seen["health"] and HOMES not in seen["security"]
    assert "今日审计事件" in seen["auditor"] and "今日审计事件" not in seen["civil"]


def test_cards_about_the_user_are_keyed_by_the_user(data, make_user, monkeypatch, settings):
    """Two officers of the same role and scope: the filing one of them submitted awaits the
    other only (not their own), cached or not."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"  # as test_filing_pages
    civil1 = make_user("civil1", "civil", COUNTY)
    civil2 = make_user("civil2", "civil", COUNTY)
    c1, c2 = csrf_client(civil1), csrf_client(civil2)
    at(monkeypatch, datetime.date(2026, 10, 12))
    assert cards(c1.get("/"))[TODO] == 0 and cards(c2.get("/"))[TODO] == 0
    payload = {"name": "丝绸路社区养老服务中心", "type": "community_center", "beds_eldercare": 30}
    filing = ready_filing(
        civil1, "eldercare", None, {**payload, "credit_code": "52370306MJD600103M"}, region="370306001000"
    )
    filing = wf.filing_transition(actor=civil1, filing=filing, action="submit")
    assert cards(c1.get("/"))[TODO] == 0  # their own: not theirs to decide
    assert cards(c2.get("/"))[TODO] == 1
    assert cards(c1.get("/"))[TODO] == 0 and cards(c2.get("/"))[TODO] == 1  # warm, each their own
    wf.filing_transition(actor=civil2, filing=filing, action="accept")
    assert cards(c2.get("/"))[TODO] == 1  # accepted: still open, now in the works
    cache.clear()
    assert cards(c2.get("/"))[TODO] == 1
