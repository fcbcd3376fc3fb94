"""Writes to filings: atomic, scoped, audited (DOMAIN.md §5, ADR 0010).

Every page, API call and task that moves a filing calls `filing_transition`, which takes a row
lock, asks the pure machine whether this actor may take this action from the state it finds,
and only then writes the ledger step, the dates, the running deadline, the numbered document,
the registry effect (on approval, effective on the decision date) and the notifications — in
one transaction. Two officers acting at once: the second waits for the lock, finds the state
moved on and is told 「已被他人处理」."""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from eldercare.accounts.scope import SYSTEM, region_in_scope, users_covering
from eldercare.audit.models import Action, Result
from eldercare.audit.services import record
from eldercare.core.models import Notification

from . import effects, machine
from .models import (
    Attachment,
    Counter,
    DigestSent,
    Filing,
    FilingDocument,
    FilingStep,
    FilingType,
    load_calendar,
)
from .workdays import working_days_between

TAKEN = "已被他人处理"
EDITABLE = (machine.DRAFT, machine.RETURNED)
DOCUMENT_FOR = {
    machine.ACCEPTED: FilingDocument.Kind.RECEIPT,
    machine.RETURNED: FilingDocument.Kind.CORRECTION,
    machine.APPROVED: FilingDocument.Kind.DECISION,
    machine.REJECTED: FilingDocument.Kind.DECISION,
}
DOC_MARK = {"receipt": "受", "correction": "补", "decision": "决"}


class TransitionRefused(Exception):
    """A refused workflow action, with its Chinese reason. `status`: 403 (not this actor's to
    take), 409 (the state does not allow it, or someone else got there first), 400 (a required
    comment is missing)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = {"state": 409, "taken": 409, "comment": 400, "unknown": 400}.get(code, 403)


# -- who is who -------------------------------------------------------------------------------
def roles_of(actor) -> frozenset[str]:
    return frozenset(getattr(actor, "roles", frozenset()))


def is_applicant(actor, filing: Filing) -> bool:
    """The applicant side: the user who created the filing, or township staff of its township
    (a colleague may resubmit while the clerk is away). Never the deciding side."""
    if actor is SYSTEM or not getattr(actor, "pk", None):
        return False
    if actor.pk == filing.created_by_id:
        return True
    return "township" in roles_of(actor) and region_in_scope(actor, filing.region_id)


def actions_for(actor, filing: Filing) -> list[machine.Transition]:
    """The buttons this actor gets now: what the machine allows and their permissions cover."""
    if not region_in_scope(actor, filing.region_id):
        return []
    applicant = is_applicant(actor, filing)
    if not actor.has_perm("workflow.apply_filing" if applicant else "workflow.decide_filing"):
        return []
    return machine.available(
        filing.type.definition(), filing.status, is_applicant=applicant, roles=roles_of(actor)
    )


def can_edit(actor, filing: Filing) -> bool:
    """May this actor change the filing's content and materials now (the applicant side, in
    draft or returned)?"""
    return (
        filing.status in EDITABLE
        and actor.has_perm("workflow.apply_filing")
        and region_in_scope(actor, filing.region_id)
        and is_applicant(actor, filing)
    )


def _check_applicant(actor, filing: Filing) -> None:
    if not region_in_scope(actor, filing.region_id):
        raise PermissionDenied("该申请不在您的管辖范围内。")
    if not actor.has_perm("workflow.apply_filing"):
        raise PermissionDenied("您没有提交备案申请的权限。")
    if not is_applicant(actor, filing):
        raise PermissionDenied("只有申请方可以修改申请内容；审核人员不能修改。")


def _locked(pk) -> Filing:
    """The filing under a row lock — its own row only, not its type's, which every filing of
    that type shares — with the type loaded."""
    f = Filing.objects.select_for_update(of=("self",)).get(pk=pk)
    f.type = FilingType.objects.get(pk=f.type_id)
    return f


def _serial(key: str, year: int) -> int:
    Counter.objects.get_or_create(key=key, year=year)
    counter = Counter.objects.select_for_update().get(key=key, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def _region_for(actor, institution, region) -> str:
    """The filing's region: the institution's, else the one given (a township or village: where
    a new institution will be registered), else the actor's own township."""
    from eldercare.regions import codes
    from eldercare.regions.models import Region

    if institution is not None:
        return institution.region_id
    raw = getattr(region, "code", region) if region is not None else actor.region_id
    try:
        code = codes.normalise(raw or "")
    except codes.RegionCodeError as exc:
        raise ValidationError({"region": f"地区代码“{raw}”无效，应为 12 位统计用区划代码。"}) from exc
    if not Region.objects.filter(code=code).exists():
        raise ValidationError({"region": f"没有代码为 {code} 的地区。"})
    if codes.level_of(code) < codes.TOWNSHIP:
        raise ValidationError({"region": "请选择机构所在的乡镇（街道）或村（社区）。"})
    return code


