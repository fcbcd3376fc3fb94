"""The spreadsheet engine on the institutions kind: validate → confirm, staging and acceptance,
idempotent re-import, effective dates, undo, scope. Real PostgreSQL in CI (COPY path)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from eldercare.audit.models import Action, AuditEvent
from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution, InstitutionVersion, versions_on

pytestmark = pytest.mark.django_db
S = ImportBatch.Status

HEADER = "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数,护理型床位数,内设医疗机构,状态,状态日期,成立日期"
HOME = "银子敬老院,91310110666007217T,养老服务机构,敬老院,370306001001,120张,60,医务室,运营中,,2020-01-05"
CLINIC = "李家村卫生室,,医疗卫生机构,村卫生室,370306100201,,,,运营中,,2019/3/1"


def sheet(*rows, title=True):
    lines = (
        ["周村区养老机构基本情况统计表", "填报单位：丝绸路街道,,填报日期：2026年11月30日"] if title else []
    )
    return ("\n".join([*lines, HEADER, *rows, "合计,,,,,120,60"]) + "\n").encode("gb18030")


def run(user, data, **kw):
    return engine.start_import(actor=user, kind="institutions", data=data, filename="t.csv", **kw)


def test_county_import_commits_and_reimport_writes_nothing(civil, health):
    b = run(civil, sheet(HOME), as_of=datetime.date(2026, 11, 30))
    assert b.status == S.COMMITTED, b.get_result()["errors"]
    assert (b.rows_total, b.created, b.updated, b.unchanged, b.skipped) == (1, 1, 0, 0, 3)
    inst = Institution.objects.get(credit_code="91310110666007217T")
    assert inst.portal_no == f"JG{inst.pk:08d}"
    assert (inst.type, inst.beds_eldercare, inst.internal_unit) == ("elder_home", 120, "infirmary")
    v = inst.versions.get()
    assert v.valid_from == datetime.date(2020, 1, 5) and v.valid_to is None
    versions = InstitutionVersion.objects.count()
    again = run(civil, sheet(HOME))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert InstitutionVersion.objects.count() == versions
    assert AuditEvent.objects.filter(action=Action.IMPORT, object_type="sheets.importbatch").exists()


def test_civil_may_not_import_medical_rows(civil):
    b = run(civil, sheet(CLINIC))
    assert b.status == S.INVALID
    err = b.get_result()["errors"][0]
    assert err["row"] == 4 and err["column"] == "机构大类" and "无权" in err["message"]
    assert not Institution.objects.exists()


def test_late_closure_counts_on_its_date_and_undo_restores(civil):
    run(civil, sheet(HOME), as_of=datetime.date(2026, 1, 1))
    closed = HOME.replace("运营中,,", "注销,2025-12-15,")
    b = run(civil, sheet(closed), as_of=datetime.date(2026, 1, 5))
    assert b.status == S.COMMITTED and b.updated == 1, b.get_result()
    inst = Institution.objects.get()
    assert versions_on(datetime.date(2025, 12, 14)).get(institution=inst).status == "operating"
    assert versions_on(datetime.date(2025, 12, 31)).get(institution=inst).status == "closed"
    assert inst.status == "closed"
    engine.revert(actor=civil, batch=b)
    inst.refresh_from_db()
    assert inst.status == "operating" and inst.versions.count() == 1
    b.refresh_from_db()
    assert b.status == S.REVERTED


def test_undo_refused_after_a_later_change(civil):
    from institutions.services import institution_change

    b = run(civil, sheet(HOME))
    inst = Institution.objects.get()
    institution_change(actor=civil, institution=inst, changes={"beds_eldercare": 130})
    with pytest.raises(ValidationError):
        engine.revert(actor=civil, batch=b)
    assert Institution.objects.count() == 1


def test_township_upload_is_staged_until_the_county_accepts(township, civil):
    b = run(township, sheet(HOME))
    assert b.status == S.PENDING and b.summary()["pending_acceptance"]
    assert not Institution.objects.exists()
    with pytest.raises(PermissionDenied):
        engine.accept(actor=township, batch=b)
    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert b.status == S.COMMITTED and b.decided_by == civil
    assert Institution.objects.get().name == "银子敬老院"


def test_township_rows_outside_the_township_are_refused(township):
    other = HOME.replace("370306001001", "370306100201")
    b = run(township, sheet(other))
    assert b.status == S.INVALID
    assert b.get_result()["errors"][0]["column"] == "所属区划代码"


def test_stale_batch_is_not_applied(township, civil):
    from institutions.services import institution_change

    run(civil, sheet(HOME))
    b = run(township, sheet(HOME.replace("120张", "150")))
    assert b.status == S.PENDING and b.updated == 1
    institution_change(actor=civil, institution=Institution.objects.get(), changes={"beds_eldercare": 140})
    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert b.status == S.STALE
    assert Institution.objects.get().beds_eldercare == 140


def test_dry_run_then_confirm(civil):
    b = run(civil, sheet(HOME), dry_run=True)
    assert b.status == S.VALIDATED and not Institution.objects.exists()
    engine.confirm(actor=civil, batch=b)
    b.refresh_from_db()
    assert b.status == S.COMMITTED and Institution.objects.count() == 1


def test_run_by_medical_institution_found_by_code_in_the_county(civil, health):
    from institutions.credit_code import check_character

    first = "12370306MB0000001"
    hospital_code = first + check_character(first)
    hospital_row = f"周村区人民医院,{hospital_code},医疗卫生机构,综合医院,370306001000,,,,运营中,,2000-01-01"
    assert run(health, sheet(hospital_row)).status == S.COMMITTED
    header = HEADER + ",举办医疗机构信用代码"
    data = ("\n".join([header, HOME + f",{hospital_code}"]) + "\n").encode()
    b = engine.start_import(actor=civil, kind="institutions", data=data, filename="r.csv")
    assert b.status == S.COMMITTED, b.get_report()
    home = Institution.objects.get(family="eldercare")
    assert home.run_by.credit_code == hospital_code
    unknown = ("\n".join([header, HOME + ",91310110666007217T"]) + "\n").encode()
    bad = engine.start_import(actor=civil, kind="institutions", data=unknown, filename="r.csv")
    assert bad.status == S.INVALID
    assert bad.get_report()["errors"][0]["column"] == "举办医疗机构信用代码"
