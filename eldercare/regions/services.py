"""Writes to the region tree, all-or-nothing and audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record, record_bulk

from . import codes, loader
from .models import Region


@dataclass
class ImportSummary:
    kind: str = "regions"
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    committed: bool = False
    pending_acceptance: bool = False
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _err(summary, row, column, message):
    summary.errors.append({"row": row, "column": column, "message": message})


def import_regions(
    *, actor, path: str | Path | None = None, data: bytes | None = None, dry_run: bool = False
) -> ImportSummary:
    """Validate every row, then write all or nothing. The system actor may install a tree into
    an empty database; otherwise the actor needs regions.import_region and every row must lie
    within their scope."""
    summary = ImportSummary()
    if actor is not SYSTEM and not actor.has_perm("regions.import_region"):
        raise PermissionDenied(_("You do not have permission to import regions."))
    try:
        if data is None:
            data = Path(path).read_bytes()
        sheet = loader.read(data=data)
    except loader.SheetError as exc:
        _err(summary, exc.row, exc.column, exc.message)
        return summary
    summary.skipped = sheet.skipped
    summary.warnings = sheet.warnings
    summary.rows_total = len(sheet.rows)

    parsed: dict[str, dict] = {}
    for row, values in sheet.rows:
        try:
            code = codes.normalise(values.get("code", ""))
        except codes.RegionCodeError:
            _err(summary, row, "区划代码", _("区划代码 must be 12 digits (e.g. 370306001000)."))
            continue
        name = values.get("name", "")
        if not name:
            _err(summary, row, "名称", _("名称 is required."))
            continue
        parent = values.get("parent", "")
        if parent:
            try:
                parent = codes.normalise(parent)
            except codes.RegionCodeError:
                _err(summary, row, "上级区划代码", _("上级区划代码 must be 12 digits."))
                continue
        else:
            parent = codes.implied_parent(code)
        if code in parsed:
            _err(summary, row, "区划代码", _("区划代码 %(code)s appears twice in the file.") % {"code": code})
            continue
        if parent and (codes.level_of(parent) >= codes.level_of(code) or not codes.is_within(code, parent)):
            _err(
                summary,
                row,
                "上级区划代码",
                _("The parent must be a higher-level region whose code contains this one."),
            )
            continue
        if actor is not SYSTEM and not region_in_scope(actor, code):
            _err(summary, row, "区划代码", _("Region %(code)s is outside your scope.") % {"code": code})
            continue
        parsed[code] = {"row": row, "name": name[:100], "parent": parent}

    existing = {
        r.code: r
        for r in Region.objects.filter(
            code__in=list(parsed) + [p["parent"] for p in parsed.values() if p["parent"]]
        )
    }
    for item in parsed.values():
        parent = item["parent"]
        if parent and parent not in parsed and parent not in existing:
            _err(
                summary,
                item["row"],
                "上级区划代码",
                _("The parent region %(code)s does not exist.") % {"code": parent},
            )
    if summary.errors:
        summary.errors.sort(key=lambda e: e["row"] or 0)
        return summary

    to_create, to_update = [], []
    for code in sorted(parsed, key=lambda c: (codes.level_of(c), c)):
        item = parsed[code]
        current = existing.get(code)
        if current is None:
            to_create.append(
                Region(code=code, name=item["name"], level=codes.level_of(code), parent_id=item["parent"])
            )
        elif current.name != item["name"] or current.parent_id != item["parent"]:
            current.name, current.parent_id = item["name"], item["parent"]
            to_update.append(current)
        else:
            summary.unchanged += 1
    summary.created, summary.updated = len(to_create), len(to_update)
    if dry_run:
        return summary
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        # Parents first (sorted by level), in one statement per level.
        Region.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            Region.objects.bulk_update(to_update, ["name", "parent"], batch_size=1000)
        record_bulk(
            actor,
            Region,
            count=len(to_create) + len(to_update),
            action=Action.IMPORT,
            detail={
                "kind": "regions",
                "file_sha256": digest,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "codes_created": [r.code for r in to_create][:200],
                "codes_updated": [r.code for r in to_update][:200],
            },
        )
    summary.committed = True
    return summary


@transaction.atomic
def region_retire(*, actor, region: Region, successor: Region | None) -> Region:
    if actor is not SYSTEM and not actor.has_perm("regions.change_region"):
        raise PermissionDenied(_("You do not have permission to change regions."))
    before = {"active": region.active, "successor": region.successor_id}
    region.active = False
    region.successor = successor
    region.save(update_fields=["active", "successor", "updated_at"])
    record(
        actor,
        Action.UPDATE,
        region,
        changes={
            "active": [before["active"], False],
            "successor": [before["successor"], region.successor_id],
        },
    )
    return region
