"""The spreadsheet engine: upload → validate (a stored dry run) → confirm → (accept) → undo.

Every entry point — the 批量导入 page, `POST /api/v1/imports/`, `import_sheet` — calls these
functions; a kind (regions, institutions, later contracts …) plugs in with an object that
validates rows into a stored plan and applies it set-based (eldercare/sheets/kinds.py).

- validate: reads the stored file once, parses every row, diffs it against the registry and
  stores the result on the batch (per row: create / update / unchanged / error, warnings apart).
- confirm: applies the stored result in one transaction without parsing again, or — for a
  township user's registry upload — stages it for a county user, who accepts or returns it.
- Before applying, the rows' records are locked and checked unchanged since validation; if
  someone edited them meanwhile the batch is marked stale and must be validated again.
- revert: a committed batch is undone while no later change touched its rows.
Big files run as Celery tasks with progress on the batch; small ones inline."""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record

from . import kinds
from .models import ImportBatch, _pack, _unpack
from .readers import SheetError, max_bytes, too_big_message

log = logging.getLogger(__name__)

# Files up to this size are validated and committed in the request; bigger ones by a worker.
INLINE_BYTES = 512 * 1024
INLINE_ROWS = 20_000
S = ImportBatch.Status


class StaleBatch(Exception):
    """The registry changed between validation and commit."""


def upload_root() -> Path:
    root = Path(settings.PORTAL_UPLOAD_ROOT)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _path(batch: ImportBatch) -> Path:
    return upload_root() / batch.stored_name


def _remove_file(batch: ImportBatch) -> None:
    if batch.stored_name:
        _path(batch).unlink(missing_ok=True)
        batch.stored_name = ""


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _forget(batch: ImportBatch) -> None:
    """A batch that can no longer be committed keeps no personal data it only needed to commit:
    the kind's `redact_plan` (if any) rewrites the stored plan (the residents kind drops the
    encrypted ID numbers, keeping hashes and masks)."""
    redact = getattr(kinds.get(batch.kind), "redact_plan", None)
    if redact is None:
        return
    blob = ImportBatch.objects.filter(pk=batch.pk).values_list("result", flat=True).first()
    if not blob:
        return
    ImportBatch.objects.filter(pk=batch.pk).update(result=_pack(redact(_unpack(blob))))


def upload_ttl(kind: str) -> datetime.timedelta | None:
    """How long an uploaded file of this kind may wait uncommitted (a kind's `upload_ttl`; the
    residents roster: 1 hour, its ID numbers in clear); None: the general sweep's limit."""
    try:
        return getattr(kinds.get(kind), "upload_ttl", None)
    except (KeyError, ImportError, AttributeError):  # a kind unknown or not loadable: no shorter life
        return None


def _save(batch: ImportBatch, *fields: str) -> None:
    batch.save(update_fields=list(fields))


def _file_error(message: str) -> dict:
    return {"row": None, "column": None, "message": message}


# -- upload -----------------------------------------------------------------------------------
def start_import(
    *,
    actor,
    kind: str,
    data: bytes,
    filename: str,
    as_of: datetime.date | None = None,
    dry_run: bool = False,
    inline: bool | None = None,
) -> ImportBatch:
    """Store the file, validate it and — unless `dry_run` — confirm it when it is valid.
    `inline=None`: small files in this process, big ones through Celery (the batch's status
    and progress tell the caller when it is done)."""
    spec = kinds.get(kind)  # KeyError for an unknown kind: the caller's argument error
    spec.check_can_import(actor)
    as_of = as_of or timezone.localdate()
    file_name = Path(filename or "upload").name[:255]
    redact = getattr(spec, "redact_text", None)
    batch = ImportBatch(
        kind=kind,
        created_by=_user(actor),
        username=getattr(actor, "username", "system"),
        region_id=getattr(actor, "region_id", None),
        file_name=redact(file_name) if redact else file_name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        as_of=as_of,
        dry_run=dry_run,
        staged=spec.staged_for(actor),
    )
    if len(data) > max_bytes():
        # Not even stored: refused before anything is parsed.
        batch.status = S.INVALID
        batch.error_count = 1
        batch.message = too_big_message()
        batch.set_result({"ops": [], "errors": [_file_error(batch.message)], "warnings": []})
        batch.save()
        _audit_upload(actor, batch)
        return batch
    batch.stored_name = secrets.token_hex(16)
    _path(batch).write_bytes(data)
    batch.save()
    _audit_upload(actor, batch)
    if inline is None:
        inline = len(data) <= INLINE_BYTES or settings.CELERY_TASK_ALWAYS_EAGER
    if inline:
        validate_batch(batch.pk, then_confirm=not dry_run, actor=actor)
        batch = ImportBatch.objects.defer("result", "undo", "report").get(pk=batch.pk)
    else:
        from eldercare.core.outbox import enqueue_on_commit

        enqueue_on_commit("sheets.validate_batch", batch.pk, not dry_run)
    return batch


