"""录入/修改 one institution's month on a page (issue 6): the occupancy grid links every month up
to the current one; a county civil officer's figures are recorded at once through
subsidies.occupancy (audited, the same rules: within the month's 核定 beds, no month still to
come); a township officer's go the way of their occupancy upload — a one-row batch staged until a
county officer accepts it — so the same rules and the same acceptance apply; another township's
or county's institution is a 404, a role without the permission a 403."""

import datetime

import pytest

from eldercare.audit.models import Action, AuditEvent
from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from subsidies.models import OccupancyReport
from tests.factories import at, csrf_client, make_home, post_form

pytestmark = pytest.mark.django_db
D = datetime.date
S = ImportBatch.Status
GRID = "/subsidies/occupancy/"
TODAY = D(2025, 8, 15)


def entry(home, year=2025, month=7) -> str:
    return f"/subsidies/occupancy/{home.pk}/{year}/{month}/"


def text(resp) -> str:
    return resp.content.decode()


def messages_of(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path, monkeypatch):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    at(monkeypatch, TODAY)


@pytest.fixture
def users(make_user):
    return {
        "town": make_user("bj_town", "township", "370306100000"),  # 北郊镇
        "silk": make_user("silk_town", "township", "370306001000"),  # 丝绸路街道
        "civil": make_user("civil1", "civil", "370306000000"),
        "civil2": make_user("civil2", "civil", "370306000000"),
        "other_civil": make_user("civil_other", "civil", "370307000000"),
        "finance": make_user("fin1", "finance", "370306000000"),
    }


@pytest.fixture
def homes(regions):
    beijiao = make_home(name="北郊镇敬老院", beds_eldercare=40, opened_on=D(2015, 1, 1))  # 北郊镇
    silk = make_home(
        name="银子敬老院",
        region="370306001001",
        credit_code="52370306MJD600080P",
        beds_eldercare=30,
        opened_on=D(2015, 1, 1),
    )
    return beijiao, silk


def submit(who, home, self_care, disabled, year=2025, month=7):
    """`who`: a user (signed in afresh) or a signed-in client."""
    client = who if hasattr(who, "post") else csrf_client(who)
    url = entry(home, year, month)
    return post_form(client, url, url, {"self_care": self_care, "disabled": disabled}, follow=True)


def test_the_grid_links_each_month_up_to_the_current_one(users, homes):
    beijiao, _silk = homes
    html = text(csrf_client(users["civil"]).get(GRID, {"year": 2025}))
    # two homes × January–August (15 August 2025): September to December are still to come
    assert html.count('data-testid="enter"') == 2 * 8
    assert f'href="{entry(beijiao, 2025, 8)}"' in html
    assert f'href="{entry(beijiao, 2025, 9)}"' not in html
    assert "录入/修改" in html
    town = text(csrf_client(users["town"]).get(GRID, {"year": 2025}))
    assert town.count('data-testid="enter"') == 8  # its own township's home only
    finance = text(csrf_client(users["finance"]).get(GRID, {"year": 2025}))
    assert 'data-testid="enter"' not in finance  # reads occupancy, enters nothing


def test_civil_enters_and_corrects_a_month_through_the_service_audited(users, homes):
    beijiao, _silk = homes
    page = csrf_client(users["civil"]).get(entry(beijiao))
    body = text(page)
    assert page.status_code == 200
    assert "北郊镇敬老院 · 2025年7月 入住床位数" in body
    assert "自理入住床位数" in body and "失能入住床位数" in body and "40 张" in body
    assert 'data-testid="staged"' not in body  # a county officer's figures count at once

    resp = submit(users["civil"], beijiao, 20, 12)
    assert resp.redirect_chain[-1][0] == f"{GRID}?year=2025"
    assert "已保存北郊镇敬老院2025年7月：自理 20 张、失能 12 张。" in messages_of(resp)
    report = OccupancyReport.objects.get(institution=beijiao, month=D(2025, 7, 1))
    assert (report.self_care, report.disabled, report.created_by) == (20, 12, users["civil"])
    created = AuditEvent.objects.get(object_type="subsidies.occupancyreport", action=Action.CREATE)
    assert created.actor_id == users["civil"].pk
    assert created.changes["self_care"] == [None, 20] and created.changes["month"] == [None, "2025-07-01"]
    assert "20 / 12" in text(csrf_client(users["civil"]).get(GRID, {"year": 2025}))

    # The form shows the stored figures; a correction is an update with its diff.
    assert 'value="20"' in text(csrf_client(users["civil"]).get(entry(beijiao)))
    submit(users["civil"], beijiao, 21, 12)
    report.refresh_from_db()
    assert (report.self_care, report.disabled) == (21, 12)
    update = AuditEvent.objects.get(object_type="subsidies.occupancyreport", action=Action.UPDATE)
    assert update.changes == {"self_care": [20, 21]} and update.actor_id == users["civil"].pk

    client = csrf_client(users["civil"])  # signing in is audited too
    events = AuditEvent.objects.count()
    resp = submit(client, beijiao, 21, 12)
    assert "北郊镇敬老院2025年7月已是这些数字，未作修改。" in messages_of(resp)
    assert AuditEvent.objects.count() == events


