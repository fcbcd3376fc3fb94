"""Occupancy and resident services (subsidies/occupancy.py; DOMAIN.md §6, SECURITY.md): occupied
beds within the 核定 beds of that month's last day, scope and permissions, the ID number
encrypted at rest with a lookup hash, unmasking audited with its reason (and refused without
the permission), stays of one person never overlapping across homes."""

import datetime
import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent, Result
from institutions import services as registry
from subsidies import idcard
from subsidies import occupancy as svc
from subsidies.models import OccupancyReport, Resident
from tests.factories import at, make_home, make_hospital

pytestmark = pytest.mark.django_db
D = datetime.date

YINZI, XIUHUA, BEIJIAO_HOME = "91310110666007217T", "52370306MJ0000001J", "52370306MJD600087D"
NEIGHBOUR_HOME = "52370307MJD6000112"
ZHANG, LI = "370306194501021237", "11010519491231002X"


@pytest.fixture
def homes(regions):
    return {
        # 丝绸路街道 (the township user's): 80 beds from 2020, 40 from March 2025
        "yinzi": make_home(
            name="银子敬老院", region="370306001001", credit_code=YINZI, opened_on=D(2020, 1, 1)
        ),
        "xiuhua": make_home(
            name="绣花社区养老院",
            region="370306001002",
            credit_code=XIUHUA,
            type="care_home",
            beds_eldercare=40,
        ),
        # 北郊镇: the same county, another township
        "beijiao": make_home(opened_on=D(2020, 1, 1)),
        # 邻县: another county
        "neighbour": make_home(name="邻县敬老院", region="370307001000", credit_code=NEIGHBOUR_HOME),
    }


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    at(monkeypatch, D(2025, 8, 15))


JAN_5 = D(2025, 1, 5)


def stay(actor, home, number=ZHANG, admitted=JAN_5, discharged=None, name="张秀英", level=1):
    return svc.resident_record(
        actor,
        home,
        name=name,
        id_number=number,
        ability_level=level,
        admitted_on=admitted,
        discharged_on=discharged,
    )


# -- occupancy --------------------------------------------------------------------------------
def test_occupancy_within_the_beds_of_that_month_end(homes, township, civil):
    yinzi = homes["yinzi"]
    registry.institution_change(
        actor=SYSTEM, institution=yinzi, changes={"beds_eldercare": 40}, effective=D(2025, 3, 1)
    )
    yinzi.refresh_from_db()
    report = svc.occupancy_record(township, yinzi, D(2025, 1, 17), 60, 20)  # 80 beds on 31 January
    assert (report.month, report.occupied, report.created_by) == (D(2025, 1, 1), 80, township)
    event = AuditEvent.objects.get(object_type="subsidies.occupancyreport", action=Action.CREATE)
    assert event.changes["self_care"] == [None, 60] and event.changes["month"] == [None, "2025-01-01"]

    with pytest.raises(ValidationError) as refused:  # 40 beds on 31 March
        svc.occupancy_record(township, yinzi, D(2025, 3, 1), 30, 11)
    message = " ".join(refused.value.messages)
    assert "合计 41 张" in message and "2025年3月末" in message and "核定养老床位数 40 张" in message
    assert not OccupancyReport.objects.filter(month=D(2025, 3, 1)).exists()
    assert svc.occupancy_record(township, yinzi, D(2025, 3, 31), 30, 10).occupied == 40  # exactly: allowed


def test_occupancy_before_the_first_version_uses_the_current_copy(homes, township):
    xiuhua = homes["xiuhua"]  # first version from today (2025-08-15)
    with pytest.raises(ValidationError, match="现的核定养老床位数 40 张"):
        svc.occupancy_record(township, xiuhua, D(2025, 1, 1), 41, 0)
    assert svc.occupancy_record(township, xiuhua, D(2025, 1, 1), 40, 0).occupied == 40


def test_occupancy_scope_permission_and_corrections(homes, township, civil, make_user):
    with pytest.raises(PermissionDenied, match="管辖范围"):
        svc.occupancy_record(township, homes["beijiao"], D(2025, 1, 1), 1, 1)
    with pytest.raises(PermissionDenied, match="管辖范围"):
        svc.occupancy_record(civil, homes["neighbour"], D(2025, 1, 1), 1, 1)
    with pytest.raises(PermissionDenied):
        svc.occupancy_record(make_user("fin", "finance"), homes["yinzi"], D(2025, 1, 1), 1, 1)
    with pytest.raises(ValidationError, match="养老服务机构"):
        svc.occupancy_record(civil, make_hospital(region="370306001000"), D(2025, 1, 1), 1, 1)
    with pytest.raises(ValidationError, match="尚未到来"):
        svc.occupancy_record(civil, homes["yinzi"], D(2025, 9, 1), 1, 1)

    svc.occupancy_record(township, homes["yinzi"], D(2025, 1, 1), 30, 10)
    events = AuditEvent.objects.count()
    svc.occupancy_record(township, homes["yinzi"], D(2025, 1, 1), 30, 10)  # the same figures: nothing
    assert AuditEvent.objects.count() == events
    with pytest.raises(PermissionDenied, match="已填报"):  # a township corrects through an import
        svc.occupancy_record(township, homes["yinzi"], D(2025, 1, 1), 31, 10)
    report = svc.occupancy_record(civil, homes["yinzi"], D(2025, 1, 1), 31, 10)
    assert report.self_care == 31 and OccupancyReport.objects.count() == 1
    update = AuditEvent.objects.get(object_type="subsidies.occupancyreport", action=Action.UPDATE)
    assert update.changes == {"self_care": [30, 31]}


