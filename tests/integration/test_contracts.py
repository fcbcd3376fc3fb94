"""Contracts on the real database (issue 5): the service's checks and audit, coverage on 31
December computed from the registry's history on a hand-checked fixture, performance per
quarter, the renewal notice and the 医养签约协议备案 through the workflow engine."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contracts import selectors, services
from contracts.models import Contract
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent
from eldercare.core.models import Notification
from eldercare.workflow import services as wf
from institutions import services as registry
from tests.factories import at, make_home, make_hospital, upload

pytestmark = pytest.mark.django_db
D = datetime.date
Y26 = {"start": D(2026, 1, 1), "end": D(2026, 12, 31)}


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


def code(seed: str, lead="52") -> str:
    from institutions.credit_code import check_character

    body = f"{lead}370306{seed:0>9}"[:17]
    return body + check_character(body)


def home(name, **extra):
    facts = {"opened_on": D(2020, 1, 1), **extra}
    return make_home(name=name, credit_code=code(str(abs(hash(name)) % 10**9)), **facts)


def sign(medical, eldercare, no, actor=SYSTEM, **facts):
    return services.contract_create(
        actor=actor,
        facts={
            "medical": medical,
            "eldercare": eldercare,
            "agreement_no": no,
            "mode": "agreement",
            **Y26,
            **facts,
        },
    )


@pytest.fixture
def county(regions):
    """The hand-checked county of 31 December 2026 (the expected answers in the test below)."""
    hc = make_hospital(opened_on=D(2010, 1, 1))
    clinic = make_hospital(
        name="北郊镇李家村卫生室", credit_code=code("77", "12"), type="clinic", opened_on=D(2015, 1, 1)
    )
    h = {
        "unit": home("甲·内设医务室", internal_unit="infirmary"),
        "late_unit": home("乙·12月20日起设护理站"),
        "run_by": home("丙·卫生院举办", run_by=hc.pk),
        "contract": home("丁·全年签约"),
        "terminated": home("戊·11月终止"),
        "next_year": home("己·明年起签"),
        "medical_closed": home("庚·医疗方12月停业"),
        "none": home("辛·无任何形式"),
        "closed": home("壬·6月注销"),
        "future": home("癸·明年开业", opened_on=D(2027, 2, 1)),
    }
    registry.institution_change(
        actor=SYSTEM,
        institution=h["late_unit"],
        changes={"internal_unit": "nursing_station"},
        effective=D(2026, 12, 20),
    )
    registry.institution_set_status(
        actor=SYSTEM, institution=h["closed"], status="closed", effective=D(2026, 6, 30)
    )
    sign(hc, h["contract"], "BJ-2026-01", visit_frequency="monthly", services=["visits", "checkup"])
    c = sign(hc, h["terminated"], "BJ-2026-02")
    services.contract_terminate(actor=SYSTEM, contract=c, on=D(2026, 11, 15), reason="养老院更换签约机构")
    sign(hc, h["next_year"], "BJ-2027-01", start=D(2027, 1, 1), end=D(2027, 12, 31))
    sign(clinic, h["medical_closed"], "LJ-2026-01")
    registry.institution_set_status(
        actor=SYSTEM, institution=clinic, status="suspended", effective=D(2026, 12, 1)
    )
    return hc, clinic, h


def test_coverage_on_31_december_is_computed_from_history(county, civil):
    hc, clinic, h = county
    rows = {r.name: r for r in selectors.coverage_on(D(2026, 12, 31), actor=civil)}
    assert set(rows) == {h[k].name for k in h if k not in ("closed", "future")}  # the operating population
    covered = {name for name, r in rows.items() if r.covered}
    assert covered == {h["unit"].name, h["late_unit"].name, h["run_by"].name, h["contract"].name}
    assert rows[h["unit"].name].routes == ["养中办医"]
    assert rows[h["run_by"].name].routes == ["医中办养"]
    assert rows[h["contract"].name].routes == ["医养签约"]
    # Earlier in the year the same history gives other answers.
    nov = {r.name: r.covered for r in selectors.coverage_on(D(2026, 11, 14), actor=civil)}
    assert (nov[h["terminated"].name], nov[h["medical_closed"].name], nov[h["late_unit"].name]) == (
        True,
        True,
        False,
    )
    assert h["closed"].name not in nov  # closed on 30 June
    jan27 = {r.name: r.covered for r in selectors.coverage_on(D(2027, 1, 15), actor=civil)}
    assert jan27[h["next_year"].name] and not jan27[h["contract"].name]  # expired 2026-12-31


def test_coverage_is_scoped(county, make_user):
    other = make_user("silk", "township", "370306001000")
    assert selectors.coverage_on(D(2026, 12, 31), actor=other) == []
    bj = make_user("bj", "township", "370306100000")
    assert len(selectors.coverage_on(D(2026, 12, 31), actor=bj)) == 8


def test_nearest_medical_institutions_for_an_uncovered_home(county):
    hc, clinic, h = county
    # No coordinates: the same township's medical institutions, 卫生院 first.
    names = [s.institution.name for s in selectors.nearest_medical(h["none"])]
    assert names[0] == hc.name and all(s.distance_km is None for s in selectors.nearest_medical(h["none"]))
    # With coordinates on both sides: by distance.
    registry.institution_change(
        actor=SYSTEM, institution=h["none"], changes={"latitude": "36.80", "longitude": "117.87"}
    )
    registry.institution_change(
        actor=SYSTEM, institution=hc, changes={"latitude": "36.90", "longitude": "117.87"}
    )
    h["none"].refresh_from_db()
    first = selectors.nearest_medical(h["none"])[0]
    assert first.institution == hc and first.distance_km == pytest.approx(11.1, abs=0.1)


def test_a_contract_needs_two_right_parties_and_a_sane_term(county, township):
    hc, clinic, h = county
    with pytest.raises(ValidationError) as exc:
        services.contract_create(
            actor=SYSTEM,
            facts={
                "medical": h["none"],
                "eldercare": hc,
                "agreement_no": "",
                "start": D(2026, 5, 1),
                "end": D(2026, 5, 1),
                "visit_frequency": "daily",
            },
        )
    errors = exc.value.message_dict
    assert errors["medical"] == ["签约一方应为医疗卫生机构。"] and errors["eldercare"] == [
        "签约另一方应为养老服务机构。"
    ]
    assert errors["agreement_no"] == ["请填写协议编号。"] and errors["end"] == ["结束日期应晚于开始日期。"]
    assert "巡诊频次应为" in errors["visit_frequency"][0]
    with pytest.raises(ValidationError) as exc:
        sign(hc, h["none"], "BJ-2026-01")  # the key (medical party, 协议编号) is taken
    assert "已有协议编号为“BJ-2026-01”" in exc.value.message_dict["agreement_no"][0]
    with pytest.raises(ValidationError) as exc:
        sign(hc, h["none"], "X-1", services=["visits"])
    assert exc.value.message_dict["visit_frequency"] == ["选择了上门巡诊，请填写巡诊频次。"]
    with pytest.raises(PermissionDenied):  # 丝绸路街道's clerk and a 北郊镇 home
        sign(hc, h["none"], "X-2", actor=township)


def test_overlapping_contracts_between_the_same_pair_are_flagged(county):
    hc, clinic, h = county
    first = Contract.objects.get(agreement_no="BJ-2026-01")
    dup = sign(hc, h["contract"], "BJ-2026-01B", start=D(2026, 7, 1), end=D(2027, 6, 30))
    assert services.overlapping(dup) == [first]
    renewal = sign(hc, h["contract"], "BJ-2027-09", start=D(2027, 7, 1), end=D(2028, 6, 30))
    assert services.overlapping(renewal) == []  # starts the day after the last one ends


def test_changes_are_audited_and_clear_filed(county, civil):
    c = Contract.objects.get(agreement_no="BJ-2026-01")
    Contract.objects.filter(pk=c.pk).update(filed_on=D(2026, 2, 1))
    c = services.contract_update(actor=civil, contract=c, changes={"end": D(2027, 6, 30)})
    assert c.filed_on is None
    event = AuditEvent.objects.filter(action=Action.UPDATE, object_type="contracts.contract").latest("id")
    assert event.changes["end"] == ["2026-12-31", "2027-06-30"] and event.username == "civil1"


def test_visits_and_quarterly_performance(county, civil, monkeypatch):
    hc, clinic, h = county
    monthly = Contract.objects.get(agreement_no="BJ-2026-01")
    weekly = sign(hc, h["none"], "BJ-2026-W", visit_frequency="weekly")
    at(monkeypatch, D(2027, 1, 5))
    for day in (D(2026, 10, 9), D(2026, 11, 13)):
        services.visit_record(actor=civil, contract=monthly, date=day, persons=20)
    for week in range(13):
        services.visit_record(
            actor=civil, contract=weekly, date=D(2026, 10, 2) + datetime.timedelta(days=7 * week)
        )
    with pytest.raises(ValidationError) as exc:
        services.visit_record(actor=civil, contract=monthly, date=D(2026, 10, 9))
    assert "已有该协议的巡诊记录" in exc.value.message_dict["date"][0]
    with pytest.raises(ValidationError) as exc:
        services.visit_record(actor=civil, contract=monthly, date=D(2027, 1, 2))
    assert "不在协议有效期内" in exc.value.message_dict["date"][0]
    rows = {p.contract.agreement_no: p for p in selectors.performance(actor=civil, year=2026, quarter=4)}
    assert (rows["BJ-2026-01"].expected, rows["BJ-2026-01"].logged, rows["BJ-2026-01"].non_performing) == (
        3,
        2,
        True,
    )
    assert (rows["BJ-2026-W"].expected, rows["BJ-2026-W"].logged, rows["BJ-2026-W"].non_performing) == (
        13,
        13,
        False,
    )
    assert "BJ-2026-02" not in rows  # no visit frequency promised: not judged


def test_expiring_contracts_are_announced_once(county, make_user, civil):
    bj = make_user("bj", "township", "370306100000")
    silk = make_user("silk", "township", "370306001000")
    sent = services.notify_expiring(today=D(2026, 12, 5))
    assert sent == 2  # BJ-2026-01 and LJ-2026-01 end on 12-31 (BJ-2026-02 was terminated)
    assert Notification.objects.filter(user=bj, title__startswith="医养签约协议即将到期").count() == 2
    assert Notification.objects.filter(user=civil, title__startswith="医养签约协议即将到期").count() == 2
    assert not Notification.objects.filter(user=silk).exists()
    assert services.notify_expiring(today=D(2026, 12, 6)) == 0  # once per end date
    c = Contract.objects.get(agreement_no="BJ-2026-01")
    services.contract_update(actor=civil, contract=c, changes={"end": D(2027, 1, 3)})  # a short extension
    assert services.notify_expiring(today=D(2026, 12, 6)) == 1


def test_an_approved_filing_marks_the_contract_filed(county, make_user, civil, monkeypatch):
    bj = make_user("bj", "township", "370306100000")
    c = Contract.objects.get(agreement_no="BJ-2026-01")
    f = services.contract_file(actor=bj, contract=c)
    assert f.subject == c and f.region_id == c.eldercare.region_id
    with pytest.raises(ValidationError):
        services.contract_file(actor=bj, contract=c)  # one open filing per contract
    wf.attachment_add(actor=bj, filing=f, requirement="agreement", uploaded=upload("application.pdf"))
    at(monkeypatch, D(2026, 3, 2))
    wf.filing_transition(actor=bj, filing=f, action="submit")
    wf.filing_transition(actor=civil, filing=f, action="accept")
    at(monkeypatch, D(2026, 3, 4))
    wf.filing_transition(actor=civil, filing=f, action="approve")
    c.refresh_from_db()
    assert c.filed_on == D(2026, 3, 4)
    assert AuditEvent.objects.filter(
        object_type="contracts.contract", object_id=str(c.pk), changes__filed_on__isnull=False
    ).exists()


def test_a_small_home_without_a_contract_is_warned_until_it_signs(regions):
    """003 §二(二)5: <100 beds and no internal unit → must have an active contract. The stored
    warning follows the contract's life."""
    from institutions.models import Institution

    hc = make_hospital()
    small = home("小型养老院", beds_eldercare=40)
    assert ",small_home_no_contract," in Institution.objects.get(pk=small.pk).warning_codes
    c = sign(hc, small, "S-1", start=D(2020, 1, 1), end=D(2030, 12, 31))
    assert "small_home_no_contract" not in Institution.objects.get(pk=small.pk).warning_codes
    services.contract_terminate(actor=SYSTEM, contract=c, on=D(2021, 1, 1))
    assert ",small_home_no_contract," in Institution.objects.get(pk=small.pk).warning_codes


