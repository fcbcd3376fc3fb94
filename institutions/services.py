"""Writes to the registry: atomic, scoped, audited, effective-dated (DOMAIN.md §3).

A change carries the date it took effect in the real world. It splits the version in force on
that date and carries forward into later versions until one of them changed the same field
itself, so a closure on 15 December typed in on 5 January after a January bed change still
counts from 15 December, and the January row keeps its beds."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.regions.models import Region

from . import credit_code as cc
from . import enums, history
from .models import FACT_FIELDS, Institution, InstitutionVersion, versions_on

FAMILY_PERMISSION = {
    enums.Family.MEDICAL: "institutions.change_medical",
    enums.Family.ELDERCARE: "institutions.change_eldercare",
}


def _today() -> datetime.date:
    return timezone.localdate()


def _check_permission(actor, family: str, region_code: str, authority: str = "") -> None:
    """`authority`: the decision this write carries out (an approved filing, eldercare/workflow/
    effects.py) — the deciding officer is the audited actor and the decision stands in for the
    family permission; the region must still be in the officer's scope."""
    if actor is SYSTEM:
        return
    if not authority and not actor.has_perm(FAMILY_PERMISSION[family]):
        raise PermissionDenied(_("You do not have permission to maintain this kind of institution."))
    if not region_in_scope(actor, region_code):
        raise PermissionDenied(_("That region is outside your scope."))


# Foreign-key facts are handled by id (their attname), everything else by name.
_FK_FACTS = frozenset({"region", "run_by"})


def _attname(name: str) -> str:
    return name + "_id" if name in _FK_FACTS else name


def _facts_of(obj) -> dict:
    return {f: getattr(obj, _attname(f)) for f in FACT_FIELDS}


def _plain(v):
    return (
        v.isoformat()
        if isinstance(v, datetime.date)
        else (str(v) if v is not None and not isinstance(v, (bool, int, str)) else v)
    )


def _normalise_facts(changes: dict) -> dict:
    """Accept model instances or ids for the foreign keys; store ids under the attname key."""
    out = {}
    for key, value in changes.items():
        name = key[:-3] if key.endswith("_id") else key
        if name not in FACT_FIELDS:
            raise ValidationError(_("Unknown field: %(name)s") % {"name": key})
        if name in _FK_FACTS and value is not None and not isinstance(value, (str, int)):
            value = value.pk
        out[name] = value
    return out


def _validate(family: str, facts: dict) -> None:
    errors = {}
    t = facts.get("type")
    if t and enums.TYPE_FAMILY.get(t) != family:
        errors["type"] = _("The institution type does not belong to this family.")
    nursing, beds = facts.get("beds_nursing"), facts.get("beds_eldercare")
    if nursing is not None and beds is not None and nursing > beds:
        errors["beds_nursing"] = _("Nursing-type beds cannot exceed approved elder-care beds.")
    region = facts.get("region")
    if region and not Region.objects.filter(code=region).exists():
        errors["region"] = _("Unknown region code: %(code)s") % {"code": region}
    if errors:
        raise ValidationError(errors)


def _apply(target, facts: dict) -> None:
    for name, value in facts.items():
        setattr(target, _attname(name), value)


def _warning_codes(inst: Institution, table=None, contracted=None) -> str:
    from .selectors import _contract_fact, thresholds_for, warning_codes_for

    return warning_codes_for(
        inst.family,
        _facts_of(inst),
        run_by_id=inst.run_by_id,
        thresholds=thresholds_for(inst.region_id, table),
        has_active_contract=_contract_fact(inst.family, inst.pk, contracted),
    )


def _refresh_current(inst: Institution, today: datetime.date, *, only_if_changed: bool = False) -> None:
    """The institution row mirrors the version in force today (or the first, if all are future).
    After a write it always saves (updated_at is what an import's stale check compares, and a
    change to a later version must move it too); the nightly refresh saves only real changes."""
    versions = list(inst.versions.order_by("valid_from"))
    current = next(
        (
            v
            for v in reversed(versions)
            if v.valid_from <= today and (v.valid_to is None or v.valid_to > today)
        ),
        versions[0],
    )
    before = (_facts_of(inst), inst.warning_codes)
    _apply(inst, _facts_of(current))
    inst.warning_codes = _warning_codes(inst)
    if only_if_changed and (_facts_of(inst), inst.warning_codes) == before:
        return
    inst.save()