def _audit_upload(actor, batch: ImportBatch) -> None:
    record(
        actor,
        Action.IMPORT,
        batch,
        detail={
            "step": "upload",
            "kind": batch.kind,
            "file_name": batch.file_name,
            "file_sha256": batch.file_sha256,
            "size": batch.file_size,
            "as_of": batch.as_of.isoformat(),
            "dry_run": batch.dry_run,
        },
    )


def _actor_of(batch: ImportBatch):
    return batch.created_by or SYSTEM


# -- validate ---------------------------------------------------------------------------------
def validate_batch(batch_id: int, then_confirm: bool = False, actor=None) -> None:
    """Parse and diff the stored file; store the result. Called inline or by the Celery task
    (idempotent: a batch already past validation is left alone)."""
    batch = (
        ImportBatch.objects.select_related("created_by").defer("result", "undo", "report").get(pk=batch_id)
    )
    actor = actor or _actor_of(batch)
    if batch.status == S.VALIDATED and then_confirm and not batch.dry_run:
        # A redelivered task whose worker died between validating and committing.
        confirm(actor=actor, batch=batch, inline=True)
        return
    if batch.status not in (S.VALIDATING, S.STALE):
        return
    if not _transition(batch, (S.VALIDATING, S.STALE), S.VALIDATING, progress=0):
        return
    spec = kinds.get(batch.kind)
    started = time.perf_counter()

    def progress(fraction: float) -> None:
        pct = min(99, int(fraction * 100))
        if pct >= batch.progress + 5:
            batch.progress = pct
            ImportBatch.objects.filter(pk=batch.pk).update(progress=pct)

    try:
        data = _path(batch).read_bytes()
        result = spec.validate(actor=actor, data=data, as_of=batch.as_of, progress=progress)
    except SheetError as exc:
        result = kinds.Validation(errors=[{"row": exc.row, "column": exc.column, "message": exc.message}])
    except FileNotFoundError:
        result = kinds.Validation(errors=[_file_error("上传的文件已不存在，请重新上传。")])
    except Exception:
        log.exception("import validation failed for batch %s", batch.pk)
        batch.status = S.FAILED
        batch.message = "校验时发生内部错误，请联系系统管理员（已记录）。"
        _save(batch, "status", "message")
        _remove_file(batch)
        _save(batch, "stored_name")
        _forget(batch)
        return
    stored = time.perf_counter()
    _store_validation(batch, result, stored - started)
    ImportBatch.objects.filter(pk=batch.pk).update(
        timings={**batch.timings, "store_s": round(time.perf_counter() - stored, 3)}
    )
    batch.timings["store_s"] = round(time.perf_counter() - stored, 3)
    if then_confirm and batch.status == S.VALIDATED:
        # Already in a worker, or a small file in the request: commit here too, from the plan
        # just stored (still in memory: no need to read it back).
        confirm(actor=actor, batch=batch, inline=True, _ops=result.ops)


def _store_validation(batch: ImportBatch, result: kinds.Validation, seconds: float) -> None:
    errors = sorted(result.errors, key=lambda e: e["row"] or 0)
    batch.rows_total = result.rows_total
    batch.skipped = result.skipped
    batch.created, batch.updated, batch.unchanged = result.counts()
    batch.error_count, batch.warning_count = len(errors), len(result.warnings)
    batch.message = errors[0]["message"] if errors and errors[0]["row"] is None else ""
    batch.set_result({"ops": result.ops, "errors": errors, "warnings": result.warnings})
    batch.status = S.INVALID if errors else S.VALIDATED
    batch.progress = 100
    batch.validated_at = timezone.now()
    batch.timings = {**batch.timings, **result.timings, "validate_s": round(seconds, 3)}
    # An invalid file is kept (outside the web root) for the annotated error sheet until the
    # uploader abandons it or the cleanup removes it (cleanup_uploads; a kind's upload_ttl). Its
    # plan can never be committed: nothing personal is kept in it (_forget).
    batch.save()
    if batch.status == S.INVALID:
        _forget(batch)