def test_a_contract_under_review_cannot_change(county, make_user, civil):
    bj = make_user("bj", "township", "370306100000")
    c = Contract.objects.get(agreement_no="BJ-2026-01")
    f = services.contract_file(actor=bj, contract=c)
    wf.attachment_add(actor=bj, filing=f, requirement="agreement", uploaded=upload("application.pdf"))
    wf.filing_transition(actor=bj, filing=f, action="submit")
    with pytest.raises(ValidationError) as exc:
        services.contract_update(actor=civil, contract=c, changes={"end": D(2030, 12, 31)})
    assert "正在审核中，暂不能修改" in exc.value.messages[0]
    wf.filing_transition(actor=bj, filing=f, action="withdraw")
    assert services.contract_update(actor=civil, contract=c, changes={"end": D(2030, 12, 31)}).end == D(
        2030, 12, 31
    )


def test_finished_contracts_are_not_terminated_or_filed(county, civil, monkeypatch):
    hc, clinic, h = county
    old = sign(hc, h["none"], "OLD-2020", start=D(2020, 1, 1), end=D(2020, 12, 31))
    with pytest.raises(ValidationError) as exc:
        services.contract_terminate(actor=civil, contract=old, on=D(2025, 1, 1))
    assert "不能晚于协议结束日期" in exc.value.message_dict["terminated_on"][0]
    at(monkeypatch, D(2026, 6, 1))
    with pytest.raises(ValidationError) as exc:
        services.contract_file(actor=civil, contract=old)
    assert "已到期，不再办理备案" in exc.value.messages[0]


