"""Writes of targets and the catalogue's weights (DOMAIN.md §7).

One road: the targets pages, the API and the admin's template application call these functions,
each with a keyword-only `actor`, atomic and audited.

- `template_apply` writes a region's `Target`s from a target template (one per seed document):
  every item becomes the region's target for that indicator and year, citing the template's
  文号 and the item's clause. Idempotent — applying again changes nothing — and it says what it
  created, updated (a target set by hand or by another template for the same year is replaced;
  the preview shows which) and left unchanged. `template_plan` is the same computation without
  writing (the preview).
- `target_set` / `target_delete`: a target by hand (count targets like 002 四(一)'s "one more
  hospice service by 2025" have no fixed number in the document, so staff set them here).
- `indicator_weight_set`: the weight of an indicator in the composite scorecard (000 五(三)).

Who: targets are the health bureau's (`assessments.add_target` / `change_target` /
`delete_target`) within its region scope; weights need `assessments.change_indicator`.
A changed target changes the reports of its year and every later one up to this year, for the
region and everything under it: `assessments.recompute.touch_region` queues the debounced
recompute after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import diff, record, snapshot

from .models import Indicator, Target, TargetTemplate, Unit

AUDITED = ("indicator", "region", "year", "value", "clause", "source_doc", "template_item")
MIN_YEAR, MAX_YEAR = 2000, 2100


# -- checks ---------------------------------------------------------------------------------------
def _require(actor, perms: tuple[str, ...], message: str) -> None:
    if actor is None:
        raise PermissionDenied("须指明操作人。")
    if actor is SYSTEM:
        return
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(message)
    if not actor.has_perms(perms):
        raise PermissionDenied(message)


def _check_region(actor, region) -> None:
    if actor is not SYSTEM and not region_in_scope(actor, region):
        raise PermissionDenied("该区划不在您的管辖范围内。")


def clean_value(indicator: Indicator, value) -> Decimal:
    """The target value as stored: a rate or score between 0 and 100 with at most 2 decimals, a
    count (institutions, beds) a whole number."""
    try:
        v = Decimal(str(value).strip().replace(",", "").rstrip("%"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"value": "目标值应为数字。"}) from None
    if not v.is_finite():
        raise ValidationError({"value": "目标值应为数字。"})
    if v < 0:
        raise ValidationError({"value": "目标值不能为负数。"})
    if indicator.unit in (Unit.COUNT, Unit.BEDS):
        if v != v.to_integral_value():
            raise ValidationError({"value": f"“{indicator.name}”是计数指标，目标值应为整数。"})
        if v >= Decimal("10") ** 10:
            raise ValidationError({"value": "目标值过大。"})
        return v.quantize(Decimal("0.01"))  # as stored (the audit shows what the database holds)
    if v > 100:
        raise ValidationError({"value": f"“{indicator.name}”的目标值应在 0 到 100 之间。"})
    if v != v.quantize(Decimal("0.01")):
        raise ValidationError({"value": "目标值最多保留两位小数。"})
    return v.quantize(Decimal("0.01"))


def clean_year(year) -> int:
    try:
        y = int(year)
    except (TypeError, ValueError):
        raise ValidationError({"year": "年度应为四位数字。"}) from None
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise ValidationError({"year": f"年度应在 {MIN_YEAR} 到 {MAX_YEAR} 之间。"})
    return y


def _touch(region_code: str, from_year: int) -> None:
    """The reports of `from_year` and every later year up to this one, for the region and all
    under it (a target carries forward and is inherited)."""
    from . import recompute

    this_year = timezone.localdate().year
    years = list(range(max(from_year, this_year - 30), this_year + 1))
    if years:
        recompute.touch_region(region_code, years)


def _values(target: Target) -> dict:
    return snapshot(target, AUDITED)


# -- templates ------------------------------------------------------------------------------------
@dataclass
class PlanRow:
    item: object  # TargetTemplateItem
    target: Target | None  # the region's current target for the item's indicator and year
    action: str  # "create" | "update" | "unchanged"
    changes: dict = field(default_factory=dict)  # {field: [old, new]} for an update


@dataclass
class ApplyResult:
    created: int
    updated: int
    unchanged: int
    rows: list[PlanRow]

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _wanted(template: TargetTemplate, item) -> dict:
    return {
        "value": item.value,
        "clause": item.clause,
        "source_doc": template.doc_no[:200],
        "template_item": item.pk,
    }


def template_plan(template: TargetTemplate, region, *, lock: bool = False) -> list[PlanRow]:
    """What applying `template` to `region` would do, item by item (no write, no check)."""
    items = list(template.items.select_related("indicator").order_by("indicator__order", "year"))
    qs = Target.objects.filter(region_id=region.code, indicator_id__in={i.indicator_id for i in items})
    if lock:
        qs = qs.select_for_update()
    existing = {(t.indicator_id, t.year): t for t in qs}
    rows = []
    for item in items:
        current = existing.get((item.indicator_id, item.year))
        if current is None:
            rows.append(PlanRow(item, None, "create"))
            continue
        wanted = _wanted(template, item)
        have = {
            "value": current.value,
            "clause": current.clause,
            "source_doc": current.source_doc,
            "template_item": current.template_item_id,
        }
        changes = {k: [have[k], wanted[k]] for k in wanted if have[k] != wanted[k]}
        rows.append(PlanRow(item, current, "update" if changes else "unchanged", changes))
    return rows


def template_preview(*, actor, template: TargetTemplate, region) -> list[PlanRow]:
    _require(actor, ("assessments.view_target",), "您没有查看指标目标的权限。")
    _check_region(actor, region)
    return template_plan(template, region)


@transaction.atomic
def template_apply(*, actor, template: TargetTemplate, region) -> ApplyResult:
    """Write the region's targets from the template's items; returns the counts (and the rows)."""
    _require(
        actor,
        ("assessments.add_target", "assessments.change_target"),
        "只有卫健部门可以把目标模板应用到区划。",
    )
    _check_region(actor, region)
    rows = template_plan(template, region, lock=True)
    if not rows:
        raise ValidationError("该目标模板没有条目，无可应用的目标。")
    user = actor if getattr(actor, "pk", None) else None
    counts = {"create": 0, "update": 0, "unchanged": 0}
    touched = []
    for row in rows:
        counts[row.action] += 1
        if row.action == "unchanged":
            continue
        wanted = _wanted(template, row.item)
        if row.action == "create":
            target = Target.objects.create(
                indicator_id=row.item.indicator_id,
                region_id=region.code,
                year=row.item.year,
                value=wanted["value"],
                clause=wanted["clause"],
                source_doc=wanted["source_doc"],
                template_item=row.item,
                set_by=user,
            )
            record(
                actor,
                Action.CREATE,
                target,
                changes=diff({}, _values(target)),
                detail={"via": "template", "template": template.doc_no},
            )
            row.target = target
        else:
            target = row.target
            before = _values(target)
            target.value = wanted["value"]
            target.clause = wanted["clause"]
            target.source_doc = wanted["source_doc"]
            target.template_item = row.item
            target.set_by = user
            target.save(update_fields=["value", "clause", "source_doc", "template_item", "set_by", "set_at"])
            record(
                actor,
                Action.UPDATE,
                target,
                changes=diff(before, _values(target)),
                detail={"via": "template", "template": template.doc_no},
            )
        touched.append(row.item.year)
    result = ApplyResult(counts["create"], counts["update"], counts["unchanged"], rows)
    record(
        actor,
        Action.BULK,
        template,
        detail={"applied_to": region.code, **result.as_dict()},
    )
    if touched:
        _touch(region.code, min(touched))
    return result


# -- targets by hand --------------------------------------------------------------------------------
@transaction.atomic
def target_set(
    *, actor, indicator: Indicator, region, year, value, clause: str = "", source_doc: str = ""
) -> tuple[Target, bool]:
    """The region's target for `indicator` from `year` (created, or the existing one for that year
    changed). Returns (target, created). A hand-set value no longer stands for a template item."""
    _require(
        actor,
        ("assessments.add_target", "assessments.change_target"),
        "只有卫健部门可以设定指标目标。",
    )
    _check_region(actor, region)
    y = clean_year(year)
    v = clean_value(indicator, value)
    clause = (clause or "").strip()
    source_doc = (source_doc or "").strip()[:200]
    user = actor if getattr(actor, "pk", None) else None
    target = (
        Target.objects.select_for_update().filter(indicator=indicator, region_id=region.code, year=y).first()
    )
    if target is None:
        target = Target.objects.create(
            indicator=indicator,
            region_id=region.code,
            year=y,
            value=v,
            clause=clause,
            source_doc=source_doc,
            set_by=user,
        )
        record(actor, Action.CREATE, target, changes=diff({}, _values(target)), detail={"via": "hand"})
        _touch(region.code, y)
        return target, True
    before = _values(target)
    target.value, target.clause, target.source_doc = v, clause, source_doc
    if before != _values(target):
        target.template_item = None
        target.set_by = user
        target.save(update_fields=["value", "clause", "source_doc", "template_item", "set_by", "set_at"])
        record(actor, Action.UPDATE, target, changes=diff(before, _values(target)), detail={"via": "hand"})
        _touch(region.code, y)
    return target, False


@transaction.atomic
def target_delete(*, actor, target: Target) -> None:
    """Remove a target: the earlier year's target (or the parent's) applies again."""
    _require(actor, ("assessments.delete_target",), "只有卫健部门可以删除指标目标。")
    _check_region(actor, target.region_id)
    target = Target.objects.select_for_update().get(pk=target.pk)
    values = _values(target)
    region_code, year = target.region_id, target.year
    record(actor, Action.DELETE, target, changes={k: [v, None] for k, v in values.items()})
    target.delete()
    _touch(region_code, year)


# -- the catalogue ---------------------------------------------------------------------------------
@transaction.atomic
def indicator_weight_set(*, actor, indicator: Indicator, weight) -> Indicator:
    """The indicator's weight in the composite scorecard (≥ 0; 0 leaves it out). Report rows
    store no composite score — the scorecard is derived from them with the current weights — so
    no recompute is queued."""
    _require(actor, ("assessments.change_indicator",), "您没有修改指标权重的权限。")
    try:
        w = Decimal(str(weight).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"weight": "权重应为数字。"}) from None
    if not w.is_finite() or w < 0 or w >= 10000:
        raise ValidationError({"weight": "权重应为 0 到 9999.99 之间的数。"})
    if w != w.quantize(Decimal("0.01")):
        raise ValidationError({"weight": "权重最多保留两位小数。"})
    ind = Indicator.objects.select_for_update().get(pk=indicator.pk)
    before = snapshot(ind, ["weight"])
    ind.weight = w.quantize(Decimal("0.01"))
    if snapshot(ind, ["weight"]) != before:
        ind.save(update_fields=["weight"])
        record(actor, Action.UPDATE, ind, changes=diff(before, snapshot(ind, ["weight"])))
    return ind