# -- confirm / accept / reject ----------------------------------------------------------------
def _require(batch: ImportBatch, *statuses) -> None:
    if batch.status not in statuses:
        raise ValidationError(
            _("This import is %(status)s; that action is not possible now.")
            % {"status": batch.get_status_display()}
        )


def confirm(*, actor, batch: ImportBatch, inline: bool | None = None, _ops=None) -> ImportBatch:
    """The uploader confirms a validated batch: applied now, or staged for acceptance."""
    batch = ImportBatch.objects.defer("result", "undo", "report").get(pk=batch.pk)
    if actor is not SYSTEM and batch.created_by_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person who uploaded the file can confirm it."))
    _require(batch, S.VALIDATED)
    if batch.dry_run:
        batch.dry_run = False
        _save(batch, "dry_run")
    if batch.staged:
        if not _transition(batch, (S.VALIDATED,), S.PENDING):
            raise ValidationError(_("Someone else has already dealt with this import."))
        record(actor, Action.IMPORT, batch, detail={"step": "submitted_for_acceptance", "kind": batch.kind})
        _notify_acceptors(batch)
        return batch
    return _commit_or_queue(batch, actor=actor, inline=inline, ops=_ops, expected=(S.VALIDATED,))


def _transition(batch: ImportBatch, expected, status: str, **fields) -> bool:
    """Move the batch to `status` only if it is still in one of `expected` (one UPDATE, so two
    officers — or an officer and a worker — acting at once yield exactly one transition)."""
    done = ImportBatch.objects.filter(pk=batch.pk, status__in=list(expected)).update(status=status, **fields)
    if done:
        batch.status = status
        for name, value in fields.items():
            setattr(batch, name, value)
    return bool(done)


def _commit_or_queue(
    batch: ImportBatch, *, actor, expected, decided_by=None, inline: bool | None = None, ops=None
) -> ImportBatch:
    if inline is None:
        inline = batch.rows_total <= INLINE_ROWS or settings.CELERY_TASK_ALWAYS_EAGER
    if not inline:
        if not _transition(batch, expected, S.COMMITTING):
            raise ValidationError(_("Someone else has already dealt with this import."))
        from eldercare.core.outbox import enqueue_on_commit

        enqueue_on_commit("sheets.commit_batch", batch.pk, getattr(decided_by, "pk", None))
        return batch
    outcome = commit_batch(
        batch.pk, decided_by_id=getattr(decided_by, "pk", None), ops=ops, expected=expected
    )
    if outcome == "skipped":
        raise ValidationError(_("Someone else has already dealt with this import."))
    return ImportBatch.objects.defer("result", "undo", "report").get(pk=batch.pk)


def commit_batch(batch_id: int, decided_by_id: int | None = None, ops=None, expected=(S.COMMITTING,)) -> str:
    """Apply the stored plan in one transaction (all or nothing). Idempotent for the task.
    `ops`: the plan as just validated and stored, when the caller still holds it; `expected`:
    the statuses the caller's action starts from (the task: committing). Returns committed,
    stale, failed or skipped (the batch was no longer in an expected status)."""
    from django.contrib.auth import get_user_model
    from django.db import IntegrityError

    batch = (
        ImportBatch.objects.select_related("created_by").defer("result", "undo", "report").get(pk=batch_id)
    )
    if batch.status not in expected:
        return "skipped"
    spec = kinds.get(batch.kind)
    actor = _actor_of(batch)
    decided_by = get_user_model().objects.get(pk=decided_by_id) if decided_by_id else None
    started = time.perf_counter()
    now = timezone.now()
    try:
        with transaction.atomic():
            locked = (
                ImportBatch.objects.select_for_update().defer("result", "undo", "report").get(pk=batch.pk)
            )
            if locked.status not in expected:
                return "skipped"  # another worker or officer got there first
            if decided_by is not None:
                # Known to the kind: accepting a township's reports is the county's acceptance.
                locked.decided_by = decided_by
            undo = spec.apply(
                actor=actor,
                batch=locked,
                ops=ops if ops is not None else ImportBatch.objects.get(pk=locked.pk).get_ops(),
                now=now,
                data_path=_path(locked) if locked.stored_name else None,
            )
            locked.set_undo(undo or {})
            locked.status = S.COMMITTED
            locked.committed_at = now
            locked.progress = 100
            if decided_by is not None:
                locked.decided_by, locked.decided_at = decided_by, now
            locked.timings = {**locked.timings, "commit_s": round(time.perf_counter() - started, 3)}
            # Not the stored result again: it is unchanged and large.
            locked.save(
                update_fields=[
                    "undo",
                    "status",
                    "committed_at",
                    "progress",
                    "decided_by",
                    "decided_at",
                    "timings",
                ]
            )
            record(
                decided_by or actor,
                Action.IMPORT,
                locked,
                detail={
                    "step": "committed",
                    "kind": locked.kind,
                    "file_sha256": locked.file_sha256,
                    "created": locked.created,
                    "updated": locked.updated,
                    "unchanged": locked.unchanged,
                    "uploaded_by": locked.username,
                },
            )
            _touch_reports(locked)
    except StaleBatch as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(status=S.STALE, message=str(exc))
        return "stale"
    except IntegrityError:
        # A record created by someone else between validation and commit (a key constraint).
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=S.STALE, message="校验后登记库已有变化（有机构被他人新增），请重新校验后再提交。"
        )
        return "stale"
    except Exception:
        log.exception("import commit failed for batch %s", batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=S.FAILED, message="导入提交时发生内部错误，未写入任何数据；请联系系统管理员（已记录）。"
        )
        return "failed"
    # Only once the data is safely committed: the upload is not needed any more, nor the
    # personal data of the plan (the preview and the undo record keep what they show).
    _remove_file(locked)
    _save(locked, "stored_name")
    _forget(locked)
    return "committed"


