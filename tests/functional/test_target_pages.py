"""指标与目标 pages (issue 7): the catalogue with weights edited by the health bureau (audited),
the target templates with their clauses, applying one to a region (preview, then apply, then
nothing left to do), a region's targets with own and inherited values (「继承自 周村区」), a
count target set by hand and removed, with CSRF enforced; scope (404 outside) and roles
(a township reads, never writes)."""

import re
from decimal import Decimal

import pytest

from assessments import target_services as svc
from assessments.models import Indicator, Target, TargetTemplate
from eldercare.audit.models import AuditEvent
from eldercare.regions.models import Region
from tests.factories import csrf_client, post_form

pytestmark = pytest.mark.django_db
COUNTY, TOWN, OTHER = "370306000000", "370306100000", "370307000000"
TARGETS, TEMPLATES, INDICATORS = (
    "/reports/targets/",
    "/reports/targets/templates/",
    "/reports/targets/indicators/",
)


@pytest.fixture(autouse=True)
def _no_recompute(monkeypatch):
    from assessments import recompute

    monkeypatch.setattr(recompute, "touch_region", lambda code, years: None)


@pytest.fixture
def town_user(make_user):
    return make_user("bj_town", "township", TOWN)


def tpl(doc_no):
    return TargetTemplate.objects.get(doc_no=doc_no)


def text(resp) -> str:
    return re.sub(r"\s+", " ", resp.content.decode())


def test_nav_entry(health, town_user):
    for user in (health, town_user):
        resp = csrf_client(user).get("/")
        assert "指标与目标" in resp.content.decode()
        assert f'href="{TARGETS}"' in resp.content.decode()


# -- the catalogue ----------------------------------------------------------------------------------
def test_catalogue_lists_every_indicator(health):
    resp = csrf_client(health).get(INDICATORS)
    assert resp.status_code == 200
    body = text(resp)
    for ind in Indicator.objects.all():
        assert ind.code in body and ind.name in body
    assert "60岁以上常住老年人数" in body  # a reported indicator's denominator
    assert 'name="weight_SATISFACTION"' in body


def test_health_edits_weights(health):
    client = csrf_client(health)
    resp = post_form(
        client,
        INDICATORS,
        "/reports/targets/indicators/weights/",
        {"weight_SATISFACTION": "2.5"},
        follow=True,
    )
    assert resp.status_code == 200 and "权重已保存" in resp.content.decode()
    assert Indicator.objects.get(code="SATISFACTION").weight == Decimal("2.50")
    ev = AuditEvent.objects.get(object_type="assessments.indicator")
    assert ev.changes == {"weight": ["1.00", "2.50"]}


def test_bad_weight_is_shown_on_its_row(health):
    client = csrf_client(health)
    resp = post_form(
        client, INDICATORS, "/reports/targets/indicators/weights/", {"weight_SATISFACTION": "-3"}
    )
    assert resp.status_code == 400
    assert 'data-error="weight_SATISFACTION"' in resp.content.decode()
    assert Indicator.objects.get(code="SATISFACTION").weight == Decimal("1.00")


def test_township_reads_the_catalogue_but_cannot_edit_weights(town_user):
    client = csrf_client(town_user)
    resp = client.get(INDICATORS)
    assert resp.status_code == 200 and 'name="weight_' not in resp.content.decode()
    resp = post_form(client, INDICATORS, "/reports/targets/indicators/weights/", {"weight_SATISFACTION": "9"})
    assert resp.status_code == 403


# -- templates ---------------------------------------------------------------------------------------
def test_templates_page_shows_documents_items_and_clauses(health):
    resp = csrf_client(health).get(TEMPLATES)
    body = text(resp)
    for t in TargetTemplate.objects.all():
        assert t.doc_no in body
    assert "二(三) 发展目标：“到2018年年底，……家庭医生签约服务力争覆盖70%以上的常住老年人群”" in body
    assert "70.00%" in body and "4,200 张" in body
    assert "2025年底，争取新增一家医疗机构设立安宁疗护中心" in body  # 002's note
    assert body.count('data-testid="apply-form"') == TargetTemplate.objects.count()


