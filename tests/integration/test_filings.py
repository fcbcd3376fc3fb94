"""The filing service (DOMAIN.md §5): the whole lifecycle on the real database, registry
effects on the decision date, separation of duties, the deadline clock on the row, documents,
attachments by content, notifications and the nightly digest."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from eldercare.audit.models import Action, AuditEvent
from eldercare.core.models import Notification
from eldercare.workflow import machine
from eldercare.workflow import services as wf
from eldercare.workflow.models import CalendarYear, Filing, FilingDocument, FilingType
from institutions.models import Institution, versions_on
from tests.factories import RUN_BY_PAYLOAD, at, make_home, make_hospital, ready_filing, upload

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


@pytest.fixture
def bj_town(make_user):
    """Township staff of 北郊镇, where the hospital and the home are."""
    return make_user("bj_town", "township", "370306100000", email="bj@example.gov.cn")


@pytest.fixture
def civil2(make_user):
    return make_user("civil2", "civil", "370306000000", email="civil2@example.gov.cn")


def test_hospital_sets_up_an_eldercare_institution_through_return_and_resubmission(
    regions, bj_town, civil, monkeypatch
):
    hospital = make_hospital()
    f = ready_filing(bj_town, "medical_runs_eldercare", hospital, RUN_BY_PAYLOAD)
    assert f.status == machine.DRAFT and f.number is None and f.reference == f"草稿 #{f.pk}"
    assert f.region_id == hospital.region_id

    at(monkeypatch, D(2026, 9, 28))
    f = wf.filing_transition(actor=bj_town, filing=f, action="submit")
    assert (f.status, f.submitted_on, f.clock_phase) == (machine.SUBMITTED, D(2026, 9, 28), "acceptance")
    assert f.number == "医养备2026-00001"  # numbered on first submission
    assert f.due_on == D(2026, 10, 10)  # 5 working days across National Day (10-10 is a 调休 Saturday)
    assert Notification.objects.filter(user=civil, title__contains="待受理").exists()

    at(monkeypatch, D(2026, 9, 30))
    f = wf.filing_transition(actor=civil, filing=f, action="accept")
    assert f.due_on == D(2026, 10, 20) and f.clock_phase == "decision"

    at(monkeypatch, D(2026, 10, 12))
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=civil, filing=f, action="return")
    assert exc.value.status == 400 and exc.value.message == "“退回补正”须填写需补正的全部内容。"
    f = wf.filing_transition(actor=civil, filing=f, action="return", comment="缺少消防安全证明材料")
    assert f.status == machine.RETURNED and f.due_on is None and f.clock_phase == ""
    assert Notification.objects.filter(user=bj_town, body__contains="缺少消防").exists()

    # The applicant corrects; the officer cannot touch the content.
    with pytest.raises(PermissionDenied):
        wf.filing_update(actor=civil, filing=f, payload={**f.payload, "beds_eldercare": 99})
    f = wf.filing_update(actor=bj_town, filing=f, payload={**f.payload, "beds_eldercare": 50})
    wf.attachment_add(actor=bj_town, filing=f, requirement="fire", uploaded=upload("floorplan.png"))

    at(monkeypatch, D(2026, 10, 13))
    f = wf.filing_transition(actor=bj_town, filing=f, action="submit")
    at(monkeypatch, D(2026, 10, 14))
    f = wf.filing_transition(actor=civil, filing=f, action="accept")
    assert f.due_on == D(2026, 10, 28)  # the clock starts afresh on re-acceptance

    at(monkeypatch, D(2026, 10, 16))
    f = wf.filing_transition(actor=civil, filing=f, action="approve", comment="同意备案")
    assert (f.status, f.decided_on, f.on_time, f.working_days_to_decision) == (
        machine.APPROVED,
        D(2026, 10, 16),
        True,
        2,
    )
    home = f.result_institution
    assert home.family == "eldercare" and home.run_by_id == hospital.pk and home.beds_eldercare == 50
    assert home.credit_code == hospital.credit_code  # 内设/增设: the hospital's own code
    assert versions_on(D(2026, 10, 16)).filter(institution=home).exists()
    assert (
        not versions_on(D(2026, 10, 15)).filter(institution=home).exists()
    )  # effective on the decision date
    created = AuditEvent.objects.get(
        action=Action.CREATE, object_type="institutions.institution", object_id=str(home.pk)
    )
    assert created.username == "civil1" and "医养备" in created.detail["authority"]

    ledger = list(f.steps.values_list("action", "from_state", "to_state", "actor_name"))
    assert [s[0] for s in ledger] == ["submit", "accept", "return", "submit", "accept", "approve"]
    kinds = list(f.documents.values_list("kind", flat=True))
    assert kinds == ["receipt", "correction", "receipt", "decision"]
    receipt = f.documents.first()
    assert receipt.number == "医养备受〔2026〕1号"
    events = AuditEvent.objects.filter(action=Action.TRANSITION, object_id=str(f.pk))
    assert events.filter(result="ok").count() == 6
    denied = events.get(result="denied")  # the return without its list of corrections
    assert denied.detail["code"] == "comment" and denied.username == "civil1"


def test_health_decides_an_internal_unit_and_the_home_gains_its_infirmary(regions, bj_town, health, civil):
    home = make_home()
    f = ready_filing(
        bj_town, "internal_medical", home, {"internal_unit": "医务室", "doctors": 1, "nurses": 2}
    )
    assert f.payload["internal_unit"] == "infirmary"  # the Chinese label is accepted
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    with pytest.raises(wf.TransitionRefused) as exc:  # a civil officer is not the deciding role here
        wf.filing_transition(actor=civil, filing=f, action="accept")
    assert exc.value.status == 403 and "须由卫健局经办人员执行" in exc.value.message
    wf.filing_transition(actor=health, filing=f, action="accept")
    f = wf.filing_transition(actor=health, filing=f, action="approve")
    home.refresh_from_db()
    assert (home.internal_unit, home.doctors, home.nurses) == ("infirmary", 1, 2)


def test_the_applicant_never_decides_their_own_filing(regions, civil, civil2):
    """A civil officer filing on behalf of an institution is the applicant: a colleague decides."""
    f = ready_filing(
        civil,
        "eldercare",
        None,
        {
            "name": "丝绸路长者之家",
            "type": "elder_home",
            "beds_eldercare": 200,
            "credit_code": "52370306MJD600087D",
        },
        region="370306001000",
    )
    wf.filing_transition(actor=civil, filing=f, action="submit")
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=civil, filing=f, action="accept")
    assert exc.value.status == 403 and exc.value.message == "申请方不能审核自己的申请。"
    wf.filing_transition(actor=civil2, filing=f, action="accept")
    f = wf.filing_transition(actor=civil2, filing=f, action="approve")
    assert f.result_institution.name == "丝绸路长者之家" and f.result_institution.region_id == "370306001000"


def test_a_new_institution_is_filed_in_a_township_or_village(regions, civil):
    ftype = FilingType.objects.get(code="eldercare")
    for region, message in (
        (None, "请选择机构所在的乡镇"),  # the officer's own region is the county
        ("370306", "请选择机构所在的乡镇"),
        ("370306999000", "没有代码为 370306999000 的地区"),
        ("37030600100x", "地区代码“37030600100x”无效"),
    ):
        with pytest.raises(ValidationError) as exc:
            wf.filing_create(actor=civil, type=ftype, payload={}, region=region)
        assert message in exc.value.message_dict["region"][0]


def test_what_approval_would_refuse_is_caught_at_submission(regions, bj_town):
    """The deciding side cannot correct content, so a filing that could never be approved must
    go no further than the applicant."""
    hospital = make_hospital(ownership="private")
    make_home(name="已有的养老中心", credit_code=hospital.credit_code)
    f = ready_filing(bj_town, "medical_runs_eldercare", hospital, {**RUN_BY_PAYLOAD, "mode": "add_function"})
    with pytest.raises(ValidationError) as exc:
        wf.filing_transition(actor=bj_town, filing=f, action="submit")
    errors = exc.value.message_dict
    assert "只适用于公立医疗机构" in errors["mode"][0]
    assert "名录中已有养老机构“已有的养老中心”" in errors["credit_code"][0]
    g = ready_filing(
        bj_town,
        "eldercare",
        None,
        {"name": "某养老院", "type": "elder_home", "beds_eldercare": 30},
        region="370306100000",
    )
    with pytest.raises(ValidationError) as exc:
        wf.filing_transition(actor=bj_town, filing=g, action="submit")
    assert "须填写统一社会信用代码" in exc.value.message_dict["credit_code"][0]
    ftype = FilingType.objects.get(code="eldercare")
    with pytest.raises(ValidationError) as exc:  # 养老机构备案 about a hospital
        wf.filing_create(actor=bj_town, type=ftype, institution=hospital, payload={})
    assert "需要养老机构" in exc.value.message_dict["institution"][0]


def test_illegal_transitions_are_refused_with_chinese_reasons(regions, bj_town, civil):
    f = ready_filing(bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=civil, filing=f, action="approve")
    assert exc.value.status == 409 and "当前状态为“草稿”" in exc.value.message
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=civil, filing=f, action="submit")
    assert exc.value.status == 403
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=bj_town, filing=f, action="fly")
    assert exc.value.status == 400
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    wf.filing_transition(actor=bj_town, filing=f, action="withdraw")
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=bj_town, filing=f, action="submit")
    assert exc.value.status == 409


def test_a_stale_page_is_told_someone_else_got_there_first(regions, bj_town, civil, civil2):
    f = ready_filing(bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    wf.filing_transition(actor=civil, filing=f, action="accept", expected_status="submitted")
    with pytest.raises(wf.TransitionRefused) as exc:
        wf.filing_transition(actor=civil2, filing=f, action="accept", expected_status="submitted")
    assert exc.value.status == 409 and wf.TAKEN in exc.value.message and "civil1" in exc.value.message
    with pytest.raises(wf.TransitionRefused) as exc:  # without the page's state: same answer
        wf.filing_transition(actor=civil2, filing=f, action="accept")
    assert wf.TAKEN in exc.value.message


def test_submission_needs_required_fields_and_attachments(regions, bj_town):
    ftype = FilingType.objects.get(code="medical_runs_eldercare")
    f = wf.filing_create(actor=bj_town, type=ftype, institution=make_hospital(), payload={"name": "医养中心"})
    with pytest.raises(ValidationError) as exc:
        wf.filing_transition(actor=bj_town, filing=f, action="submit")
    errors = exc.value.message_dict
    assert errors["type"] == ["请填写“养老机构类型”。"]
    assert "备案书" in errors["attachments"][0] and "医疗机构执业许可证" in errors["attachments"][0]
    assert Filing.objects.get(pk=f.pk).status == machine.DRAFT


def test_payload_errors_name_the_field(regions, bj_town):
    ftype = FilingType.objects.get(code="medical_runs_eldercare")
    with pytest.raises(ValidationError) as exc:
        wf.filing_create(
            actor=bj_town,
            type=ftype,
            institution=make_hospital(),
            payload={"beds_eldercare": "四十", "type": "hotel", "beds_nursing": 5},
        )
    errors = exc.value.message_dict
    assert errors["beds_eldercare"] == ["“核定养老床位数”应为整数，收到“四十”。"]
    assert "不在可选范围" in errors["type"][0]


def test_wrong_family_and_out_of_scope_institutions_are_refused(regions, bj_town, make_user):
    ftype = FilingType.objects.get(code="medical_runs_eldercare")
    with pytest.raises(ValidationError) as exc:
        wf.filing_create(actor=bj_town, type=ftype, institution=make_home(), payload={})
    assert "需要医疗机构" in exc.value.message_dict["institution"][0]
    other = make_hospital(
        name="丝绸路街道社区卫生服务中心", region="370306001000", credit_code="12370306MB2857330K"
    )
    with pytest.raises(PermissionDenied):
        wf.filing_create(actor=bj_town, type=ftype, institution=other, payload={})
    finance = make_user("fin", "finance", "370306000000")
    with pytest.raises(PermissionDenied):
        wf.filing_create(actor=finance, type=ftype, institution=other, payload={})


def test_attachments_are_sniffed_and_size_limited(regions, bj_town):
    f = ready_filing(bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    with pytest.raises(ValidationError) as exc:
        wf.attachment_add(actor=bj_town, filing=f, requirement="floorplan", uploaded=upload("renamed.pdf"))
    assert "不是 PDF、JPG 或 PNG" in exc.value.message_dict["file"][0]
    png = wf.attachment_add(
        actor=bj_town, filing=f, requirement="floorplan", uploaded=upload("floorplan.png", "平面图.pdf")
    )
    assert png.content_type == "image/png" and png.original_name == "平面图.pdf"
    assert wf.attachment_path(png).read_bytes().startswith(b"\x89PNG")
    f.type.max_attachment_mb = 0
    f.type.save()
    with pytest.raises(ValidationError) as exc:
        wf.attachment_add(actor=bj_town, filing=f, requirement="floorplan", uploaded=upload("floorplan.png"))
    assert "超过 0 MB" in exc.value.message_dict["file"][0]
    with pytest.raises(ValidationError):
        wf.attachment_add(actor=bj_town, filing=f, requirement="nonsense", uploaded=upload("floorplan.png"))


def test_a_failing_effect_rolls_the_decision_back(regions, bj_town, civil):
    """An approval whose registry write is refused (the record already exists) leaves the filing
    accepted, with no ledger step, no document and no number consumed."""
    hospital = make_hospital()
    f = ready_filing(bj_town, "medical_runs_eldercare", hospital, RUN_BY_PAYLOAD)
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    wf.filing_transition(actor=civil, filing=f, action="accept")
    make_home(name="北郊镇卫生院医养中心", credit_code=hospital.credit_code)  # registered meanwhile by hand
    with pytest.raises(Exception):  # noqa: B017 — IntegrityError or ValidationError, whichever the registry raises
        wf.filing_transition(actor=civil, filing=f, action="approve")
    f.refresh_from_db()
    assert f.status == machine.ACCEPTED and f.steps.count() == 2
    assert not FilingDocument.objects.filter(filing=f, kind="decision").exists()


def test_deadlines_into_2027_are_flagged_provisional(regions, bj_town, civil, monkeypatch):
    f = ready_filing(bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    at(monkeypatch, D(2026, 12, 18))
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    f.refresh_from_db()
    assert f.due_on == D(2026, 12, 25) and not f.due_provisional


def test_nightly_pass_marks_alerts_and_sends_one_digest_per_officer(
    regions, bj_town, civil, civil2, monkeypatch
):
    hospital = make_hospital()
    early = ready_filing(bj_town, "medical_runs_eldercare", hospital, RUN_BY_PAYLOAD)
    late = ready_filing(
        bj_town, "medical_runs_eldercare", hospital, {**RUN_BY_PAYLOAD, "name": "第二医养中心"}
    )
    at(monkeypatch, D(2026, 12, 14))
    wf.filing_transition(actor=bj_town, filing=early, action="submit")  # due 12-21
    at(monkeypatch, D(2026, 12, 21))
    wf.filing_transition(actor=bj_town, filing=late, action="submit")  # due 12-28
    mail.outbox.clear()
    counts = wf.refresh_deadlines(today=D(2026, 12, 22))
    assert counts == {"open": 2, "due_soon": 0, "overdue": 1, "digests": 2}
    counts = wf.refresh_deadlines(today=D(2026, 12, 24))
    assert counts["due_soon"] == 1 and counts["overdue"] == 1
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.alert, late.alert) == ("overdue", "due_soon")
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == ["civil2@example.gov.cn"] * 2  # civil1 has no e-mail address: in-app only
    assert "已超期 1 件，即将到期 1 件" in mail.outbox[-1].subject
    assert Notification.objects.filter(user=civil, title__startswith="备案审批时限提醒").count() == 2
    sent = len(mail.outbox)
    again = wf.refresh_deadlines(today=D(2026, 12, 24))  # a retried or repeated pass that day
    assert again["digests"] == 0 and len(mail.outbox) == sent
    assert not Notification.objects.filter(user=bj_town, title__startswith="备案审批时限提醒").exists()


def test_entering_2027_holidays_removes_the_provisional_flag(regions, bj_town, monkeypatch):
    f = ready_filing(bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    at(monkeypatch, D(2026, 12, 28))
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    f.refresh_from_db()
    assert f.due_on == D(2027, 1, 4) and f.due_provisional  # 2027 not published: Mon–Fri guessed
    CalendarYear.objects.create(year=2027, source="国办发明电〔2026〕X号")
    wf.refresh_deadlines(today=D(2026, 12, 29))
    f.refresh_from_db()
    assert not f.due_provisional


def test_subject_hooks_let_other_apps_reuse_the_engine(regions, civil, civil2):
    """A contract or subsidy application is the filing's subject; its app's hook mirrors every
    transition (here with an institution standing in as the subject)."""
    from eldercare.workflow import effects

    seen = []
    effects.register_subject_hook(
        "institutions.institution", lambda *, filing, step, actor: seen.append(step.to_state)
    )
    try:
        ftype = FilingType.objects.get(code="contract")
        ftype.active = True
        ftype.save()
        subject = make_home()
        f = wf.filing_create(actor=civil, type=ftype, subject=subject, region="370306100000")
        wf.attachment_add(actor=civil, filing=f, requirement="agreement", uploaded=upload("application.pdf"))
        for actor, action in ((civil, "submit"), (civil2, "accept"), (civil2, "approve")):
            wf.filing_transition(actor=actor, filing=f, action=action)
        assert seen == ["submitted", "accepted", "approved"]
        assert Filing.objects.get(pk=f.pk).subject == subject
        assert Institution.objects.filter(pk=subject.pk).exists()
    finally:
        effects._SUBJECT_HOOKS.pop("institutions.institution", None)