def revalidate(*, actor, batch: ImportBatch) -> ImportBatch:
    """A stale batch (the registry changed after validation) is validated again from its file."""
    if batch.created_by_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person who uploaded the file can validate it again."))
    _require(batch, S.STALE)
    if not batch.stored_name:
        raise ValidationError(_("The uploaded file is no longer kept; please upload it again."))
    validate_batch(batch.pk, then_confirm=False, actor=actor)
    return ImportBatch.objects.get(pk=batch.pk)


def _check_acceptor(actor, batch: ImportBatch) -> None:
    if not actor.has_perm("sheets.accept_importbatch"):
        raise PermissionDenied(_("You do not have permission to accept township uploads."))
    if batch.region_id is None or not region_in_scope(actor, batch.region_id):
        raise PermissionDenied(_("That upload is outside your scope."))
    if batch.created_by_id == actor.pk:
        raise PermissionDenied(_("You cannot accept your own upload."))


def accept(*, actor, batch: ImportBatch, inline: bool | None = None) -> ImportBatch:
    _check_acceptor(actor, batch)
    _require(batch, S.PENDING)
    return _commit_or_queue(batch, actor=actor, decided_by=actor, inline=inline, expected=(S.PENDING,))


def reject(*, actor, batch: ImportBatch, comment: str) -> ImportBatch:
    _check_acceptor(actor, batch)
    if not (comment or "").strip():
        raise ValidationError({"comment": _("Please give the reason for returning the upload.")})
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _require(batch, S.PENDING)
        batch.status = S.REJECTED
        batch.decided_by, batch.decided_at = actor, timezone.now()
        batch.decision_comment = comment.strip()[:2000]
        _remove_file(batch)
        batch.save()
        _forget(batch)
        record(actor, Action.IMPORT, batch, detail={"step": "rejected", "comment": batch.decision_comment})
    _notify(batch.created_by, _("Your upload was returned"), batch, batch.decision_comment)
    return batch


def abandon(*, actor, batch: ImportBatch) -> ImportBatch:
    if batch.created_by_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person who uploaded the file can abandon it."))
    # A pending upload may be withdrawn by its uploader until a county user acts on it.
    _require(batch, S.VALIDATED, S.INVALID, S.STALE, S.PENDING)
    if not _transition(batch, (S.VALIDATED, S.INVALID, S.STALE, S.PENDING), S.ABANDONED):
        raise ValidationError(_("Someone else has already dealt with this import."))
    _remove_file(batch)
    _save(batch, "stored_name")
    _forget(batch)
    record(actor, Action.IMPORT, batch, detail={"step": "abandoned"})
    return batch


# Kinds whose rows feed the target-attainment reports: a commit or an undo asks for a debounced
# recompute of the uploader's counties (assessments.recompute; township reports do it on
# acceptance themselves, for the report's own year).
# Rows carry their own effective dates (状态日期, 成立日期, contract terms), possibly years back:
# the last five years are recomputed; older history is corrected by `compute_reports`.
REPORT_YEARS = {"institutions": 5, "contracts": 5}


