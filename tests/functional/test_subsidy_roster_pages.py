"""入住床位与入住老人 pages: the occupancy grid shows a month not reported as 未报; the roster
shows masked ID numbers and the birth year only; unmasking needs a reason and the permission, is
audited, shows the number once (no-store) and is 404 outside scope; the probable-duplicates list
is civil affairs'."""

import datetime

import pytest

from eldercare.audit.models import AuditEvent
from subsidies import idcard
from subsidies.models import OccupancyReport, Resident
from tests.factories import csrf_client, make_home, make_hospital, post_form

pytestmark = pytest.mark.django_db
D = datetime.date
GRID, ROSTER, DUPES = "/subsidies/occupancy/", "/subsidies/residents/", "/subsidies/duplicates/"
BORN, JAN_2025 = D(1940, 3, 1), D(2025, 1, 1)


def with_check(first17: str) -> str:
    return first17 + idcard.check_char(first17)


NUMBER_A = with_check("37030619400301002")
NUMBER_B = with_check("37030619400301012")


def resident(home, number, name="张桂兰", birth=BORN, admitted=JAN_2025, discharged=None):
    return Resident.objects.create(
        institution=home,
        name=name,
        id_cipher=idcard.encrypt(number),
        id_hash=idcard.lookup_hash(number),
        id_masked=idcard.mask(number),
        birth_date=birth,
        ability_level=2,
        admitted_on=admitted,
        discharged_on=discharged,
    )


def text(resp) -> str:
    return resp.content.decode()


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def users(make_user):
    return {
        "town": make_user("bj_town", "township", "370306100000"),
        "civil": make_user("civil1", "civil", "370306000000"),
        "other_civil": make_user("civil_other", "civil", "370307000000"),
    }


@pytest.fixture
def homes(regions):
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    a = make_home(name="甲养老院", run_by=hospital.pk, beds_eldercare=60, opened_on=D(2015, 1, 1))
    b = make_home(
        name="乙养老院", credit_code="52370306MJD600080P", beds_eldercare=40, opened_on=D(2015, 1, 1)
    )
    return a, b


def test_grid_shows_missing_month_as_not_reported(users, homes):
    a, _b = homes
    OccupancyReport.objects.create(institution=a, month=D(2025, 1, 1), self_care=11, disabled=7)
    resp = csrf_client(users["town"]).get(GRID, {"year": 2025})
    assert resp.status_code == 200
    html = text(resp)
    assert "11 / 7" in html
    assert "未报" in html
    assert html.count('data-testid="missing"') == 2 * 12 - 1
    assert "/imports/new/occupancy/" in html


def test_roster_shows_masked_id_and_birth_year_only(users, homes):
    a, _b = homes
    resident(a, NUMBER_A)
    html = text(csrf_client(users["town"]).get(ROSTER))
    assert idcard.mask(NUMBER_A) in html
    assert "1940年" in html
    assert NUMBER_A not in html
    assert "1940-03-01" not in html
    assert 'data-testid="unmask"' not in html  # township: no unmask permission


def test_unmask_with_reason_shows_number_and_audits(users, homes):
    a, _b = homes
    r = resident(a, NUMBER_A)
    client = csrf_client(users["civil"])
    url = f"/subsidies/residents/{r.pk}/unmask/"
    resp = post_form(client, ROSTER, url, {"reason": "核对补贴申领材料"})
    assert resp.status_code == 200
    assert NUMBER_A in text(resp)
    assert "no-store" in resp["Cache-Control"]
    assert AuditEvent.objects.filter(action="unmask", result="ok", object_id=str(r.pk)).count() == 1
    # the roster afterwards still shows it masked
    assert NUMBER_A not in text(client.get(ROSTER))


def test_unmask_without_reason_is_refused(users, homes):
    a, _b = homes
    r = resident(a, NUMBER_A)
    resp = post_form(csrf_client(users["civil"]), ROSTER, f"/subsidies/residents/{r.pk}/unmask/", {})
    assert resp.status_code == 400
    assert NUMBER_A not in text(resp)
    assert "请填写查看完整身份证号的事由" in text(resp)
    assert not AuditEvent.objects.filter(action="unmask", result="ok").exists()


def test_unmask_township_forbidden_and_other_county_404(users, homes):
    a, _b = homes
    r = resident(a, NUMBER_A)
    url = f"/subsidies/residents/{r.pk}/unmask/"
    resp = post_form(csrf_client(users["town"]), ROSTER, url, {"reason": "核对补贴申领材料"})
    assert resp.status_code == 403
    assert NUMBER_A not in text(resp)
    resp = post_form(csrf_client(users["other_civil"]), ROSTER, url, {"reason": "核对补贴申领材料"})
    assert resp.status_code == 404
    assert NUMBER_A not in text(resp)


def test_duplicates_page_civil_only(users, homes):
    a, b = homes
    resident(a, NUMBER_A)
    resident(b, NUMBER_B, admitted=D(2025, 6, 1))
    resp = csrf_client(users["civil"]).get(DUPES)
    assert resp.status_code == 200
    html = text(resp)
    assert 'data-code="same_person_other_id"' in html
    assert "张桂兰" in html and "甲养老院" in html and "乙养老院" in html
    assert f"/institutions/{a.pk}/" in html and f"/institutions/{b.pk}/" in html
    assert csrf_client(users["town"]).get(DUPES).status_code == 403
