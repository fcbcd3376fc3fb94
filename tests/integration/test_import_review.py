"""Regression tests from the engine review: staleness of unchanged rows, undo after undo, the
bureau split on undo, a returned batch never committed, a codeless record created meanwhile."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution
from institutions.services import institution_change

pytestmark = pytest.mark.django_db
S = ImportBatch.Status
HEADER = "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数"


def sheet(beds, *, name="银子敬老院", code="91310110666007217T", region="370306001001"):
    return (HEADER + f"\n{name},{code},养老服务机构,敬老院,{region},{beds}\n").encode()


def run(user, data, **kw):
    return engine.start_import(actor=user, kind="institutions", data=data, filename="t.csv", **kw)


def test_an_unchanged_row_goes_stale_when_the_record_changes(civil, township):
    run(civil, sheet(100), as_of=datetime.date(2026, 1, 1))
    b = run(township, sheet(100), as_of=datetime.date(2026, 3, 1))
    assert b.status == S.PENDING and b.unchanged == 1
    institution_change(
        actor=civil,
        institution=Institution.objects.get(),
        changes={"beds_eldercare": 80},
        effective=datetime.date(2026, 2, 1),
    )
    engine.accept(actor=civil, batch=b)
    b.refresh_from_db()
    assert b.status == S.STALE  # the file says 100, the registry now 80: validate again


def test_undo_after_a_later_batch_was_undone(civil):
    a = run(civil, sheet(100))
    b = run(civil, sheet(120))
    engine.revert(actor=civil, batch=b)
    assert Institution.objects.get().beds_eldercare == 100
    engine.revert(actor=civil, batch=a)
    assert not Institution.objects.exists()


def test_undo_keeps_the_bureau_split(make_user):
    health = make_user("health1", "health", "370306000000")
    civil = make_user("civil2", "civil", "370306000000")
    data = (
        "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码\n"
        "周村区人民医院,91310110666007217T,医疗卫生机构,综合医院,370306001000\n"
    ).encode()
    b = run(health, data)
    assert b.status == S.COMMITTED
    with pytest.raises(PermissionDenied):
        engine.revert(actor=civil, batch=b)
    assert Institution.objects.count() == 1
    engine.revert(actor=health, batch=b)
    assert not Institution.objects.exists()


def test_a_returned_batch_is_never_committed_by_a_late_accept(civil, township, make_user):
    other = make_user("civil3", "civil", "370306000000")
    b = run(township, sheet(100))
    seen_by_acceptor = ImportBatch.objects.get(pk=b.pk)  # loaded while still pending
    engine.reject(actor=other, batch=b, comment="床位数不对")
    with pytest.raises(ValidationError):
        engine.accept(actor=civil, batch=seen_by_acceptor, inline=False)  # the queued path
    with pytest.raises(ValidationError):
        engine.accept(actor=civil, batch=seen_by_acceptor, inline=True)
    b.refresh_from_db()
    assert b.status == S.REJECTED and not Institution.objects.exists()


def test_a_codeless_record_created_meanwhile_makes_the_batch_stale(make_user):
    from eldercare.accounts.scope import SYSTEM
    from institutions.services import institution_create

    health = make_user("health2", "health", "370306000000")
    data = (
        "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码\n"
        "李家村卫生室,,医疗卫生机构,村卫生室,370306100201\n"
    ).encode()
    b = run(health, data, dry_run=True)
    assert b.status == S.VALIDATED and b.created == 1
    institution_create(
        actor=SYSTEM,
        family="medical",
        facts={"name": "李家村卫生室", "type": "village_clinic", "region": "370306100201"},
    )
    engine.confirm(actor=health, batch=b)
    b.refresh_from_db()
    assert b.status == S.STALE and Institution.objects.count() == 1


def test_status_cannot_be_cleared_by_a_sheet(civil):
    run(civil, sheet(100))
    data = (
        HEADER + ",状态\n银子敬老院,91310110666007217T,养老服务机构,敬老院,370306001001,100,清空\n"
    ).encode()
    b = run(civil, data)
    assert b.status == S.INVALID and b.get_report()["errors"][0]["column"] == "状态"
    assert Institution.objects.get().status == "operating"