# -- residents: encryption, hash, masking -------------------------------------------------------
def test_id_number_encrypted_at_rest_found_by_hash_and_masked(homes, township):
    r = stay(township, homes["yinzi"], LI.lower(), name="李桂兰")
    assert (r.id_masked, r.birth_date) == ("1101**********002X", D(1949, 12, 31))
    assert str(r) == "李桂兰（1101**********002X）"
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM subsidies_resident WHERE id = %s", [r.pk])
        raw = " ".join(str(col) for col in cur.fetchone())
    assert LI not in raw and LI.lower() not in raw and LI[:17] not in raw
    assert idcard.decrypt(Resident.objects.get(pk=r.pk).id_cipher) == LI
    assert list(svc.residents_with_id(township, LI)) == [r]
    assert list(svc.residents_with_id(township, " 11010519491231002x ")) == [r]
    assert not svc.residents_with_id(township, ZHANG).exists()
    event = AuditEvent.objects.get(object_type="subsidies.resident", action=Action.CREATE)
    logged = str(event.changes) + str(event.detail) + event.object_repr
    assert LI not in logged and "1101**********002X" in logged and "1949-12-31" not in logged


def test_invalid_number_refused_without_quoting_it(homes, township):
    with pytest.raises(ValidationError) as refused:
        stay(township, homes["yinzi"], "370306194501021238")
    assert "校验码" in str(refused.value) and "370306194501021238" not in str(refused.value)
    with pytest.raises(ValidationError, match="15位"):
        stay(township, homes["yinzi"], "370306450102123")
    assert not Resident.objects.exists()


def test_unmask_needs_the_permission_and_a_reason_and_is_audited(homes, township, civil):
    r = stay(township, homes["yinzi"])
    with pytest.raises(PermissionDenied):
        svc.resident_unmask(township, r, "核对补助申请")
    denied = AuditEvent.objects.get(action=Action.UNMASK)
    assert (denied.result, denied.actor, denied.detail["reason"]) == (Result.DENIED, township, "核对补助申请")
    with pytest.raises(ValidationError, match="事由"):
        svc.resident_unmask(civil, r, "  ")
    assert svc.resident_unmask(civil, r, "核对运营补助申请材料") == ZHANG
    shown = AuditEvent.objects.filter(action=Action.UNMASK, result=Result.OK).get()
    assert (shown.actor, shown.detail["reason"], shown.object_id) == (
        civil,
        "核对运营补助申请材料",
        str(r.pk),
    )
    assert all(ZHANG not in str(e.detail) + str(e.changes) + e.object_repr for e in AuditEvent.objects.all())
    # Another county's officer: refused (and audited) even with the permission.
    from tests.factories import make_user

    other = make_user("civil_other", "civil", "370307000000")
    with pytest.raises(PermissionDenied, match="管辖范围"):
        svc.resident_unmask(other, r, "核对补助申请")
    assert AuditEvent.objects.filter(action=Action.UNMASK, result=Result.DENIED).count() == 3


# -- residents: stays ---------------------------------------------------------------------------
def test_stays_overlapping_across_homes_are_refused(homes, township, civil):
    stay(township, homes["yinzi"], admitted=D(2025, 1, 5), discharged=D(2025, 3, 1))
    # Back-to-back is fine: [入住, 退住) ends the day before 1 March.
    later = stay(township, homes["xiuhua"], admitted=D(2025, 3, 1))
    with pytest.raises(ValidationError) as refused:
        stay(township, homes["yinzi"], admitted=D(2025, 5, 1))
    assert "绣花社区养老院" in str(refused.value) and "2025-03-01 起、至今未退住" in str(refused.value)
    # A home outside the user's scope is not named, nor its dates told.
    r = stay(civil, homes["beijiao"], LI, admitted=D(2024, 6, 1), name="李桂兰")
    with pytest.raises(ValidationError) as hidden:
        stay(township, homes["yinzi"], LI, admitted=D(2025, 2, 1), name="李桂兰")
    text = str(hidden.value)
    assert "另一家养老机构" in text and "北郊镇敬老院" not in text and "2024-06-01" not in text
    # The same stay in the same home, overlapping another of its own stays.
    with pytest.raises(ValidationError, match="本机构"):
        stay(civil, homes["beijiao"], LI, admitted=D(2024, 9, 1), name="李桂兰")
    # Discharging the first makes room; the discharge itself must not create an overlap.
    svc.resident_discharge(civil, r, D(2025, 2, 1))
    assert stay(township, homes["yinzi"], LI, admitted=D(2025, 2, 1), name="李桂兰").pk
    with pytest.raises(ValidationError):
        svc.resident_discharge(civil, later, D(2025, 2, 1))  # before admission
    assert Resident.objects.count() == 4


