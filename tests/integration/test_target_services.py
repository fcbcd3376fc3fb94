"""Targets and the catalogue's weights on the real database (assessments/target_services.py):
the shipped templates, applying one to a region (idempotent, counted, audited, scoped), targets
by hand (count targets too), deletion, weights, and the recompute each change queues."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assessments import target_services as svc
from assessments import templates_data
from assessments.models import Indicator, Target, TargetTemplate, TargetTemplateItem
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import AuditEvent
from eldercare.regions.models import Region
from tests.factories import at, ensure_assessment_catalogue

pytestmark = pytest.mark.django_db
COUNTY, TOWN, OTHER = "370306000000", "370306100000", "370307000000"


@pytest.fixture
def touched(monkeypatch):
    """The recompute requests the services queue: [(region, years)]."""
    from assessments import recompute

    calls = []
    monkeypatch.setattr(recompute, "touch_region", lambda code, years: calls.append((code, list(years))))
    return calls


@pytest.fixture
def today(monkeypatch):
    at(monkeypatch, datetime.date(2026, 6, 1))


def tpl(doc_no) -> TargetTemplate:
    return TargetTemplate.objects.get(doc_no=doc_no)


def ind(code) -> Indicator:
    return Indicator.objects.get(code=code)


# -- the shipped templates ----------------------------------------------------------------------------
def test_migration_ships_one_template_per_seed_and_the_national_plan():
    seeds = dict(TargetTemplate.objects.values_list("seed_file", "doc_no"))
    assert seeds == {
        "000_a6a1084fb0cf220e.txt": "周政办字〔2017〕109号",
        "001_8ffd31154bc4d7b9.txt": "冯政发〔2018〕24号",
        "002_143d69c61604bf96.txt": "东政办〔2022〕42号",
        "003_596fed3f93511451.txt": "**市**区推进医养结合工作的实施方案",
        "004_b5b0377e4d18a956.txt": "珠府办〔2016〕25号",
        "": "国发〔2021〕35号",
    }
    assert "没有文号" in tpl("**市**区推进医养结合工作的实施方案").note


ITEMS = [
    # (文号, indicator, year, value, clause number)
    ("周政办字〔2017〕109号", "YL_MED_COVERAGE", 2020, "100.00", "二"),
    ("周政办字〔2017〕109号", "GREEN_CHANNEL_RATE", 2020, "100.00", "二"),
    ("周政办字〔2017〕109号", "YL_INSTITUTIONS", 2020, "20", "一"),
    ("周政办字〔2017〕109号", "YL_BEDS", 2020, "4200", "一"),
    ("冯政发〔2018〕24号", "YL_MED_COVERAGE", 2018, "80.00", "二(三)"),
    ("冯政发〔2018〕24号", "YL_MED_COVERAGE", 2020, "100.00", "二(三)"),
    ("冯政发〔2018〕24号", "GREEN_CHANNEL_RATE", 2018, "90.00", "二(三)"),
    ("冯政发〔2018〕24号", "GREEN_CHANNEL_RATE", 2020, "100.00", "二(三)"),
    ("冯政发〔2018〕24号", "FD_SIGNING_RATE", 2018, "70.00", "二(三)"),
    ("冯政发〔2018〕24号", "FD_SIGNING_RATE", 2020, "100.00", "二(三)"),
    ("冯政发〔2018〕24号", "HEALTH_MGMT_RATE", 2020, "75.00", "二(三)"),
    ("冯政发〔2018〕24号", "VILLAGE_CENTER_RATE", 2020, "66.66", "二(三)"),
    ("东政办〔2022〕42号", "YL_MED_COVERAGE", 2023, "100.00", "一"),
    ("**市**区推进医养结合工作的实施方案", "BIG_YL_MED_UNIT_RATE", 2016, "100.00", "二(二)5"),
    ("**市**区推进医养结合工作的实施方案", "GERIATRIC_DEPT_RATE", 2016, "100.00", "二(三)9"),
    ("**市**区推进医养结合工作的实施方案", "YL_MED_COVERAGE", 2020, "100.00", "一"),
    ("**市**区推进医养结合工作的实施方案", "GREEN_CHANNEL_RATE", 2020, "100.00", "一"),
    ("珠府办〔2016〕25号", "FAMILY_BED_RATE", 2016, "80.00", "二"),
    ("珠府办〔2016〕25号", "GREEN_CHANNEL_RATE", 2016, "100.00", "二"),
    ("珠府办〔2016〕25号", "GOV_YL_MED_COVERAGE", 2017, "80.00", "二"),
    ("珠府办〔2016〕25号", "GOV_YL_MED_COVERAGE", 2018, "100.00", "二"),
    ("国发〔2021〕35号", "NURSING_BED_SHARE", 2025, "55.00", "主要指标"),
]


def test_the_shipped_items_are_the_seeds_targets():
    got = {
        (i.template.doc_no, i.indicator_id, i.year): i
        for i in TargetTemplateItem.objects.select_related("template")
    }
    assert set(got) == {(d, c, y) for d, c, y, _v, _cl in ITEMS}
    for doc, code, year, value, clause in ITEMS:
        item = got[(doc, code, year)]
        assert item.value == Decimal(value), (doc, code, year)
        assert item.clause.startswith(clause), (doc, code, item.clause)
        assert "“" in item.clause  # a quote of the sentence with the number


def test_hospice_target_is_a_note_not_an_item():
    t = tpl("东政办〔2022〕42号")
    assert not t.items.filter(indicator_id="HOSPICE_SERVICES").exists()
    assert "四(一)" in t.note and "HOSPICE_SERVICES" in t.note


def test_install_is_idempotent_and_keeps_edits():
    item = TargetTemplateItem.objects.get(template__doc_no="东政办〔2022〕42号")
    item.value = Decimal("90")
    item.save()
    before = TargetTemplateItem.objects.count()
    ensure_assessment_catalogue()
    templates_data.install()
    assert TargetTemplateItem.objects.count() == before
    item.refresh_from_db()
    assert item.value == Decimal("90")


def test_reinstall_after_flush_recreates_everything():
    Target.objects.all().delete()
    TargetTemplate.objects.all().delete()
    ensure_assessment_catalogue()
    assert TargetTemplate.objects.count() == len(templates_data.TEMPLATES)
    assert TargetTemplateItem.objects.count() == sum(len(t["items"]) for t in templates_data.TEMPLATES)


# -- applying a template -------------------------------------------------------------------------------
def test_apply_creates_the_regions_targets_citing_the_clause(health, touched, today):
    t = tpl("冯政发〔2018〕24号")
    result = svc.template_apply(actor=health, template=t, region=Region.objects.get(code=TOWN))
    assert (result.created, result.updated, result.unchanged) == (8, 0, 0)
    targets = Target.objects.filter(region_id=TOWN)
    assert targets.count() == 8
    fd = targets.get(indicator_id="FD_SIGNING_RATE", year=2018)
    assert fd.value == Decimal("70.00") and fd.source_doc == "冯政发〔2018〕24号"
    assert fd.clause.startswith("二(三)") and "70%以上" in fd.clause
    assert fd.template_item.template == t and fd.set_by == health
    # audited: one event per target, and one for the application
    events = AuditEvent.objects.filter(object_type="assessments.target", action="create")
    assert events.count() == 8 and all(e.username == "health1" for e in events)
    bulk = AuditEvent.objects.get(object_type="assessments.targettemplate")
    assert bulk.detail == {"applied_to": TOWN, "created": 8, "updated": 0, "unchanged": 0}
    # the reports of 2018 onwards for the township's county
    assert touched == [(TOWN, list(range(2018, 2027)))]


def test_apply_again_changes_nothing(health, touched):
    t, region = tpl("周政办字〔2017〕109号"), Region.objects.get(code=COUNTY)
    svc.template_apply(actor=health, template=t, region=region)
    events = AuditEvent.objects.count()
    again = svc.template_apply(actor=health, template=t, region=region)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Target.objects.filter(region_id=COUNTY).count() == 4
    # only the application itself is recorded; no recompute
    assert AuditEvent.objects.count() == events + 1
    assert len(touched) == 1


def test_apply_replaces_a_hand_set_target_for_the_same_year(health, touched):
    region = Region.objects.get(code=COUNTY)
    svc.target_set(actor=health, indicator=ind("YL_BEDS"), region=region, year=2020, value="3000")
    plan = svc.template_preview(actor=health, template=tpl("周政办字〔2017〕109号"), region=region)
    beds = next(r for r in plan if r.item.indicator_id == "YL_BEDS")
    assert beds.action == "update" and beds.changes["value"] == [Decimal("3000"), Decimal("4200")]
    assert (
        Target.objects.get(indicator_id="YL_BEDS", region_id=COUNTY).value == 3000
    )  # preview writes nothing
    result = svc.template_apply(actor=health, template=tpl("周政办字〔2017〕109号"), region=region)
    assert (result.created, result.updated, result.unchanged) == (3, 1, 0)
    t = Target.objects.get(indicator_id="YL_BEDS", region_id=COUNTY)
    assert t.value == 4200 and t.source_doc == "周政办字〔2017〕109号" and t.template_item is not None
    ev = AuditEvent.objects.filter(object_type="assessments.target", action="update").latest("pk")
    assert ev.changes["value"] == ["3000.00", "4200.00"]


def test_two_documents_on_one_region_keep_both_years(health, touched):
    """001 sets green channel 90% (2018) and 100% (2020); 004 sets 100% for 2016: all three
    stand, each citing its own document."""
    region = Region.objects.get(code=COUNTY)
    svc.template_apply(actor=health, template=tpl("冯政发〔2018〕24号"), region=region)
    svc.template_apply(actor=health, template=tpl("珠府办〔2016〕25号"), region=region)
    green = dict(
        Target.objects.filter(indicator_id="GREEN_CHANNEL_RATE", region_id=COUNTY).values_list(
            "year", "source_doc"
        )
    )
    assert green == {2016: "珠府办〔2016〕25号", 2018: "冯政发〔2018〕24号", 2020: "冯政发〔2018〕24号"}


@pytest.mark.parametrize("who", ["township", "civil", "finance", "health_elsewhere"])
def test_apply_is_the_health_bureaus_within_its_scope(who, make_user, touched):
    role, region = (
        ("health", OTHER)
        if who == "health_elsewhere"
        else (who, COUNTY if who != "township" else "370306100000")
    )
    user = make_user(f"u_{who}", role, region)
    with pytest.raises(PermissionDenied):
        svc.template_apply(
            actor=user, template=tpl("周政办字〔2017〕109号"), region=Region.objects.get(code=TOWN)
        )
    assert not Target.objects.exists() and touched == []


def test_health_cannot_apply_above_its_scope(health):
    with pytest.raises(PermissionDenied):
        svc.template_apply(
            actor=health, template=tpl("国发〔2021〕35号"), region=Region.objects.get(code="370300000000")
        )


def test_an_actor_is_required(regions):
    with pytest.raises(PermissionDenied):
        svc.template_apply(
            actor=None, template=tpl("国发〔2021〕35号"), region=Region.objects.get(code=COUNTY)
        )
    with pytest.raises(TypeError):
        svc.target_set(ind("YL_BEDS"), Region.objects.get(code=COUNTY), 2020, 1)  # keyword-only


def test_the_system_may_apply_anywhere(regions, touched):
    result = svc.template_apply(
        actor=SYSTEM, template=tpl("国发〔2021〕35号"), region=regions["370000000000"]
    )
    assert result.created == 1
    assert Target.objects.get().set_by is None


# -- targets by hand -----------------------------------------------------------------------------------
def test_set_a_count_target_by_hand(health, touched, today):
    """002 四(一): one more medical institution with a hospice centre by the end of 2025."""
    region = Region.objects.get(code=COUNTY)
    t, created = svc.target_set(
        actor=health,
        indicator=ind("HOSPICE_SERVICES"),
        region=region,
        year=2025,
        value="3",
        clause="四(一)“2025年底，争取新增一家医疗机构设立安宁疗护中心”",
        source_doc="东政办〔2022〕42号",
    )
    assert created and t.value == 3 and t.template_item is None and t.set_by == health
    assert touched == [(COUNTY, [2025, 2026])]
    ev = AuditEvent.objects.get(object_type="assessments.target", action="create")
    assert ev.changes["value"] == [None, "3.00"] and ev.detail == {"via": "hand"}


def test_setting_the_same_year_again_updates(health, touched):
    region = Region.objects.get(code=COUNTY)
    svc.template_apply(actor=health, template=tpl("周政办字〔2017〕109号"), region=region)
    t, created = svc.target_set(
        actor=health, indicator=ind("YL_BEDS"), region=region, year=2020, value="4500"
    )
    assert not created and t.value == 4500
    assert t.template_item is None  # no longer the template's figure
    assert Target.objects.filter(indicator_id="YL_BEDS", region_id=COUNTY).count() == 1
    # nothing changed: no event, no recompute
    n, calls = AuditEvent.objects.count(), len(touched)
    svc.target_set(actor=health, indicator=ind("YL_BEDS"), region=region, year=2020, value="4500")
    assert AuditEvent.objects.count() == n and len(touched) == calls


@pytest.mark.parametrize(
    "code,value,message",
    [
        ("YL_MED_COVERAGE", "101", "0 到 100"),
        ("YL_MED_COVERAGE", "-1", "负数"),
        ("YL_MED_COVERAGE", "66.666", "两位小数"),
        ("YL_MED_COVERAGE", "八十", "数字"),
        ("YL_INSTITUTIONS", "20.5", "整数"),
        ("HOSPICE_SERVICES", "1.5", "整数"),
    ],
)
def test_values_are_checked(health, code, value, message):
    with pytest.raises(ValidationError) as exc:
        svc.target_set(
            actor=health, indicator=ind(code), region=Region.objects.get(code=COUNTY), year=2025, value=value
        )
    assert message in "".join(exc.value.messages)
    assert not Target.objects.exists()


def test_values_are_normalised(health):
    region = Region.objects.get(code=COUNTY)
    t, _ = svc.target_set(
        actor=health, indicator=ind("YL_MED_COVERAGE"), region=region, year=2025, value="80%"
    )
    assert t.value == Decimal("80.00")
    t, _ = svc.target_set(actor=health, indicator=ind("YL_BEDS"), region=region, year=2025, value="4,200")
    assert t.value == Decimal("4200")


def test_year_is_checked(health):
    with pytest.raises(ValidationError) as exc:
        svc.target_set(
            actor=health, indicator=ind("YL_BEDS"), region=Region.objects.get(code=COUNTY), year=1999, value=1
        )
    assert "year" in exc.value.message_dict


def test_township_may_not_set_targets_even_for_itself(make_user):
    town = make_user("town9", "township", TOWN)
    with pytest.raises(PermissionDenied):
        svc.target_set(
            actor=town, indicator=ind("YL_BEDS"), region=Region.objects.get(code=TOWN), year=2025, value=1
        )


def test_a_future_target_queues_nothing(health, touched, today):
    svc.target_set(
        actor=health, indicator=ind("YL_BEDS"), region=Region.objects.get(code=COUNTY), year=2030, value=1
    )
    assert touched == []


def test_delete(health, make_user, touched, today):
    region = Region.objects.get(code=TOWN)
    t, _ = svc.target_set(
        actor=health, indicator=ind("GREEN_CHANNEL_RATE"), region=region, year=2024, value=95
    )
    other = make_user("health2", "health", OTHER)
    with pytest.raises(PermissionDenied):
        svc.target_delete(actor=other, target=t)
    touched.clear()
    svc.target_delete(actor=health, target=t)
    assert not Target.objects.exists()
    assert touched == [(TOWN, [2024, 2025, 2026])]
    ev = AuditEvent.objects.get(object_type="assessments.target", action="delete")
    assert ev.changes["value"] == ["95.00", None]


# -- weights -------------------------------------------------------------------------------------------
def test_weight_set_is_audited(health):
    i = svc.indicator_weight_set(actor=health, indicator=ind("SATISFACTION"), weight="2.5")
    assert i.weight == Decimal("2.50") and ind("SATISFACTION").weight == Decimal("2.50")
    ev = AuditEvent.objects.get(object_type="assessments.indicator")
    assert ev.changes == {"weight": ["1.00", "2.50"]} and ev.username == "health1"
    svc.indicator_weight_set(actor=health, indicator=ind("SATISFACTION"), weight="2.50")
    assert AuditEvent.objects.filter(object_type="assessments.indicator").count() == 1


@pytest.mark.parametrize("weight", ["-1", "10000", "abc", "1.234"])
def test_weight_is_checked(health, weight):
    with pytest.raises(ValidationError):
        svc.indicator_weight_set(actor=health, indicator=ind("SATISFACTION"), weight=weight)


@pytest.mark.parametrize("role", ["township", "civil", "finance"])
def test_only_health_sets_weights(make_user, role):
    user = make_user(f"w_{role}", role, TOWN if role == "township" else COUNTY)
    with pytest.raises(PermissionDenied):
        svc.indicator_weight_set(actor=user, indicator=ind("SATISFACTION"), weight="2")
