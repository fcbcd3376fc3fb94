"""The `regions` kind for the spreadsheet engine (CONTRACT.md: 区划代码* | 名称* | 上级区划代码).

It wraps the region loader (eldercare/regions/services.py `import_regions`): validation is that
loader's dry run; applying runs it again on the stored file inside the engine's transaction, so
a region tree is all or nothing. Region trees are small (a province is ~100k rows, read in well
under a second), so re-reading at commit costs little; undo is not offered — a wrong region row
is corrected by importing the right one."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from eldercare.accounts.scope import SYSTEM
from eldercare.sheets.headers import Column
from eldercare.sheets.kinds import Validation

from .services import import_regions


class RegionsKind:
    name = "regions"
    label = "区划"
    revertible = False
    columns = [
        Column("区划代码", "code", required=True, synonyms=("行政区划代码",)),
        Column("名称", "name", required=True, synonyms=("区划名称",)),
        Column("上级区划代码", "parent", synonyms=("上级代码",)),
    ]
    example = ["370306001000", "永安街道", "370306000000"]

    def check_can_import(self, actor) -> None:
        if actor is not SYSTEM and not actor.has_perm("regions.import_region"):
            raise PermissionDenied(_("You do not have permission to import regions."))

    def staged_for(self, actor) -> bool:
        return False

    def validate(self, *, actor, data: bytes, as_of, progress) -> Validation:
        summary = import_regions(actor=actor, data=data, dry_run=True)
        return Validation(
            errors=summary.errors,
            warnings=summary.warnings,
            rows_total=summary.rows_total,
            skipped=summary.skipped,
            totals=(summary.created, summary.updated, summary.unchanged),
        )

    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        if data_path is None:
            raise ValidationError(_("The uploaded file is no longer kept; please upload it again."))
        summary = import_regions(actor=actor, data=data_path.read_bytes(), dry_run=False)
        if summary.errors:
            from eldercare.sheets.engine import StaleBatch

            raise StaleBatch("区划表在校验后已变化，请重新校验。")
        return {}

    def revert(self, *, actor, batch, undo) -> None:
        raise ValidationError(_("Region imports cannot be reverted; import the corrected rows instead."))
