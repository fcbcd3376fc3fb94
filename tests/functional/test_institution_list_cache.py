"""The institution list page and API list (issue 8): the rows show the stored compliance codes
and are cached under the data version (eldercare.core.dataversion) — identical to an uncached
render, fresh after every write, never shared across scopes, fewer queries when warm."""

import datetime
import re
from unittest import mock

import django.utils.timezone as tz
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eldercare.accounts.scope import SYSTEM
from eldercare.core import dataversion
from institutions import services
from institutions.models import Institution
from institutions.selectors import stored_warnings, threshold_table, warnings_of
from tests.factories import make_home, make_hospital

pytestmark = pytest.mark.django_db

TOWN_BJ = "370306100000"  # 北郊镇
TOWN_SILK = "370306001000"  # 丝绸路街道
TODAY = datetime.date.today
LONG_AGO = datetime.date(2015, 1, 1)  # no version of theirs starts in the nightly window


def _code(seed: int, lead: str = "52") -> str:
    from institutions.credit_code import check_character

    body = f"{lead}370306{seed:0>9}"[:17]
    return body + check_character(body)


@pytest.fixture
def registry(regions):
    """Every badge the rules give: a big home without a unit, a small home without a contract,
    a 500-bed home (info: may open a hospital), a hospital without geriatrics or a green channel,
    and one home in the other township."""
    hc = make_hospital(opened_on=datetime.date(2010, 1, 1))
    old = {"opened_on": LONG_AGO}
    big = make_home("北郊大型养老院", credit_code=_code(1), beds_eldercare=120, **old)
    small = make_home("北郊小型养老院", credit_code=_code(2), beds_eldercare=40, **old)
    huge = make_home(
        "北郊颐养中心", credit_code=_code(3), beds_eldercare=520, internal_unit="infirmary", **old
    )
    hospital = make_hospital(
        name="北郊医院",
        credit_code=_code(4, "12"),
        type="general_hospital",
        grade="2",
        geriatric_dept=False,
        green_channel=False,
        **old,
    )
    silk = make_home("丝绸路养老院", region="370306001001", credit_code=_code(5), beds_eldercare=40, **old)
    return {"hc": hc, "big": big, "small": small, "huge": huge, "hospital": hospital, "silk": silk}


def _sign(medical, home, no="S-1", start=None, end=None):
    from contracts import services as contracts

    today = TODAY()
    return contracts.contract_create(
        actor=SYSTEM,
        facts={
            "medical": medical,
            "eldercare": home,
            "agreement_no": no,
            "mode": "agreement",
            "start": start or today - datetime.timedelta(days=365),
            "end": end or today + datetime.timedelta(days=730),
        },
    )


def _get(client, url, **params):
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, params)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp, len(ctx.captured_queries)