# -- drafts -----------------------------------------------------------------------------------
@transaction.atomic
def filing_create(
    *,
    actor,
    type: FilingType,
    payload: dict | None = None,
    institution=None,
    region=None,
    subject=None,
    title: str = "",
) -> Filing:
    """A draft. The region is the institution's (or the given one, or the actor's); it must be
    in the actor's scope; the institution must be of the family the type is about."""
    if not actor.has_perm("workflow.apply_filing"):
        raise PermissionDenied("您没有提交备案申请的权限。")
    if not type.active:
        raise ValidationError({"type": f"“{type.name}”暂未开通。"})
    family = type.subject_family or effects.SUBJECT_FAMILY.get(type.effect, "")
    if type.effect in effects.SUBJECT_REQUIRED and institution is None:
        raise ValidationError({"institution": "请选择备案所涉及的机构。"})
    if institution is not None and family and institution.family != family:
        raise ValidationError(
            {
                "institution": "所选机构类别不符：本事项需要"
                + ("医疗机构。" if family == "medical" else "养老机构。")
            }
        )
    if institution is not None and not region_in_scope(actor, institution.region_id):
        raise PermissionDenied("所选机构或地区不在您的管辖范围内。")
    if (
        subject is not None
        and getattr(subject, "region_id", None)
        and not region_in_scope(actor, subject.region_id)
    ):
        raise PermissionDenied("所选对象不在您的管辖范围内。")
    region_code = _region_for(actor, institution, region)
    if not region_in_scope(actor, region_code):
        raise PermissionDenied("所选机构或地区不在您的管辖范围内。")
    clean = effects.clean_payload(type.effect, payload or {}, complete=False)
    filing = Filing.objects.create(
        type=type,
        region_id=region_code,
        institution=institution,
        title=(title or _default_title(type, institution, clean))[:200],
        payload=clean,
        subject_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_id=subject.pk if subject is not None else None,
        created_by=actor,
    )
    record(actor, Action.CREATE, filing, detail={"type": type.code, "payload": clean})
    return filing


def _default_title(type: FilingType, institution, payload: dict) -> str:
    name = payload.get("name") or (institution.name if institution is not None else "")
    what = (
        effects.label_of(type.effect, "mode", payload["mode"]) + "备案" if payload.get("mode") else type.name
    )
    return f"{name} · {what}" if name else what


@transaction.atomic
def filing_update(*, actor, filing: Filing, payload: dict, title: str | None = None) -> Filing:
    """Change a draft's or returned filing's content: the applicant side only (separation of
    duties: the deciding officer never edits what they decide)."""
    f = _locked(filing.pk)
    _check_applicant(actor, f)
    if f.status not in EDITABLE:
        raise TransitionRefused(f"当前状态为“{f.status_label}”，申请内容不能修改。", "state")
    clean = effects.clean_payload(f.type.effect, payload, complete=False)
    before, before_title = dict(f.payload), f.title
    f.payload = clean
    if title is not None:
        f.title = title[:200] or _default_title(f.type, f.institution, clean)
    f.save(update_fields=["payload", "title", "updated_at"])
    changed = {
        f"payload.{k}": [before.get(k), clean.get(k)]
        for k in sorted(set(before) | set(clean))
        if before.get(k) != clean.get(k)
    }
    if f.title != before_title:
        changed["title"] = [before_title, f.title]
    record(actor, Action.UPDATE, f, changes=changed)
    return f