@transaction.atomic
def institution_create(
    *,
    actor,
    family: str,
    facts: dict,
    credit_code: str = "",
    effective: datetime.date | None = None,
    authority: str = "",
) -> Institution:
    facts = _normalise_facts(facts)
    for required in ("name", "type", "region"):
        if not facts.get(required):
            raise ValidationError({required: _("This field is required.")})
    _check_permission(actor, family, facts["region"], authority)
    _validate(family, facts)
    code_check = cc.validate(credit_code) if credit_code else None
    if code_check and code_check.error:
        raise ValidationError({"credit_code": code_check.error})
    if not credit_code and facts["type"] not in enums.CODELESS_TYPES:
        raise ValidationError(
            {"credit_code": _("A unified social credit code is required for this type of institution.")}
        )
    inst = Institution(
        family=family,
        credit_code=code_check.code if code_check else "",
        credit_code_warning=(code_check.warning or "") if code_check else "",
    )
    _apply(inst, facts)
    inst.full_clean(exclude=["portal_no", "run_by"])
    inst.save()
    inst.portal_no = f"JG{inst.pk:08d}"
    inst.warning_codes = _warning_codes(inst)
    inst.save(update_fields=["portal_no", "warning_codes"])
    start = effective or facts.get("opened_on") or _today()
    version = InstitutionVersion(
        institution=inst,
        valid_from=start,
        changed=sorted(facts),
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    _apply(version, _facts_of(inst))
    version.save()
    _touch_reports(inst.region_id, start)
    record(
        actor,
        Action.CREATE,
        inst,
        changes={k: [None, _plain(v)] for k, v in facts.items() if v not in (None, "")},
        detail={
            "effective": start.isoformat(),
            "family": family,
            "credit_code": inst.credit_code,
            **({"authority": authority} if authority else {}),
        },
    )
    return inst


def _touch_reports(region_code, day: datetime.date) -> None:
    """The reports of the years this change can alter get a debounced recompute (issue 7)."""
    from django.apps import apps

    if region_code and apps.is_installed("assessments"):
        from assessments.recompute import touch_region, years_from

        touch_region(getattr(region_code, "pk", region_code), years_from(day))


def _span(v: InstitutionVersion) -> history.Span:
    return history.Span(v.valid_from, v.valid_to, _facts_of(v), set(v.changed), id=v.pk)


@transaction.atomic
def institution_change(
    *,
    actor,
    institution: Institution,
    changes: dict,
    effective: datetime.date | None = None,
    authority: str = "",
) -> Institution:
    """Apply `changes` effective from `effective` (default today). Returns the institution; a
    change that alters nothing writes nothing. The history logic is institutions.history."""
    inst = Institution.objects.select_for_update().get(pk=institution.pk)
    changes = _normalise_facts(changes)
    _check_permission(actor, inst.family, inst.region_id, authority)
    if "region" in changes:
        _check_permission(actor, inst.family, changes["region"], authority)
    day = effective or _today()
    stored = {v.pk: v for v in inst.versions.select_for_update().order_by("valid_from")}
    spans = [_span(v) for v in stored.values()]
    covering = next((s for s in spans if s.covers(day)), spans[0])
    _validate(inst.family, {**covering.facts, **changes})
    outcome = history.apply_change(spans, changes, day)
    if not outcome.wrote:
        return inst  # re-applying what is already recorded writes nothing
    recorded_by = actor if getattr(actor, "pk", None) else None
    # Shorten the split version first: the new one may start where it used to end.
    for span in sorted((s for s in outcome.spans if s.dirty), key=lambda s: s.valid_to is None):
        version = stored[span.id]
        _apply(version, span.facts)
        version.valid_to = span.valid_to
        if set(version.changed) != span.changed:
            version.changed = sorted(span.changed)
            version.recorded_by = recorded_by
        version.save()
    for span in outcome.spans:
        if span.id is None:
            new = InstitutionVersion(
                institution=inst,
                valid_from=span.valid_from,
                valid_to=span.valid_to,
                changed=sorted(span.changed),
                recorded_by=recorded_by,
            )
            _apply(new, span.facts)
            new.save()
    _refresh_current(inst, _today())
    diff = {k: [_plain(old), _plain(new)] for k, (old, new) in outcome.diff.items()}
    detail = {"effective": day.isoformat(), **({"authority": authority} if authority else {})}
    record(actor, Action.UPDATE, inst, changes=diff, detail=detail)
    _touch_reports(inst.region_id, day)
    if "region" in outcome.diff:
        _touch_reports(outcome.diff["region"][0], day)
    if inst.family == enums.Family.MEDICAL and {"status", "opened_on"} & set(outcome.diff):
        # Whether its contracts are active: the status in force and the opening date
        # (contracts.selectors.active_contracts_on).
        _refresh_contract_homes(inst.pk)
    return inst


def _refresh_contract_homes(*medical_ids) -> None:
    """A medical party's closure or reopening decides whether its contracts are active: the
    homes it serves get their stored warnings recomputed."""
    from django.apps import apps

    if not medical_ids or not apps.is_installed("contracts"):
        return
    homes = Institution.objects.filter(contracts_as_eldercare__medical_id__in=medical_ids).distinct()
    refresh_warning_codes(homes)


def institution_set_status(
    *, actor, institution: Institution, status: str, effective: datetime.date
) -> Institution:
    """Close, suspend or reopen, with the date it took effect."""
    if status not in enums.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    return institution_change(
        actor=actor,
        institution=institution,
        changes={"status": status, "status_date": effective},
        effective=effective,
    )


def refresh_warning_codes(queryset=None) -> int:
    """Recompute the stored compliance warnings (after rule or threshold changes). Returns the
    number of institutions whose warnings changed; written with bulk_update and logged."""
    from eldercare.audit.services import record_bulk

    from .selectors import contracted_ids, threshold_table

    table = threshold_table()
    rows = list((queryset if queryset is not None else Institution.objects.all()).select_related("run_by"))
    contracted = contracted_ids([i.pk for i in rows] if queryset is not None else None)
    now = timezone.now()
    changed = []
    for inst in rows:
        codes = _warning_codes(inst, table, contracted)
        if codes != inst.warning_codes:
            # updated_at moves too: a pending import validated before this must be re-validated
            # rather than write back warnings judged under the old thresholds.
            inst.warning_codes, inst.updated_at = codes, now
            changed.append(inst)
    Institution.objects.bulk_update(changed, ["warning_codes", "updated_at"], batch_size=1000)
    if changed:
        record_bulk(SYSTEM, Institution, count=len(changed), detail={"what": "refresh_warning_codes"})
    return len(changed)


def refresh_current_copies(*, today: datetime.date | None = None, window_days: int = 7) -> int:
    """Bring the current copy up to date for institutions whose change dated in the future has
    now taken effect (a version starting in the last `window_days`, so a missed night is caught
    up). The nightly beat task runs it; returns how many current copies changed."""
    from eldercare.audit.services import record_bulk

    today = today or _today()
    start = today - datetime.timedelta(days=window_days)
    ids = (
        InstitutionVersion.objects.filter(valid_from__gt=start, valid_from__lte=today)
        .values_list("institution_id", flat=True)
        .distinct()
    )
    changed = 0
    # Medical parties whose operating on today differs from yesterday: their contracts' homes
    # are re-judged (a small home's contract counts only while its medical party operates —
    # contracts.selectors.active_contracts_on: the status in force and the opening date).
    medical = set(
        versions_on(today)
        .filter(institution__family=enums.Family.MEDICAL, opened_on__gt=start, opened_on__lte=today)
        .values_list("institution_id", flat=True)
    )
    for inst in Institution.objects.filter(pk__in=list(ids)):
        before = _facts_of(inst)
        with transaction.atomic():
            locked = Institution.objects.select_for_update().get(pk=inst.pk)
            _refresh_current(locked, today, only_if_changed=True)
        if _facts_of(locked) != before:
            changed += 1
            if locked.family == enums.Family.MEDICAL and locked.status != before["status"]:
                medical.add(locked.pk)
    if changed:
        record_bulk(SYSTEM, Institution, count=changed, detail={"what": "refresh_current_copies"})
    _refresh_contract_homes(*sorted(medical))
    return changed