def _unmasked(content: bytes) -> str:
    """A page with its CSRF tokens (masked afresh on every response, in the chrome) blanked."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', content.decode())


def _rows(html: str) -> str:
    """The cached part of the page: the table and the pager."""
    start = html.index('<div class="table-responsive">')
    end = html.index("</main>") if "</main>" in html else len(html)
    return html[start:end]


# -- step 1: the badges are the stored codes -----------------------------------------------------
def test_the_stored_badges_are_what_the_rules_give(registry):
    """The list's badges (stored codes, info notes from the row's facts) are the detail page's
    live judgement for every rule, messages and sources included."""
    table = threshold_table()
    rows = Institution.objects.select_related("region")
    seen = set()
    for inst in rows:
        live = [(w.code, w.message, w.source, w.severity) for w in warnings_of(inst)]
        stored = [(w.code, w.message, w.source, w.severity) for w in stored_warnings(inst, table)]
        assert stored == live, inst.name
        seen |= {w[0] for w in stored}
    assert seen == {
        "big_home_no_medical",
        "small_home_no_contract",
        "may_open_hospital",
        "no_geriatric_dept",
        "no_green_channel",
    }


def test_the_list_reads_no_contracts_and_shows_every_badge(registry, make_user, login):
    civil = login(Client(), make_user("c1", "civil"))
    resp, _n = _get(civil, "/institutions/")
    body = resp.content.decode()
    for short in ("缺内设医疗机构", "缺医养签约", "可设医院", "未设老年病科", "无绿色通道"):
        assert short in body, short
    assert 'class="badge bg-info text-dark"' in body  # the info-level note keeps its colour
    dataversion.bump()
    with CaptureQueriesContext(connection) as ctx:
        civil.get("/institutions/")
        civil.get("/api/v1/institutions/")
    assert not [q["sql"] for q in ctx.captured_queries if "contracts_contract" in q["sql"]]


# -- step 2: the page's cached rows --------------------------------------------------------------
def test_a_cached_page_is_the_uncached_page_with_fewer_queries(registry, make_user, login, settings):
    civil = login(Client(), make_user("c1", "civil"))
    civil.get("/")  # the session's first request
    cold, cold_n = _get(civil, "/institutions/", family="eldercare", sort="name")
    warm, warm_n = _get(civil, "/institutions/", family="eldercare", sort="name")
    assert _unmasked(warm.content) == _unmasked(cold.content)
    assert warm_n < cold_n
    assert "北郊大型养老院" in _rows(warm.content.decode())
    # And the same as rendered with no cache at all.
    settings.PORTAL_VERSIONED_CACHE = False
    uncached, _n = _get(civil, "/institutions/", family="eldercare", sort="name")
    assert _unmasked(uncached.content) == _unmasked(cold.content)
    # The filter form is outside the cached part and still echoes the request.
    other, _n = _get(civil, "/institutions/", family="eldercare", sort="name", q="大型")
    assert 'value="大型"' in other.content.decode()
    assert "北郊小型养老院" not in _rows(other.content.decode())


def test_the_rows_do_not_grow_their_queries_with_rows(regions, make_user, login):
    civil = login(Client(), make_user("c1", "civil"))
    civil.get("/")

    def cold():
        dataversion.bump()
        return _get(civil, "/institutions/")[1], _get(civil, "/api/v1/institutions/")[1]

    for i in range(3):
        make_home(f"测试养老院{i}", credit_code=_code(100 + i), beds_eldercare=40)
    few = cold()
    for i in range(3, 12):
        make_home(f"测试养老院{i}", credit_code=_code(100 + i), beds_eldercare=40)
    assert cold() == few


def test_the_pager_is_a_function_of_the_filters(regions, make_user, login, monkeypatch):
    from institutions import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(5):
        make_home(f"测试养老院{i}", credit_code=_code(100 + i), beds_eldercare=40)
    civil = login(Client(), make_user("c1", "civil"))
    a = civil.get("/institutions/?q=&family=eldercare&type=&sort=name").content.decode()
    b = civil.get("/institutions/?family=eldercare&sort=name&junk=1").content.decode()
    assert _rows(a) == _rows(b)
    assert 'href="?family=eldercare&amp;sort=name&amp;page=2"' in _rows(a)
    page2 = civil.get("/institutions/?family=eldercare&sort=name&page=2").content.decode()
    assert "测试养老院2" in _rows(page2) and "测试养老院0" not in _rows(page2)


def test_writes_through_the_services_show_on_the_next_request(registry, make_user, login):
    from contracts import services as contracts

    civil = login(Client(), make_user("c1", "civil"))
    url = "/institutions/"
    bj = {"region": TOWN_BJ}  # the other township's small home has no contract either
    flagged = {**bj, "warnings": "small_home_no_contract"}
    before = _rows(civil.get(url, flagged).content.decode())
    assert "北郊小型养老院" in before
    # An edit of the institution.
    services.institution_change(
        actor=SYSTEM, institution=registry["small"], changes={"name": "北郊幸福养老院"}
    )
    page = _rows(civil.get(url, flagged).content.decode())
    assert "北郊幸福养老院" in page and "北郊小型养老院" not in page
    # A contract signed: the badge goes; terminated: it is back.
    contract = _sign(registry["hc"], registry["small"])
    assert "缺医养签约" not in _rows(civil.get(url, bj).content.decode())
    assert "北郊幸福养老院" not in _rows(civil.get(url, flagged).content.decode())
    contracts.contract_terminate(actor=SYSTEM, contract=contract, on=TODAY() - datetime.timedelta(days=1))
    assert "缺医养签约" in _rows(civil.get(url, bj).content.decode())
    api = civil.get("/api/v1/institutions/", flagged).json()
    assert [r["name"] for r in api["results"]] == ["北郊幸福养老院"]


def test_another_region_sees_its_own_rows(registry, make_user, login):
    bj = login(Client(), make_user("bj", "township", TOWN_BJ))
    silk = login(Client(), make_user("silk", "township", TOWN_SILK))
    url = "/institutions/?family=eldercare"
    bj_page = _rows(bj.get(url).content.decode())
    silk_page = _rows(silk.get(url).content.decode())
    assert "北郊小型养老院" in bj_page and "丝绸路养老院" not in bj_page
    assert "丝绸路养老院" in silk_page and "北郊小型养老院" not in silk_page
    # A county user narrowed to a township by the region switcher gets that township's rows,
    # then the county's again.
    civil = login(Client(), make_user("c1", "civil"))
    session = civil.session
    session["view_region"] = TOWN_SILK
    session.save()
    assert _rows(civil.get(url).content.decode()) == silk_page
    session = civil.session
    del session["view_region"]
    session.save()
    county = _rows(civil.get(url).content.decode())
    assert "丝绸路养老院" in county and "北郊小型养老院" in county


def test_another_role_sees_its_own_buttons_around_the_shared_rows(registry, make_user, login):
    civil = login(Client(), make_user("c1", "civil"))
    finance = login(Client(), make_user("f1", "finance"))
    mine = civil.get("/institutions/").content.decode()
    theirs = finance.get("/institutions/").content.decode()
    assert _rows(mine) == _rows(theirs)  # the same rows (the cached fragment)…
    assert "export=xlsx" in mine and "export=xlsx" not in theirs  # …not the same buttons
    assert "/institutions/new/?family=eldercare" in mine and "/institutions/new/" not in theirs


# -- the API list ---------------------------------------------------------------------------------
def test_the_cached_api_page_is_the_uncached_json(registry, make_user, login):
    civil = login(Client(), make_user("c1", "civil"))
    civil.get("/api/v1/institutions/")
    cold, cold_n = _get(civil, "/api/v1/institutions/", page_size=1, page=2, family="eldercare")
    warm, warm_n = _get(civil, "/api/v1/institutions/", page_size=1, page=2, family="eldercare")
    assert warm.content == cold.content and warm["Content-Type"] == cold["Content-Type"]
    assert warm_n < cold_n
    data = warm.json()
    assert data["count"] == 4
    assert data["next"] == "http://testserver/api/v1/institutions/?family=eldercare&page=3&page_size=1"
    assert data["previous"] == "http://testserver/api/v1/institutions/?family=eldercare&page_size=1"
    # The same page uncached, the query in another order: the same JSON.
    dataversion.bump()
    again, _n = _get(civil, "/api/v1/institutions/", family="eldercare", page=2, page_size=1)
    assert again.content == cold.content
    # And DRF's own list, no cache and no JSON round trip: byte for byte the same.
    from rest_framework import viewsets

    from institutions.api.views import InstitutionViewSet

    with mock.patch.object(InstitutionViewSet, "list", viewsets.ReadOnlyModelViewSet.list):
        drf, _n = _get(civil, "/api/v1/institutions/", page_size=1, page=2, family="eldercare")
    assert drf.content == cold.content
    everything = civil.get("/api/v1/institutions/").content
    with mock.patch.object(InstitutionViewSet, "list", viewsets.ReadOnlyModelViewSet.list):
        assert civil.get("/api/v1/institutions/").content == everything
    row = next(r for r in civil.get("/api/v1/institutions/").json()["results"] if r["name"] == "北郊颐养中心")
    assert [w["code"] for w in row["warnings"]] == ["may_open_hospital"]


def test_the_api_links_keep_their_host_and_scheme(registry, make_user, login, settings):
    settings.ALLOWED_HOSTS = ["testserver", "portal.example"]
    civil = login(Client(), make_user("c1", "civil"))
    plain = civil.get("/api/v1/institutions/", {"page_size": 2}).json()
    other = civil.get("/api/v1/institutions/", {"page_size": 2}, HTTP_HOST="portal.example").json()
    secure = civil.get("/api/v1/institutions/", {"page_size": 2}, secure=True).json()
    assert plain["next"].startswith("http://testserver/")
    assert other["next"].startswith("http://portal.example/")
    assert secure["next"].startswith("https://testserver/")
    assert plain["results"] == other["results"] == secure["results"]


def test_the_api_list_is_scoped_per_user(registry, make_user, login):
    bj = login(Client(), make_user("bj", "township", TOWN_BJ))
    silk = login(Client(), make_user("silk", "township", TOWN_SILK))
    names = {
        who: {r["name"] for r in c.get("/api/v1/institutions/").json()["results"]}
        for who, c in (("bj", bj), ("silk", silk))
    }
    assert "丝绸路养老院" in names["silk"] and "丝绸路养老院" not in names["bj"]
    assert "北郊小型养老院" in names["bj"] and "北郊小型养老院" not in names["silk"]


def test_the_api_detail_is_judged_live(registry, make_user, login):
    civil = login(Client(), make_user("c1", "civil"))
    big = registry["big"]
    Institution.objects.filter(pk=big.pk).update(warning_codes="")  # a stale stored copy
    dataversion.bump()
    detail = civil.get(f"/api/v1/institutions/{big.pk}/").json()
    assert [w["code"] for w in detail["warnings"]] == ["big_home_no_medical"]
    listed = next(r for r in civil.get("/api/v1/institutions/").json()["results"] if r["id"] == big.pk)
    assert listed["warnings"] == []  # the list shows what it filters on: the stored codes


# -- dates: the nightly refreshes ------------------------------------------------------------------
def test_an_expired_contract_shows_after_the_nightly_refresh(registry, make_user, login):
    """A contract that runs out changes a stored code with no write: the nightly pass
    (contracts.refresh_warnings) re-judges the home, and the write makes a new data version."""
    from contracts import services as contracts

    civil = login(Client(), make_user("c1", "civil"))
    today = TODAY()
    _sign(registry["hc"], registry["small"], end=today)
    assert "缺医养签约" not in _rows(civil.get("/institutions/", {"region": TOWN_BJ}).content.decode())
    tomorrow = today + datetime.timedelta(days=1)
    with mock.patch.object(tz, "localdate", return_value=tomorrow):
        assert contracts.refresh_warnings_for_dates(today=tomorrow) == 1
        assert "缺医养签约" in _rows(civil.get("/institutions/", {"region": TOWN_BJ}).content.decode())


def test_a_medical_partys_dated_closure_reaches_its_homes_on_the_day(registry, make_user, login):
    """A closure typed in ahead of its date becomes the current copy in the nightly pass
    (institutions.refresh_current_copies), which now re-judges the homes it serves too."""
    civil = login(Client(), make_user("c1", "civil"))
    _sign(registry["hc"], registry["small"])
    tomorrow = TODAY() + datetime.timedelta(days=1)
    services.institution_set_status(
        actor=SYSTEM, institution=registry["hc"], status="closed", effective=tomorrow
    )
    assert "small_home_no_contract" not in Institution.objects.get(pk=registry["small"].pk).warning_codes
    with mock.patch.object(tz, "localdate", return_value=tomorrow):
        assert services.refresh_current_copies(today=tomorrow) == 1
        assert ",small_home_no_contract," in Institution.objects.get(pk=registry["small"].pk).warning_codes
        assert "缺医养签约" in _rows(civil.get("/institutions/", {"region": TOWN_BJ}).content.decode())


def test_a_medical_party_opening_on_a_later_day_covers_its_homes_from_that_day(regions):
    today = TODAY()
    tomorrow = today + datetime.timedelta(days=1)
    new_hc = make_hospital(name="北郊新卫生院", credit_code=_code(9, "12"), opened_on=tomorrow)
    home = make_home("北郊小型养老院", credit_code=_code(2), beds_eldercare=40, opened_on=LONG_AGO)
    _sign(new_hc, home)
    assert ",small_home_no_contract," in Institution.objects.get(pk=home.pk).warning_codes
    with mock.patch.object(tz, "localdate", return_value=tomorrow):
        services.refresh_current_copies(today=tomorrow)
    assert Institution.objects.get(pk=home.pk).warning_codes == ""


def test_a_medical_partys_opening_date_moved_later_re_judges_its_homes(registry):
    small = registry["small"]
    _sign(registry["hc"], small)
    assert "small_home_no_contract" not in Institution.objects.get(pk=small.pk).warning_codes
    later = TODAY() + datetime.timedelta(days=30)
    services.institution_change(actor=SYSTEM, institution=registry["hc"], changes={"opened_on": later})
    assert ",small_home_no_contract," in Institution.objects.get(pk=small.pk).warning_codes