def _touch_reports(batch: ImportBatch) -> None:
    if batch.kind not in REPORT_YEARS or not batch.region_id:
        return
    from assessments.recompute import touch_region, years_from

    back = REPORT_YEARS[batch.kind]
    years = years_from(batch.as_of)
    if back:
        years = sorted(set(years) | set(range(years[-1] - back, years[-1] + 1)))
    touch_region(batch.region_id, years)


def revert(*, actor, batch: ImportBatch) -> ImportBatch:
    """Undo a committed batch while no later change touched its rows."""
    if actor is not SYSTEM:
        if not actor.has_perm("sheets.revert_importbatch"):
            raise PermissionDenied(_("You do not have permission to revert imports."))
        if batch.region_id is None or not region_in_scope(actor, batch.region_id):
            raise PermissionDenied(_("That upload is outside your scope."))
    spec = kinds.get(batch.kind)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        _require(batch, S.COMMITTED)
        spec.revert(actor=actor, batch=batch, undo=batch.get_undo())  # raises ValidationError
        _touch_reports(batch)
        batch.status = S.REVERTED
        batch.reverted_by, batch.reverted_at = _user(actor), timezone.now()
        _save(batch, "status", "reverted_by", "reverted_at")
        record(
            actor,
            Action.IMPORT,
            batch,
            detail={
                "step": "reverted",
                "kind": batch.kind,
                "created": batch.created,
                "updated": batch.updated,
            },
        )
    return batch


# -- notifications ----------------------------------------------------------------------------
def _notify(user, title, batch: ImportBatch, body: str = "") -> None:
    if user is None:
        return
    from django.urls import reverse

    from eldercare.core.models import Notification

    Notification.objects.create(
        user=user, title=str(title)[:200], body=body, link=reverse("sheets:detail", args=[batch.pk])
    )


def _notify_acceptors(batch: ImportBatch) -> None:
    """County-level users who may accept this township's upload get an in-app notice."""
    from eldercare.accounts.scope import users_covering
    from eldercare.regions import codes

    if batch.region_id is None:
        return
    # County-level and above: a township colleague does not accept their own township's upload.
    users = (
        users_covering(batch.region_id)
        .filter(region__code__endswith="000000", groups__permissions__codename="accept_importbatch")
        .distinct()
    )
    township = codes.normalise(batch.region_id)
    for user in users:
        _notify(
            user,
            _("A township upload awaits acceptance"),
            batch,
            f"{batch.username} · {batch.file_name} · {township}",
        )


def cleanup_uploads(*, older_than: datetime.timedelta = datetime.timedelta(days=7), only_kinds=None) -> int:
    """Remove stored files no batch needs any more: finished batches at once, open ones that
    nobody touched for `older_than` — or the kind's shorter `upload_ttl` (the residents roster:
    1 hour) — which are marked abandoned. `only_kinds`: sweep those kinds' batches only (the
    frequent sweep of the short-lived kinds). Returns files removed."""
    removed = 0
    now = timezone.now()
    batches = ImportBatch.objects.exclude(stored_name="").defer("result", "undo", "report")
    if only_kinds is not None:
        batches = batches.filter(kind__in=list(only_kinds))
    for batch in batches:
        finished = batch.status not in ImportBatch.OPEN and batch.status != S.INVALID
        if batch.status in (S.VALIDATING, S.COMMITTING):
            continue  # a worker may be reading it right now
        ttl = upload_ttl(batch.kind)
        limit = min(older_than, ttl) if ttl is not None else older_than
        if not finished and batch.created_at >= now - limit:
            continue
        if not finished and batch.status != S.PENDING:
            if not _transition(batch, (S.VALIDATED, S.INVALID, S.STALE), S.ABANDONED):
                continue  # someone acted on it meanwhile
            record(SYSTEM, Action.IMPORT, batch, detail={"step": "abandoned", "why": "expired"})
        _remove_file(batch)
        _save(batch, "stored_name")
        if batch.status != S.PENDING:
            _forget(batch)
        removed += 1
    return removed


def cleanup_short_lived_uploads() -> int:
    """The frequent sweep (every 10 minutes, eldercare/settings/base.py): the kinds with an
    `upload_ttl` (the residents roster) lose their uncommitted uploads once it has passed."""
    short = [name for name in kinds.available() if upload_ttl(name) is not None]
    return cleanup_uploads(only_kinds=short) if short else 0