def test_a_retired_service_item_stays_on_old_contracts(county, civil):
    from contracts.models import ServiceItem

    c = Contract.objects.get(agreement_no="BJ-2026-01")  # 上门巡诊、健康体检
    ServiceItem.objects.filter(code="checkup").update(active=False)
    assert services.contract_update(actor=civil, contract=c, changes={"end": D(2027, 3, 31)}).services == [
        "visits",
        "checkup",
    ]
    with pytest.raises(ValidationError):
        services.contract_update(actor=civil, contract=c, changes={"services": ["visits", "tcm", "nope"]})


def test_warnings_follow_the_calendar_and_the_medical_partys_status(regions):
    """The date alone ends a contract; the nightly pass and a medical closure keep the stored
    warnings true (ADR 0011)."""
    from institutions.models import Institution

    hc = make_hospital(opened_on=D(2010, 1, 1))
    small = home("小型养老院", beds_eldercare=40)
    sign(hc, small, "S-1", start=D(2020, 1, 1), end=D(2030, 12, 31))
    assert "small_home_no_contract" not in Institution.objects.get(pk=small.pk).warning_codes
    registry.institution_set_status(actor=SYSTEM, institution=hc, status="closed", effective=D(2021, 1, 1))
    assert ",small_home_no_contract," in Institution.objects.get(pk=small.pk).warning_codes
    registry.institution_set_status(actor=SYSTEM, institution=hc, status="operating", effective=D(2022, 1, 1))
    assert "small_home_no_contract" not in Institution.objects.get(pk=small.pk).warning_codes
    ending = home("短期签约养老院", beds_eldercare=30)
    c = sign(hc, ending, "S-2", start=D(2020, 1, 1), end=D(2030, 12, 31))
    Contract.objects.filter(pk=c.pk).update(end=D(2026, 11, 30))  # as if it ran out on its own
    today = D(2026, 12, 2)
    from unittest import mock

    import django.utils.timezone as tz

    with mock.patch.object(tz, "localdate", return_value=today):
        assert services.refresh_warnings_for_dates(today=today) == 1
    assert ",small_home_no_contract," in Institution.objects.get(pk=ending.pk).warning_codes