# -- attachments ------------------------------------------------------------------------------
SNIFF = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def sniff_attachment(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes — never from its name."""
    for magic, ctype, ext in SNIFF:
        if head.startswith(magic):
            return ctype, ext
    return None


_UNSAFE_NAME = re.compile("[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def safe_name(name: str, ext: str = "") -> str:
    """The uploaded name without its path, control or bidirectional-override characters, at most
    200 characters with its extension kept."""
    name = _UNSAFE_NAME.sub("", os.path.basename((name or "").replace("\\", "/"))).strip() or "附件" + ext
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = stem[: 199 - len(suffix)] + "." + suffix if dot and len(suffix) <= 10 else name[:200]
    return name


def _upload_dir() -> Path:
    path = Path(settings.PORTAL_UPLOAD_ROOT) / "filings"
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def attachment_add(*, actor, filing: Filing, requirement: str, uploaded) -> Attachment:
    """Store one uploaded file (a Django UploadedFile) against one of the type's attachment
    requirements: PDF/JPG/PNG by content, within the type's size limit, outside the web root."""
    f = _locked(filing.pk)
    _check_applicant(actor, f)
    if f.status not in EDITABLE:
        raise TransitionRefused(f"当前状态为“{f.status_label}”，不能再上传材料。", "state")
    known = {a["code"]: a["label"] for a in f.type.attachments}
    if requirement not in known:
        raise ValidationError({"requirement": "请选择材料类别。"})
    limit = f.type.max_attachment_mb * 1024 * 1024
    if uploaded.size > limit:
        raise ValidationError(
            {"file": f"“{known[requirement]}”超过 {f.type.max_attachment_mb} MB，请压缩后再上传。"}
        )
    if uploaded.size == 0:
        raise ValidationError({"file": "文件是空的。"})
    digest, head = hashlib.sha256(), b""
    stored = _upload_dir() / f"{f.pk}-{os.urandom(8).hex()}"
    try:
        with open(stored, "wb") as out:
            for chunk in uploaded.chunks():
                if not head:
                    head = chunk[:16]
                digest.update(chunk)
                out.write(chunk)
        sniffed = sniff_attachment(head)
        if sniffed is None:
            raise ValidationError(
                {
                    "file": f"“{safe_name(uploaded.name)}”不是 PDF、JPG 或 PNG 文件（按文件内容识别，不看扩展名）。"
                }
            )
        att = Attachment.objects.create(
            filing=f,
            requirement=requirement,
            original_name=safe_name(uploaded.name, sniffed[1]),
            content_type=sniffed[0],
            size=uploaded.size,
            sha256=digest.hexdigest(),
            stored_as=stored.name,
            uploaded_by=actor,
        )
    except BaseException:
        # Nothing half-written: no file without its row. (A rollback of an enclosing
        # transaction leaves a file no row names; cleanup_attachments removes those.)
        stored.unlink(missing_ok=True)
        raise
    record(actor, Action.CREATE, att, detail={"filing": f.number, "sha256": att.sha256, "size": att.size})
    return att


def attachment_path(att: Attachment) -> Path:
    return _upload_dir() / att.stored_as


@transaction.atomic
def attachment_remove(*, actor, attachment: Attachment) -> None:
    f = _locked(attachment.filing_id)
    _check_applicant(actor, f)
    if f.status not in EDITABLE:
        raise TransitionRefused(f"当前状态为“{f.status_label}”，不能删除材料。", "state")
    record(actor, Action.DELETE, attachment, detail={"filing": f.number, "sha256": attachment.sha256})
    path = attachment_path(attachment)
    attachment.delete()
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


def cleanup_attachments(*, older_than: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Remove stored files no Attachment row names (left by a rolled-back transaction)."""
    import time

    known = set(Attachment.objects.values_list("stored_as", flat=True))
    cutoff, removed = time.time() - older_than.total_seconds(), 0
    for path in _upload_dir().iterdir():
        if path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def missing_for_submission(filing: Filing) -> dict:
    """What a submission still lacks, or what approval would refuse: {field or "attachments":
    Chinese message}."""
    errors = {}
    try:
        effects.clean_payload(filing.type.effect, filing.payload, complete=True)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if not errors:
        errors.update(effects.precheck(filing))
    have = set(filing.files.values_list("requirement", flat=True))
    lacking = [a["label"] for a in filing.type.attachments if a.get("required") and a["code"] not in have]
    if lacking:
        errors["attachments"] = "缺少必需的材料：" + "、".join(lacking) + "。"
    return errors


# -- the clock --------------------------------------------------------------------------------
def steps_of(filing: Filing) -> list[machine.Step]:
    """The ledger as machine steps (uses prefetched steps when the caller prefetched them)."""
    return [
        machine.Step(s.action, s.to_state, s.day)
        for s in sorted(filing.steps.all(), key=lambda s: (s.at, s.pk))
    ]


def current_clock(filing: Filing, cal=None) -> machine.Clock:
    return machine.clock(filing.type.definition(), steps_of(filing), cal or load_calendar())


def _set_clock(filing: Filing, cal, today: datetime.date) -> None:
    c = current_clock(filing, cal)
    filing.clock_phase = c.phase
    filing.due_on = c.deadline.due if c.deadline else None
    filing.due_provisional = bool(c.deadline and c.deadline.provisional)
    filing.alert = machine.alert(filing.due_on, today, cal) if filing.due_on else ""


# -- transitions ------------------------------------------------------------------------------
def filing_transition(
    *,
    actor,
    filing,
    action: str,
    comment: str = "",
    expected_status: str | None = None,
    expected_step: int | None = None,
) -> Filing:
    """Take `action` on the filing (an object or its id).

    `expected_status` / `expected_step`: the state, and the id of the last ledger step, the actor
    saw when deciding (pages send both, the API the state it read). If the filing has moved on
    meanwhile, the action is refused with 「已被他人处理」 rather than taken on something the actor
    did not see — even when it would still be legal (accept racing return or withdraw).
    A refusal is audited (result denied) after its transaction has rolled back."""
    try:
        return _transition(
            actor=actor,
            pk=getattr(filing, "pk", filing),
            action=action,
            comment=(comment or "").strip(),
            expected_status=expected_status,
            expected_step=expected_step,
        )
    except (TransitionRefused, PermissionDenied) as exc:
        record(
            actor,
            Action.TRANSITION,
            object_type="workflow.filing",
            object_id=str(getattr(filing, "pk", filing)),
            object_repr=str(getattr(filing, "number", "") or ""),
            result=Result.DENIED,
            detail={
                "action": action,
                "reason": getattr(exc, "message", str(exc)),
                "code": getattr(exc, "code", "scope"),
            },
        )
        raise


@transaction.atomic
def _transition(*, actor, pk, action, comment, expected_status, expected_step) -> Filing:
    f = _locked(pk)
    if actor is SYSTEM or not region_in_scope(actor, f.region_id):
        raise PermissionDenied("该申请不在您的管辖范围内。")
    last = f.steps.order_by("-at", "-id").first()
    if (expected_status and f.status != expected_status) or (
        expected_step is not None and (last.pk if last else 0) != expected_step
    ):
        raise TransitionRefused(_taken_message(f, last, actor), "taken")
    definition = f.type.definition()
    applicant = is_applicant(actor, f)
    verdict = machine.decide(
        definition, f.status, action, is_applicant=applicant, roles=roles_of(actor), comment=comment
    )
    if not verdict.allowed:
        if verdict.code == "state" and last is not None and last.actor_id != actor.pk:
            raise TransitionRefused(_taken_message(f, last), "taken")
        raise TransitionRefused(verdict.reason, verdict.code)
    if not actor.has_perm("workflow.apply_filing" if applicant else "workflow.decide_filing"):
        raise TransitionRefused("您没有执行此操作的权限。", "role")
    if verdict.target == machine.SUBMITTED:
        lacking = missing_for_submission(f)
        if lacking:
            raise ValidationError(lacking)

    now = timezone.now()
    today = timezone.localdate(now)
    cal = load_calendar()
    running = current_clock(f, cal).deadline  # the limit in force up to this step
    old = f.status
    step = FilingStep.objects.create(
        filing=f,
        action=action,
        from_state=old,
        to_state=verdict.target,
        actor=actor,
        actor_name=str(actor)[:150],
        role=("applicant:" if applicant else "") + (getattr(actor, "primary_role", "") or ""),
        comment=comment,
        at=now,
        day=today,
    )
    f.status = verdict.target
    if verdict.target == machine.SUBMITTED:
        if not f.number:  # numbered when first submitted: drafts leave no gaps in the sequence
            f.number = f"{f.type.prefix}{today.year}-{_serial('filing:' + f.type.prefix, today.year):05d}"
        f.submitted_on = today
        f.accepted_on = None
    elif verdict.target == machine.ACCEPTED:
        f.accepted_on = today
    elif verdict.target == machine.RETURNED:
        f.accepted_on = None  # the next acceptance starts the decision limit afresh
    elif verdict.target in (machine.APPROVED, machine.REJECTED):
        f.decided_on = today
        f.on_time = running is None or today <= running.due
        f.working_days_to_decision = working_days_between(
            f.accepted_on or f.submitted_on or today, today, cal
        )
    _set_clock(f, cal, today)
    if verdict.target == machine.APPROVED:
        result = effects.apply(f, actor=actor, day=today)
        if result is not None:
            f.result_institution = result
    f.save()
    kind = DOCUMENT_FOR.get(verdict.target)
    if kind:
        # The paper states the limit it starts (receipt) or the one it stops or ends.
        stated = running if kind != FilingDocument.Kind.RECEIPT else current_clock(f, cal).deadline
        _issue_document(f, step, kind, today, stated)
    hook = effects.subject_hook(f)
    if hook is not None:
        hook(filing=f, step=step, actor=actor)
    record(
        actor,
        Action.TRANSITION,
        f,
        changes={"status": [old, f.status]},
        detail={"action": action, "comment": comment, "due_on": f.due_on.isoformat() if f.due_on else None},
    )
    _notify_after(f, step)
    return f


def _taken_message(f: Filing, last: FilingStep | None, actor=None) -> str:
    when = f"{timezone.localtime(last.at):%Y-%m-%d %H:%M}" if last else ""
    if last is not None and actor is not None and last.actor_id == getattr(actor, "pk", None):
        # the same user from a second tab or a double click
        return f"该申请已于{when}由您本人处理，当前状态为“{f.status_label}”。请刷新页面后查看。"
    who = f"（{last.actor_name}于{when}）" if last else ""
    return f"该申请{TAKEN}{who}，当前状态为“{f.status_label}”。请刷新页面后查看。"


def _issue_document(f: Filing, step: FilingStep, kind: str, today: datetime.date, stated) -> FilingDocument:
    serial = _serial(f"doc:{f.type.prefix}:{kind}", today.year)
    return FilingDocument.objects.create(
        filing=f,
        step=step,
        kind=kind,
        year=today.year,
        serial=serial,
        number=f"{f.type.prefix}{DOC_MARK[kind]}〔{today.year}〕{serial}号",
        issued_on=today,
        deadline=stated.due if stated else None,
        deadline_provisional=bool(stated and stated.provisional),
    )


def _link(f: Filing) -> str:
    return reverse("workflow:detail", args=[f.pk])


def deciders_of(f: Filing):
    return (
        users_covering(f.region_id)
        .filter(groups__name=f.type.decider_role, groups__permissions__codename="decide_filing")
        .distinct()
    )


def _notify_after(f: Filing, step: FilingStep) -> None:
    label = machine.STATE_LABELS.get(step.to_state, step.to_state)
    if step.to_state == machine.SUBMITTED:
        due = f"，受理时限 {f.due_on:%Y-%m-%d}" if f.due_on else ""
        users = list(deciders_of(f).exclude(pk=step.actor_id))
        title = f"新的{f.type.name}待受理：{f.title}"
        body = f"{f.number}{due}"
    elif step.to_state == machine.WITHDRAWN:
        users = [u for u in deciders_of(f) if u.pk != step.actor_id]
        if f.created_by_id != step.actor_id:
            users.append(f.created_by)
        title = f"{f.type.name}已由申请方撤回：{f.title}"
        body = f"{f.number} · {step.actor_name}"
    else:
        users = [f.created_by] if f.created_by_id != step.actor_id else []
        title = f"{f.type.name}{label}：{f.title}"
        body = f"{f.number} · {step.actor_name}" + (f" · 意见：{step.comment}" if step.comment else "")
    Notification.objects.bulk_create(
        [Notification(user=u, title=title[:200], body=body, link=_link(f)) for u in users]
    )


# -- the nightly pass -------------------------------------------------------------------------
DIGEST_TITLE = "备案审批时限提醒"


def refresh_deadlines(*, today: datetime.date | None = None) -> dict:
    """Recompute every open filing's deadline with today's calendar (an admin may have entered
    next year's holidays), mark due-soon (≤2 working days) and overdue ones, and send each
    deciding officer one digest a day of what is due soon or overdue in their scope (in-app, and
    by e-mail when they have an address). Each row is updated under its lock (skipped if an
    officer is acting on it right now; the next pass catches it), never over a decision taken
    meanwhile; a repeated or retried pass sends no digest twice. Returns counts."""
    from django.core.mail import send_mail

    today = today or timezone.localdate()
    cal = load_calendar()
    counts = {"open": 0, "due_soon": 0, "overdue": 0, "digests": 0}
    alerts: list[Filing] = []
    for pk in Filing.objects.open().values_list("pk", flat=True):
        with transaction.atomic():
            f = (
                Filing.objects.open()
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("type")
                .prefetch_related("steps")
                .filter(pk=pk)
                .first()
            )
            if f is None:
                continue  # decided meanwhile, or being acted on this instant
            before = (f.due_on, f.due_provisional, f.alert, f.clock_phase)
            _set_clock(f, cal, today)
            if (f.due_on, f.due_provisional, f.alert, f.clock_phase) != before:
                f.save(update_fields=["due_on", "due_provisional", "alert", "clock_phase", "updated_at"])
        counts["open"] += 1
        if f.alert:
            counts[f.alert] += 1
            alerts.append(f)
    per_user: dict[int, tuple[object, list[Filing]]] = {}
    deciders: dict[tuple[str, str], list] = {}
    for f in alerts:
        key = (f.region_id, f.type.decider_role)
        if key not in deciders:
            deciders[key] = list(deciders_of(f))
        for user in deciders[key]:
            per_user.setdefault(user.pk, (user, []))[1].append(f)
    failures = []
    for user, filings in per_user.values():
        filings.sort(key=lambda x: (x.alert != "overdue", x.due_on))
        overdue = sum(1 for x in filings if x.alert == "overdue")
        title = f"{DIGEST_TITLE}：已超期 {overdue} 件，即将到期 {len(filings) - overdue} 件"
        lines = [
            f"{'【已超期】' if x.alert == 'overdue' else '【即将到期】'}{x.number} {x.title} "
            f"— {x.status_label}，期限 {x.due_on:%Y-%m-%d}"
            + (f"（{machine.UNPUBLISHED}）" if x.due_provisional else "")
            for x in filings
        ]
        try:
            with transaction.atomic():
                _, created = DigestSent.objects.get_or_create(user=user, day=today)
                if not created:
                    continue  # already sent today
                Notification.objects.create(
                    user=user,
                    title=title[:200],
                    body="\n".join(lines)[:4000],
                    link=reverse("workflow:list") + "?due=alert",
                )
                if user.email:
                    send_mail(title, "\n".join(lines), None, [user.email], fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - one officer's mail server trouble must not stop the others
            failures.append(f"{user.username}: {exc}")
            continue
        counts["digests"] += 1
    record(
        SYSTEM,
        Action.BULK,
        object_type="workflow.filing",
        object_repr="deadline pass",
        detail={**counts, "day": today.isoformat(), "failed": failures},
    )
    cleanup_attachments()
    if failures:
        # The digests that failed were rolled back with their DigestSent row: a retry sends
        # exactly those.
        raise RuntimeError("deadline digests failed: " + "; ".join(failures))
    return counts
