"""Per-region compliance thresholds (DOMAIN.md §3): the nearest region's setting applies, the
stored warnings follow a change, and imports judge rows with the same thresholds."""

import pytest

from eldercare.accounts.scope import SYSTEM
from institutions.models import ComplianceSetting, Institution
from institutions.rules import Thresholds
from institutions.selectors import thresholds_for, warnings_of
from institutions.services import institution_create

pytestmark = pytest.mark.django_db


def test_nearest_ancestor_wins_else_defaults():
    table = {"370306000000": Thresholds(big_home_beds=80), "370306001000": Thresholds(big_home_beds=60)}
    assert thresholds_for("370306001001", table).big_home_beds == 60  # the township's own
    assert thresholds_for("370306100201", table).big_home_beds == 80  # the county's
    assert thresholds_for("370307001000", table).big_home_beds == 100  # defaults
    assert thresholds_for(None, table) == Thresholds()


def home(beds):
    return institution_create(
        actor=SYSTEM,
        family="eldercare",
        credit_code="91310110666007217T",
        facts={"name": "银子敬老院", "type": "elder_home", "region": "370306001001", "beds_eldercare": beds},
    )


def test_a_lower_county_threshold_makes_a_90_bed_home_need_a_unit(regions, make_user, login):
    from django.test import Client

    inst = home(90)
    assert "big_home_no_medical" not in inst.warning_codes
    client = login(Client(), make_user("adm", "admin"))
    resp = client.post(
        "/system/institutions/compliancesetting/add/",
        {"region": "370306000000", "big_home_beds": 80, "hospital_option_beds": 500, "source": "周村区文件"},
    )
    assert resp.status_code == 302, resp.content[:500]
    inst.refresh_from_db()
    assert "big_home_no_medical" in inst.warning_codes  # re-judged on save
    assert any(w.code == "big_home_no_medical" and "80张" in w.message for w in warnings_of(inst))
    from eldercare.audit.models import AuditEvent

    assert AuditEvent.objects.filter(object_type="institutions.compliancesetting").exists()


def test_import_uses_the_region_threshold(regions, make_user):
    from eldercare.sheets import engine

    ComplianceSetting.objects.create(region_id="370306000000", big_home_beds=80)
    civil = make_user("civil-t", "civil", "370306000000")
    data = (
        "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数\n"
        "银子敬老院,91310110666007217T,养老服务机构,养老院,370306001001,90\n"
    ).encode()
    batch = engine.start_import(actor=civil, kind="institutions", data=data, filename="t.csv")
    assert batch.status == "committed"
    assert "big_home_no_medical" in Institution.objects.get().warning_codes