def test_renewal_notices_link_only_for_who_can_open_the_contract(regions, make_user):
    hc = make_hospital(name="丝绸路社区卫生服务中心", region="370306001000", credit_code=code("88", "12"))
    bj_home = home("北郊某养老院")
    sign(hc, bj_home, "R-1")
    bj = make_user("bj", "township", "370306100000")
    silk = make_user("silk", "township", "370306001000")
    services.notify_expiring(today=D(2026, 12, 5))
    assert Notification.objects.get(user=bj).link.startswith("/contracts/")
    assert Notification.objects.get(user=silk).link == ""


@pytest.mark.django_db(transaction=True)
def test_edits_and_terminations_run_in_their_own_transaction():
    """Outside any caller's transaction (a page or API request: no ATOMIC_REQUESTS) the service
    still locks and writes atomically — select_for_update outside a transaction would fail."""
    from tests.factories import make_tree

    make_tree()
    hc = make_hospital(opened_on=D(2010, 1, 1))
    c = sign(hc, home("甲·事务外修改"), "TX-1")
    c = services.contract_update(actor=SYSTEM, contract=c, changes={"end": D(2026, 11, 30)})
    assert Contract.objects.get(pk=c.pk).end == D(2026, 11, 30)
    services.contract_terminate(actor=SYSTEM, contract=c, on=D(2026, 10, 1), reason="测试")
    assert Contract.objects.get(pk=c.pk).terminated_on == D(2026, 10, 1)
