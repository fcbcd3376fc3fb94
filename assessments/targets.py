"""Which target applies to a region in a year (DOMAIN.md §7).

A target applies from its year until a later year's target for the same indicator and region
supersedes it. A region without a target of its own in force inherits the nearest ancestor's
(its township's, county's, city's …), and the result says so (`inherited`, and the region it
came from). "Its own in force" means a target with year ≤ Y: a township whose own target starts
in 2022 still inherits the county's 2018 target in 2020.

The resolution is pure (no ORM): `load_targets` reads the targets for a set of indicators and
regions in one query into a mapping, and `resolve` / `resolve_many` work on that mapping — the
report computation resolves every (indicator, region) of a run from one load, and the targets
page resolves a region's years the same way.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from eldercare.regions import codes

# (year, value, source document, clause)
Entry = tuple[int, Decimal, str, str]
TargetsMap = Mapping[tuple[str, str], Sequence[Entry]]


@dataclass(frozen=True)
class Resolved:
    value: Decimal
    inherited: bool
    region_code: str  # where the target was set (the region itself unless inherited)
    year: int  # the year the target applies from
    source: str  # the document it came from (文号), "" when set by hand without one
    clause: str = ""


def ancestors_of(code: str) -> tuple[str, ...]:
    """The chain above a region by its code, nearest first (a village's township, county, …)."""
    out, parent = [], codes.implied_parent(code)
    while parent:
        out.append(parent)
        parent = codes.implied_parent(parent)
    return tuple(out)


def _own(entries: Sequence[Entry] | None, year: int) -> Entry | None:
    """The latest entry with year ≤ `year` (entries sorted by year, one per year)."""
    if not entries:
        return None
    i = bisect.bisect_right([e[0] for e in entries], year)
    return entries[i - 1] if i else None


def resolve(
    targets_map: TargetsMap,
    indicator_code: str,
    region_code: str,
    ancestors: Iterable[str],
    year: int,
    *,
    no_inherit: frozenset = frozenset(),
) -> Resolved | None:
    """The target for the region in `year`: its own latest with year ≤ Y, else the nearest
    ancestor's (inherited); None when no region on the chain has one in force. Indicators in
    `no_inherit` (the counts: a county's 4,200 beds is not each township's target) take the
    region's own target only."""
    chain = (region_code,) if indicator_code in no_inherit else (region_code, *ancestors)
    for i, code in enumerate(chain):
        hit = _own(targets_map.get((indicator_code, code)), year)
        if hit is not None:
            y, value, source, clause = hit
            return Resolved(value, i > 0, code, y, source or "", clause or "")
    return None


def resolve_many(
    targets_map: TargetsMap,
    regions: Iterable[tuple[str, tuple[str, ...]]],
    indicator_codes: Iterable[str],
    year: int,
    *,
    no_inherit: frozenset = frozenset(),
) -> dict[tuple[str, str], Resolved]:
    """`resolve` for every (indicator, region): {(indicator, region): Resolved}; pairs without
    a target are left out. Each (indicator, region) of the mapping is looked up once, however
    many descendants inherit from it."""
    indicators = list(indicator_codes)
    own: dict[tuple[str, str], Entry | None] = {}

    def own_of(key):
        if key not in own:
            own[key] = _own(targets_map.get(key), year)
        return own[key]

    out: dict[tuple[str, str], Resolved] = {}
    for region_code, ancestors in regions:
        chain = (region_code, *ancestors)
        for ind in indicators:
            for i, code in enumerate(chain[:1] if ind in no_inherit else chain):
                hit = own_of((ind, code))
                if hit is not None:
                    y, value, source, clause = hit
                    out[(ind, region_code)] = Resolved(value, i > 0, code, y, source or "", clause or "")
                    break
    return out


def not_inherited(indicators) -> frozenset:
    """The indicators whose targets are a region's own total (counts), from Indicator rows."""
    return frozenset(i.code for i in indicators if i.unit in ("count", "beds"))


def load_targets(indicator_codes: Iterable[str] | None, region_codes: Iterable[str] | None) -> dict:
    """{(indicator, region): [(year, value, source, clause), …] sorted by year} in one query
    (None for either argument: no restriction on it)."""
    from .models import Target

    qs = Target.objects.all()
    if indicator_codes is not None:
        qs = qs.filter(indicator_id__in=list(indicator_codes))
    if region_codes is not None:
        qs = qs.filter(region_id__in=list(region_codes))
    out: dict[tuple[str, str], list[Entry]] = {}
    for ind, region, year, value, source, clause in qs.order_by(
        "indicator_id", "region_id", "year"
    ).values_list("indicator_id", "region_id", "year", "value", "source_doc", "clause"):
        out.setdefault((ind, region), []).append((year, value, source, clause))
    return out