def test_discharge_and_corrections_by_role(homes, township, civil):
    r = stay(township, homes["yinzi"])
    r = svc.resident_discharge(township, r, D(2025, 7, 1))  # a township records the discharge
    assert r.discharged_on == D(2025, 7, 1)
    with pytest.raises(PermissionDenied, match="县级民政"):
        svc.resident_discharge(township, r, D(2025, 7, 5))
    with pytest.raises(PermissionDenied, match="修改入住记录"):
        stay(township, homes["yinzi"], level=3, discharged=D(2025, 7, 1))
    corrected = stay(civil, homes["yinzi"], level=3, discharged=D(2025, 7, 1))
    assert corrected.pk == r.pk and corrected.ability_level == 3
    with pytest.raises(ValidationError, match="晚于今天"):
        svc.resident_discharge(civil, r, D(2025, 9, 1))
    assert AuditEvent.objects.filter(object_type="subsidies.resident", action=Action.UPDATE).count() == 2


def test_no_full_id_number_in_the_logs(homes, township, civil, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own loggers stop at INFO
    connection.force_debug_cursor = True  # SQL with its parameters goes to django.db.backends
    try:
        r = stay(township, homes["yinzi"], LI, name="李桂兰")
        svc.resident_unmask(civil, r, "核对补助申请材料")
        with pytest.raises(ValidationError):
            stay(township, homes["xiuhua"], LI, name="李桂兰")
        list(svc.residents_with_id(civil, LI))
    finally:
        connection.force_debug_cursor = False
    assert caplog.records, "nothing was logged: the check proves nothing"
    assert any("subsidies_resident" in rec.getMessage() for rec in caplog.records)
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert LI not in text and LI.lower() not in text and "19491231002" not in text


# -- key rotation -------------------------------------------------------------------------------
def test_reencrypt_residents_after_rotating_both_keys(homes, civil, settings, monkeypatch):
    import io

    from django.core.management import call_command

    settings.PORTAL_ID_ENCRYPTION_KEY, settings.PORTAL_ID_HASH_KEY = "old-enc", "old-hash"
    a = stay(civil, homes["yinzi"])
    b = stay(civil, homes["xiuhua"], LI, name="李桂兰")
    settings.PORTAL_ID_ENCRYPTION_KEY, settings.PORTAL_ID_HASH_KEY = "new-enc", "new-hash"
    assert not svc.residents_with_id(civil, ZHANG).exists()  # the old hash: not found until re-hashed

    def command(*args):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("reencrypt_residents", *args, stdout=out, stderr=err)
        except SystemExit as exc:
            return exc.code, out.getvalue() + err.getvalue()
        return 0, out.getvalue() + err.getvalue()

    assert command()[0] == 2  # no old key given
    monkeypatch.setenv("PORTAL_ID_ENCRYPTION_KEY_OLD", "old-enc")
    monkeypatch.setenv("PORTAL_ID_HASH_KEY_OLD", "old-hash")
    stamps = dict(Resident.objects.values_list("pk", "updated_at"))
    code, text = command("--dry-run")
    assert code == 0 and "将重新加密 2 条" in text
    assert not svc.residents_with_id(civil, ZHANG).exists()
    code, text = command()
    assert code == 0 and "已重新加密 2 条" in text and ZHANG not in text
    assert list(svc.residents_with_id(civil, ZHANG)) == [a] and list(svc.residents_with_id(civil, LI)) == [b]
    assert svc.resident_unmask(civil, Resident.objects.get(pk=b.pk), "核对补助申请材料") == LI
    assert dict(Resident.objects.values_list("pk", "updated_at")) == stamps
    event = AuditEvent.objects.filter(detail__step="reencrypt_residents").get()
    assert event.detail["reencrypted"] == 2 and ZHANG not in str(event.detail)
    code, text = command()  # idempotent
    assert code == 0 and "无需处理 2 条" in text
    # A row no key opens is reported by id, not guessed at.
    Resident.objects.filter(pk=a.pk).update(id_cipher=idcard.encrypt(ZHANG, "some-other-key"))
    code, text = command()
    assert code == 1 and str(a.pk) in text


def test_month_end_figures_wait_for_the_month_to_end():
    """New-user finding: December's month-end figures were accepted on 2 December."""
    from subsidies.occupancy import Capacity, occupancy_errors

    cap = Capacity(beds=100, status="operating", from_history=True)
    d = datetime.date
    early = occupancy_errors("eldercare", d(2026, 12, 1), 10, 5, cap, today=d(2026, 12, 2))
    assert "尚未结束" in early["month"] and "12月31日" in early["month"]
    assert occupancy_errors("eldercare", d(2026, 12, 1), 10, 5, cap, today=d(2026, 12, 31)) == {}
    assert occupancy_errors("eldercare", d(2026, 11, 1), 10, 5, cap, today=d(2026, 12, 2)) == {}
