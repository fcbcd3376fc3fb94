"""Effective-dated registry history (DOMAIN.md §3): as-of queries, late entries, carry-forward."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent
from institutions import services
from institutions.models import Institution, InstitutionVersion, versions_on

pytestmark = pytest.mark.django_db
D = datetime.date


def home(actor=SYSTEM, **extra):
    facts = {
        "name": "北郊镇敬老院",
        "type": "elder_home",
        "region": "370306100000",
        "ownership": "public",
        "opened_on": D(2020, 3, 1),
        "status": "operating",
        "beds_eldercare": 120,
        "beds_nursing": 60,
        **extra,
    }
    return services.institution_create(
        actor=actor, family="eldercare", credit_code="91310110666007217T", facts=facts
    )


def on(inst, day):
    return versions_on(day).get(institution=inst)


def test_first_record_effective_from_opened_date(regions):
    inst = home()
    assert inst.portal_no == f"JG{inst.pk:08d}"
    assert not versions_on(D(2020, 2, 29)).filter(institution=inst).exists()
    assert on(inst, D(2020, 3, 1)).beds_eldercare == 120


def test_late_entered_closure_counts_on_its_date_and_keeps_later_changes(regions):
    inst = home()
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"beds_eldercare": 150}, effective=D(2026, 1, 1)
    )
    # Typed in on 5 January: the home closed on 15 December 2025.
    services.institution_set_status(
        actor=SYSTEM, institution=inst, status="closed", effective=D(2025, 12, 15)
    )
    assert on(inst, D(2025, 12, 14)).status == "operating"
    assert on(inst, D(2025, 12, 31)).status == "closed"
    jan = on(inst, D(2026, 1, 2))
    assert jan.status == "closed" and jan.beds_eldercare == 150  # carried forward, own change kept
    assert on(inst, D(2025, 12, 31)).beds_eldercare == 120
    # One row per period, no overlaps.
    rows = list(
        InstitutionVersion.objects.filter(institution=inst)
        .order_by("valid_from")
        .values_list("valid_from", "valid_to")
    )
    assert rows == [(D(2020, 3, 1), D(2025, 12, 15)), (D(2025, 12, 15), D(2026, 1, 1)), (D(2026, 1, 1), None)]


def test_later_own_change_stops_the_carry_forward(regions):
    inst = home()
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"beds_eldercare": 200}, effective=D(2024, 6, 1)
    )
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"beds_eldercare": 130}, effective=D(2023, 1, 1)
    )
    assert on(inst, D(2023, 5, 1)).beds_eldercare == 130
    assert on(inst, D(2024, 7, 1)).beds_eldercare == 200


def test_reapplying_the_same_fact_writes_nothing(regions):
    inst = home()
    before = (InstitutionVersion.objects.count(), AuditEvent.objects.count())
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"beds_eldercare": 120}, effective=D(2025, 1, 1)
    )
    assert (InstitutionVersion.objects.count(), AuditEvent.objects.count()) == before


def test_change_is_audited_with_old_and_new_and_effective_date(regions):
    inst = home()
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"beds_nursing": 80}, effective=D(2025, 5, 1)
    )
    ev = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(inst.pk)).get()
    assert ev.changes == {"beds_nursing": [60, 80]} and ev.detail["effective"] == "2025-05-01"


def test_current_copy_follows_today(regions):
    inst = home()
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"name": "北郊镇中心敬老院"}, effective=D(2024, 1, 1)
    )
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={"name": "未来名称"}, effective=D(2099, 1, 1)
    )
    assert Institution.objects.get(pk=inst.pk).name == "北郊镇中心敬老院"


def test_rules_on_create(regions):
    with pytest.raises(ValidationError):
        home(beds_nursing=130)  # 护理型 > 养老床位
    with pytest.raises(ValidationError):
        services.institution_create(
            actor=SYSTEM,
            family="eldercare",
            credit_code="123",
            facts={"name": "x", "type": "elder_home", "region": "370306100000"},
        )
    with pytest.raises(ValidationError):  # code required except 村卫生室/农村幸福院
        services.institution_create(
            actor=SYSTEM,
            family="eldercare",
            facts={"name": "x", "type": "elder_home", "region": "370306100000"},
        )
    happy = services.institution_create(
        actor=SYSTEM,
        family="eldercare",
        facts={"name": "李家村幸福院", "type": "rural_happiness_home", "region": "370306100201"},
    )
    assert happy.credit_code == ""
    warned = services.institution_create(
        actor=SYSTEM,
        family="medical",
        credit_code="91310110666007217A",
        facts={"name": "x医院", "type": "general_hospital", "region": "370306100000"},
    )
    assert "校验位" in warned.credit_code_warning


def test_hospital_elder_care_department_shares_the_code(regions):
    services.institution_create(
        actor=SYSTEM,
        family="medical",
        credit_code="91310110666007217T",
        facts={"name": "区医院", "type": "general_hospital", "region": "370306001000"},
    )
    home()  # same code, other family: allowed
    from django.db import IntegrityError, transaction

    with pytest.raises((ValidationError, IntegrityError)), transaction.atomic():
        home(name="另一家")


def test_roles_and_scope(make_user):
    health = make_user("h", "health")
    civil = make_user("c", "civil")
    township = make_user("t", "township", "370306001000")
    with pytest.raises(PermissionDenied):
        home(actor=health)  # elder care is civil affairs' registry
    inst = home(actor=civil)
    with pytest.raises(PermissionDenied):
        services.institution_change(actor=township, institution=inst, changes={"beds_eldercare": 1})
    assert list(Institution.objects.for_user(township)) == []
    assert list(Institution.objects.for_user(civil)) == [inst]


def test_a_full_form_records_only_the_fields_that_changed(regions):
    from institutions.models import FACT_FIELDS

    inst = home()
    current = {f: getattr(inst, f + "_id" if f in ("region", "run_by") else f) for f in FACT_FIELDS}
    services.institution_change(
        actor=SYSTEM, institution=inst, changes={**current, "beds_eldercare": 140}, effective=D(2024, 1, 1)
    )
    v = InstitutionVersion.objects.get(institution=inst, valid_from=D(2024, 1, 1))
    assert v.changed == ["beds_eldercare"]
    # A later-entered closure dated before it still carries through (status was not changed in 2024).
    services.institution_set_status(actor=SYSTEM, institution=inst, status="closed", effective=D(2023, 6, 1))
    assert on(inst, D(2024, 6, 1)).status == "closed"


def test_a_future_dated_change_becomes_current_on_its_day(regions):
    import datetime

    from django.utils import timezone

    from eldercare.accounts.scope import SYSTEM
    from institutions.services import institution_change, institution_create, refresh_current_copies

    inst = institution_create(
        actor=SYSTEM,
        family="eldercare",
        credit_code="91310110666007217T",
        facts={"name": "银子敬老院", "type": "elder_home", "region": "370306001001", "beds_eldercare": 60},
        effective=datetime.date(2020, 1, 1),
    )
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    institution_change(actor=SYSTEM, institution=inst, changes={"beds_eldercare": 80}, effective=tomorrow)
    inst.refresh_from_db()
    assert inst.beds_eldercare == 60  # not yet
    assert refresh_current_copies(today=timezone.localdate()) == 0
    assert refresh_current_copies(today=tomorrow) == 1
    inst.refresh_from_db()
    assert inst.beds_eldercare == 80
    assert refresh_current_copies(today=tomorrow) == 0  # idempotent
