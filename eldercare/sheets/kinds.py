"""The sheet kinds the engine knows, and what a kind must provide.

A kind is an object with:
- `name`, `label`, `columns` (eldercare.sheets.headers.Column list: the template's headers),
  `example` (the template's example row), `revertible` (whether `revert` can ever succeed);
- `check_can_import(actor)` raising PermissionDenied, and `staged_for(actor)` (True: a county
  user must accept the batch — CONTRACT.md "Who may import what");
- `validate(*, actor, data, as_of, progress) -> Validation` (no writes);
- `apply(*, actor, batch, ops, now, data_path) -> undo dict` (inside the engine's transaction;
  raises engine.StaleBatch when the stored plan no longer fits the registry);
- `revert(*, actor, batch, undo)` (raises ValidationError when it cannot);
- optionally `preview_heading` (the preview's name column) and `describer(user, ops)` returning
  an object with `changes(op) -> [{"field", "old"?, "new"}]` and `link(op) -> url | None`, for
  the preview of one page of planned rows (the institutions kind has the page's own describer);
- optionally `rules` (Chinese sentences for the upload page and the template's 填写说明, when
  templatefiles.kind_rules has none for the kind), `choices` ({column key: labels} for the
  template's drop-downs) and `redact_rows(rows) -> rows` (personal data masked in the annotated
  error sheet: the residents kind masks the ID numbers);
- optionally, for personal data: `redact_text(text) -> text` (the uploaded file's name as
  stored), `redact_plan(ops) -> ops` (the stored plan of a batch that can no longer be
  committed: committed, returned, abandoned, invalid, failed) and `upload_ttl` (a timedelta: an
  uncommitted upload of the kind is abandoned and its file deleted once it is older —
  engine.cleanup_short_lived_uploads, every 10 minutes).
Kinds are listed here by dotted path and imported on first use, so a domain app plugs in a kind
without the platform importing it at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

KINDS = {
    "regions": "eldercare.regions.sheet_kind:RegionsKind",
    "institutions": "institutions.sheet_kind:InstitutionsKind",
    "contracts": "contracts.sheet_kind:ContractsKind",
    "visits": "contracts.sheet_kind:VisitsKind",
    "occupancy": "subsidies.sheet_kinds:OccupancyKind",
    "residents": "subsidies.sheet_kinds:ResidentsKind",
    "township_reports": "assessments.sheet_kind:TownshipReportsKind",
}
ALL_KINDS = ("regions", "institutions", "contracts", "occupancy", "township_reports", "residents", "visits")

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"


@dataclass
class Validation:
    ops: list[dict] = field(default_factory=list)  # per valid row: {"row", "op", ...}
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    rows_total: int = 0
    skipped: int = 0
    timings: dict = field(default_factory=dict)
    totals: tuple[int, int, int] | None = None  # (created, updated, unchanged) when ops are not listed

    def counts(self) -> tuple[int, int, int]:
        if self.totals is not None:
            return self.totals
        tally = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
        for op in self.ops:
            if op["op"] in tally:
                tally[op["op"]] += 1
        return tally[CREATE], tally[UPDATE], tally[UNCHANGED]


def undo_parts(undo: dict) -> tuple[list[int], dict[int, dict], dict[int, str]]:
    """A kind's usual undo record read back: the ids it created, {id: the values before} of the
    rows it updated, and {id: the stamp it left} (what `revert` compares to refuse when someone
    changed a row since)."""
    created = [int(pk) for pk in undo.get("created", [])]
    updated = {int(pk): before for pk, before in undo.get("updated", {}).items()}
    stamps = {int(pk): stamp for pk, stamp in undo.get("stamps", {}).items()}
    return created, updated, stamps


def record_import(
    actor,
    model,
    *,
    kind: str,
    batch,
    undo: dict,
    writes: list,
    extra: dict | None = None,
    changes: bool = True,
):
    """The one audit record of a committed import (SECURITY.md: bulk writes are logged
    explicitly): what kind, which batch and file, how many rows created and updated, the first
    200 ids created and — unless `changes` is False (personal data) — the first 200 updates'
    changes; `extra` adds keys."""
    from eldercare.audit.models import Action
    from eldercare.audit.services import record_bulk

    return record_bulk(
        actor,
        model,
        count=len(writes),
        action=Action.IMPORT,
        detail={
            "kind": kind,
            "batch": batch.pk,
            "file_sha256": batch.file_sha256,
            "created": len(undo["created"]),
            "updated": len(undo["updated"]),
            "ids_created": undo["created"][:200],
            **(
                {"changes": {str(op["id"]): op.get("diff", {}) for op in writes[:200] if op["op"] == UPDATE}}
                if changes
                else {}
            ),
            **(extra or {}),
        },
    )


_loaded: dict[str, object] = {}


def available() -> list[str]:
    return list(KINDS)


def get(name: str):
    if name not in KINDS:
        raise KeyError(name)
    if name not in _loaded:
        module, _, attr = KINDS[name].partition(":")
        _loaded[name] = getattr(import_module(module), attr)()
    return _loaded[name]