def test_apply_template_preview_then_apply(health):
    client = csrf_client(health)
    t = tpl("冯政发〔2018〕24号")
    url = f"/reports/targets/templates/{t.pk}/apply/?region={TOWN}"
    resp = client.get(url)
    assert resp.status_code == 200
    body = text(resp)
    assert body.count('data-action="create"') == 8 and "北郊镇" in body
    assert not Target.objects.exists()  # the preview writes nothing
    resp = post_form(client, url, f"/reports/targets/templates/{t.pk}/apply/", {"region": TOWN})
    assert resp.status_code == 302 and resp["Location"] == f"{TARGETS}?region={TOWN}"
    assert Target.objects.filter(region_id=TOWN, source_doc="冯政发〔2018〕24号").count() == 8
    page = client.get(resp["Location"])
    assert "冯政发〔2018〕24号 已应用到北郊镇：新增 8 条，更新 0 条，未变 0 条。" in text(page)
    # nothing left to do: every row unchanged and the button disabled
    body = text(client.get(url))
    assert body.count('data-action="unchanged"') == 8 and " disabled>" in body


def test_apply_elsewhere_is_404_and_townships_cannot_apply(health, town_user, make_user):
    t = tpl("周政办字〔2017〕109号")
    url = f"/reports/targets/templates/{t.pk}/apply/"
    assert csrf_client(health).get(f"{url}?region=370307000000").status_code == 404
    town = csrf_client(town_user)
    assert town.get(TEMPLATES).status_code == 200
    assert 'data-testid="apply-form"' not in town.get(TEMPLATES).content.decode()
    assert town.get(f"{url}?region={TOWN}").status_code == 403
    assert post_form(town, TEMPLATES, url, {"region": TOWN}).status_code == 403
    assert not Target.objects.exists()


# -- a region's targets -----------------------------------------------------------------------------------
@pytest.fixture
def applied(health):
    svc.template_apply(
        actor=health, template=tpl("冯政发〔2018〕24号"), region=Region.objects.get(code=COUNTY)
    )


def test_township_page_shows_inherited_targets(health, applied):
    resp = csrf_client(health).get(f"{TARGETS}?region={TOWN}&from=2017&to=2021")
    assert resp.status_code == 200
    body = text(resp)
    row = re.search(r'<tr data-indicator="FD_SIGNING_RATE">(.*?)</tr>', body).group(1)
    cells = dict(re.findall(r'data-year="(\d{4})"[^>]*?data-value="([\d.]+)"', row))
    assert cells == {"2018": "70.00", "2019": "70.00", "2020": "100.00", "2021": "100.00"}
    assert 'data-year="2017"' in row and "data-value" not in row.split('data-year="2018"')[0]
    assert "「继承自 周村区」" in row and 'data-inherited="1"' in row
    assert "本区划没有设定目标" in body  # the township has none of its own


def test_county_page_shows_its_own_targets(health, applied):
    body = text(csrf_client(health).get(f"{TARGETS}?region={COUNTY}&from=2018&to=2020"))
    row = re.search(r'<tr data-indicator="GREEN_CHANNEL_RATE">(.*?)</tr>', body).group(1)
    assert 'data-inherited="0"' in row and "继承自" not in row
    assert row.count("badge text-bg-primary") == 2  # set in 2018 and 2020; 2019 carried forward
    assert body.count('data-testid="delete-target"') == 8


def test_set_and_remove_a_count_target_by_hand(health):
    client = csrf_client(health)
    page = f"{TARGETS}?region={COUNTY}"
    resp = post_form(
        client,
        page,
        "/reports/targets/set/",
        {
            "region": COUNTY,
            "indicator": "HOSPICE_SERVICES",
            "year": "2025",
            "value": "3",
            "source_doc": "东政办〔2022〕42号",
            "clause": "四(一)“2025年底，争取新增一家医疗机构设立安宁疗护中心”",
        },
        follow=True,
    )
    assert resp.status_code == 200
    t = Target.objects.get(indicator_id="HOSPICE_SERVICES", region_id=COUNTY)
    assert t.value == 3 and t.year == 2025 and t.set_by == health
    body = text(resp)
    assert "已设定目标：提供安宁疗护服务的医疗机构数 自 2025 年起 3 个" in body
    resp = post_form(client, page, f"/reports/targets/{t.pk}/delete/", follow=True)
    assert resp.status_code == 200 and not Target.objects.exists()
    assert AuditEvent.objects.filter(object_type="assessments.target", action="delete").count() == 1


def test_a_bad_value_is_shown_on_the_form(health):
    client = csrf_client(health)
    resp = post_form(
        client,
        f"{TARGETS}?region={COUNTY}",
        "/reports/targets/set/",
        {"region": COUNTY, "indicator": "YL_INSTITUTIONS", "year": "2025", "value": "20.5"},
    )
    assert resp.status_code == 400
    assert 'data-error="value"' in resp.content.decode() and "应为整数" in resp.content.decode()
    assert not Target.objects.exists()


