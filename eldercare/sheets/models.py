"""Import batches: one uploaded file, its validation result and what became of it.

The validated result (every row's planned write, all errors and warnings) is stored compressed
on the batch, so confirming applies exactly what the user previewed without parsing the file
again (docs/adr/0009-import-pipeline.md). The file itself lives outside the web root under a
random name until the batch is committed, rejected or abandoned (or the sweep removes it: a kind
may keep its uploads for less, the residents roster for an hour — engine.cleanup_uploads)."""

from __future__ import annotations

import json
import zlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def _pack(data) -> bytes:
    """zlib(JSON). A long list (a 100k-row plan) is encoded in slices with the C encoder, so it
    never exists as one big string."""
    dumps = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode
    packer = zlib.compressobj(1)
    if not isinstance(data, list) or len(data) <= 5000:
        return packer.compress(dumps(data).encode()) + packer.flush()
    out = [packer.compress(b"[")]
    for start in range(0, len(data), 5000):
        piece = dumps(data[start : start + 5000])[1:-1]
        out.append(packer.compress((b"," if start else b"") + piece.encode()))
    out.append(packer.compress(b"]"))
    out.append(packer.flush())
    return b"".join(out)


def _unpack(blob) -> object:
    return json.loads(zlib.decompress(bytes(blob)))


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        VALIDATING = "validating", _("Validating")
        INVALID = "invalid", _("Has errors")
        VALIDATED = "validated", _("Validated, awaiting confirmation")
        COMMITTING = "committing", _("Committing")
        PENDING = "pending", _("Awaiting county acceptance")
        COMMITTED = "committed", _("Imported")
        REJECTED = "rejected", _("Returned by the county")
        STALE = "stale", _("Registry changed; validate again")
        REVERTED = "reverted", _("Reverted")
        ABANDONED = "abandoned", _("Abandoned")
        FAILED = "failed", _("Failed")

    OPEN = (Status.VALIDATING, Status.VALIDATED, Status.COMMITTING, Status.PENDING, Status.STALE)

    kind = models.CharField(_("kind"), max_length=30)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.VALIDATING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(_("uploaded by"), max_length=150)
    # The uploader's region: township staff see their township's batches, county staff theirs.
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64)
    file_size = models.PositiveIntegerField(_("file size"), default=0)
    stored_name = models.CharField(max_length=80, blank=True)  # under PORTAL_UPLOAD_ROOT; "" once removed
    as_of = models.DateField(_("data as of"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    staged = models.BooleanField(_("needs county acceptance"), default=False)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # percent
    rows_total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    message = models.TextField(_("message"), blank=True)  # a file-level problem or a failure
    timings = models.JSONField(default=dict, blank=True)
    result = models.BinaryField(null=True, blank=True, editable=False)  # zlib(JSON): the planned rows
    report = models.BinaryField(null=True, blank=True, editable=False)  # zlib(JSON): errors, warnings
    undo = models.BinaryField(null=True, blank=True, editable=False)  # zlib(JSON): what revert restores
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(_("committed at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reverted_at = models.DateTimeField(null=True, blank=True)

    scope_field = "region__code"

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["region", "status"]), models.Index(fields=["file_sha256"])]
        default_permissions = ("view",)
        permissions = [
            ("import_sheet", _("Can upload spreadsheets")),
            ("accept_importbatch", _("Can accept township uploads")),
            ("revert_importbatch", _("Can revert an import")),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} {self.file_name}"

    # -- the stored result ---------------------------------------------------------------
    def set_result(self, data: dict) -> None:
        """{"ops", "errors", "warnings"}: the plan and the report are stored apart, so showing
        the errors never decompresses a 100k-row plan."""
        self.result = _pack(data.get("ops", []))
        self.report = _pack({"errors": data.get("errors", []), "warnings": data.get("warnings", [])})

    def get_report(self) -> dict:
        return _unpack(self.report) if self.report else {"errors": [], "warnings": []}

    def get_ops(self) -> list:
        return _unpack(self.result) if self.result else []

    def get_result(self) -> dict:
        return {"ops": self.get_ops(), **self.get_report()}

    def set_undo(self, data: dict) -> None:
        self.undo = _pack(data)

    def get_undo(self) -> dict:
        return _unpack(self.undo) if self.undo else {}

    @property
    def committed(self) -> bool:
        return self.status == self.Status.COMMITTED

    def summary(self, *, errors=None, warnings=None) -> dict:
        """Shaped like `import_sheet --json` (CONTRACT.md)."""
        if errors is None or warnings is None:
            res = self.get_report()
            errors = res.get("errors", []) if errors is None else errors
            warnings = res.get("warnings", []) if warnings is None else warnings
        return {
            "kind": self.kind,
            "rows_total": self.rows_total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "committed": self.status == self.Status.COMMITTED,
            "pending_acceptance": self.status == self.Status.PENDING,
            "errors": errors,
            "warnings": warnings,
        }