def test_the_service_rules_apply_on_the_page(users, homes):
    beijiao, _silk = homes
    resp = submit(users["civil"], beijiao, 30, 11)  # 41 > 40 核定 beds
    body = text(resp)
    assert resp.status_code == 200
    assert "自理与失能入住床位数合计 41 张，超过该机构2025年7月末的核定养老床位数 40 张" in body
    resp = submit(users["civil"], beijiao, -1, 0)
    assert "自理入住床位数应为不小于0的整数。" in text(resp)
    assert not OccupancyReport.objects.exists()
    # exactly the 核定 beds is allowed
    submit(users["civil"], beijiao, 30, 10)
    assert OccupancyReport.objects.get().occupied == 40


def test_a_month_still_to_come_cannot_be_entered(users, homes):
    beijiao, _silk = homes
    client = csrf_client(users["civil"])
    page = client.get(entry(beijiao, 2025, 9))
    assert page.status_code == 200
    assert 'data-testid="future"' in text(page) and 'data-testid="entry-form"' not in text(page)
    resp = post_form(client, entry(beijiao), entry(beijiao, 2025, 9), {"self_care": 1, "disabled": 1})
    assert resp.status_code == 200 and "2025年9月尚未到来" in text(resp)
    assert not OccupancyReport.objects.exists()
    assert client.get(entry(beijiao, 2025, 13)).status_code == 404


def test_township_entry_is_staged_until_a_county_officer_accepts(users, homes):
    beijiao, _silk = homes
    page = text(csrf_client(users["town"]).get(entry(beijiao)))
    assert 'data-testid="staged"' in page and "提交县级接受" in page

    resp = submit(users["town"], beijiao, 18, 9)
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.status, batch.staged, batch.created_by) == (
        "occupancy",
        S.PENDING,
        True,
        users["town"],
    )
    assert batch.created == 1 and batch.file_name == "页面录入：北郊镇敬老院 2025年7月.csv"
    assert any("县级" in m and f"#{batch.pk}" in m for m in messages_of(resp))
    assert not OccupancyReport.objects.exists()  # nothing until accepted
    # The page shows what waits, to the township and to the county.
    for who in ("town", "civil"):
        body = text(csrf_client(users[who]).get(entry(beijiao)))
        assert 'data-testid="pending"' in body and f"/imports/{batch.pk}/" in body and "自理 18" in body
    # A county officer accepts it like any township upload; the write is audited then.
    engine.accept(actor=users["civil"], batch=batch)
    batch.refresh_from_db()
    assert (batch.status, batch.decided_by) == (S.COMMITTED, users["civil"])
    report = OccupancyReport.objects.get(institution=beijiao, month=D(2025, 7, 1))
    assert (report.self_care, report.disabled, report.created_by) == (18, 9, users["town"])
    event = AuditEvent.objects.get(object_type="subsidies.occupancyreport", action=Action.CREATE)
    assert event.actor_id == users["town"].pk and event.detail["batch"] == batch.pk
    assert not batch.stored_name  # the one-row sheet is gone once committed

    # A township correction is staged as an update with its diff; the same figures change nothing.
    submit(users["town"], beijiao, 19, 9)
    pending = ImportBatch.objects.get(status=S.PENDING)
    assert (pending.created, pending.updated) == (0, 1)
    assert pending.get_ops()[0]["diff"] == {"self_care": [18, 19]}
    resp = submit(users["town"], beijiao, 18, 9)
    assert any("未作修改" in m for m in messages_of(resp))
    assert ImportBatch.objects.count() == 2


def test_township_entry_is_checked_by_the_same_rules_before_anything_is_staged(users, homes):
    beijiao, _silk = homes
    resp = submit(users["town"], beijiao, 40, 1)
    assert "超过该机构2025年7月末的核定养老床位数 40 张" in text(resp)
    resp = submit(users["town"], beijiao, 1, 1, month=9)
    assert "尚未到来" in text(resp)
    assert not ImportBatch.objects.exists() and not OccupancyReport.objects.exists()


def test_scope_and_permission(users, homes):
    beijiao, silk = homes
    town = csrf_client(users["town"])
    assert town.get(entry(silk)).status_code == 404  # another township's home
    own = entry(beijiao)
    resp = post_form(town, own, entry(silk), {"self_care": 1, "disabled": 1})
    assert resp.status_code == 404
    assert csrf_client(users["other_civil"]).get(entry(beijiao)).status_code == 404  # another county
    assert csrf_client(users["finance"]).get(entry(beijiao)).status_code == 403  # no entering
    assert csrf_client(users["silk"]).get(entry(silk)).status_code == 200
    assert not OccupancyReport.objects.exists() and not ImportBatch.objects.exists()