def test_township_reads_its_own_targets_only_and_writes_none(town_user, health, applied):
    client = csrf_client(town_user)
    resp = client.get(TARGETS)
    assert resp.status_code == 200
    body = text(resp)
    assert "北郊镇" in body and "「继承自 周村区」" in body  # what it inherits is shown
    assert 'data-testid="target-form"' not in body and 'data-testid="delete-target"' not in body
    assert client.get(f"{TARGETS}?region={COUNTY}").status_code == 404
    assert client.get(f"{TARGETS}?region=370306001000").status_code == 404
    data = {"region": TOWN, "indicator": "YL_BEDS", "year": "2025", "value": "1"}
    assert post_form(client, TARGETS, "/reports/targets/set/", data).status_code == 403
    t = Target.objects.filter(region_id=COUNTY).first()
    assert post_form(client, TARGETS, f"/reports/targets/{t.pk}/delete/").status_code == 403


def test_health_of_another_county_gets_404(make_user, applied):
    other = csrf_client(make_user("health2", "health", OTHER))
    assert other.get(f"{TARGETS}?region={COUNTY}").status_code == 404
    assert other.get(f"{TARGETS}?region=bad").status_code == 404
    t = Target.objects.filter(region_id=COUNTY).first()
    assert post_form(other, TARGETS, f"/reports/targets/{t.pk}/delete/").status_code == 404
    data = {"region": COUNTY, "indicator": "YL_BEDS", "year": "2025", "value": "1"}
    assert post_form(other, TARGETS, "/reports/targets/set/", data).status_code == 404
    assert Target.objects.filter(region_id=COUNTY).count() == 8


# -- the admin site -------------------------------------------------------------------------------------
@pytest.fixture
def admin_client(client, make_user):
    from tests.factories import current_code, login, totp_device

    user = make_user("adm", "admin", "370000000000")
    device = totp_device(user)
    login(client, user)
    if client.get("/system/").status_code == 302:
        client.post("/accounts/2fa/", {"token": current_code(device)})
    return client


def test_admin_adds_a_reported_indicator_without_code(admin_client):
    """DOMAIN.md §7: a new reported field (a township_reports column) and an indicator over it."""
    resp = admin_client.post(
        "/system/assessments/reportedfield/add/",
        {
            "code": "disabled60",
            "name": "60岁以上失能老年人数",
            "synonyms": "[]",
            "decimals": "0",
            "order": "20",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:1500]
    data = {
        "code": "DISABLED_SHARE",
        "name": "失能老年人占比",
        "unit": "percent",
        "direction": "down",
        "source": "reported",
        "reported_numerator": "disabled60",
        "reported_denominator": "pop60",
        "weight": "1",
        "active": "on",
        "order": "200",
    }
    bad = admin_client.post("/system/assessments/indicator/add/", {**data, "reported_numerator": "nope"})
    assert bad.status_code == 200 and "请填写已有的填报项代码" in bad.content.decode()
    resp = admin_client.post("/system/assessments/indicator/add/", data)
    assert resp.status_code == 302, resp.content.decode()[:1500]
    assert Indicator.objects.get(code="DISABLED_SHARE").reported_numerator == "disabled60"
    assert AuditEvent.objects.filter(object_type="assessments.indicator", object_id="DISABLED_SHARE").exists()
    assert AuditEvent.objects.filter(object_type="assessments.reportedfield", object_id="disabled60").exists()


def test_admin_edits_a_template_item_audited(admin_client):
    t = tpl("东政办〔2022〕42号")
    item = t.items.get()
    url = f"/system/assessments/targettemplate/{t.pk}/change/"
    assert admin_client.get(url).status_code == 200
    data = {
        "doc_no": t.doc_no,
        "title": t.title,
        "issuer": t.issuer,
        "place": t.place,
        "seed_file": t.seed_file,
        "note": t.note,
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "1",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-id": str(item.pk),
        "items-0-template": str(t.pk),
        "items-0-indicator": item.indicator_id,
        "items-0-year": "2024",
        "items-0-value": "100.00",
        "items-0-clause": item.clause,
        "items-0-note": "按县里要求提前一年",
    }
    resp = admin_client.post(url, data)
    assert resp.status_code == 302, resp.content.decode()[:1500]
    item.refresh_from_db()
    assert item.year == 2024
    ev = AuditEvent.objects.get(object_type="assessments.targettemplateitem", object_id=str(item.pk))
    assert ev.changes["year"] == [2023, 2024]
