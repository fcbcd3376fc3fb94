"""The effective-dated history as pure data (docs/adr/0007-effective-dated-registry.md).

One function decides what a change effective on a day does to an institution's versions; the
single-record service and the spreadsheet engine's set-based path both call it, so a row in a
sheet and a form on a page produce the same history. No ORM here: versions are `Span`s, facts
are plain dicts keyed by fact name (foreign keys by id)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


@dataclass
class Span:
    """One version: `facts` valid over [valid_from, valid_to); valid_to None = still in force."""

    valid_from: datetime.date
    valid_to: datetime.date | None
    facts: dict
    changed: set = field(default_factory=set)
    id: int | None = None  # None: not stored yet
    dirty: bool = False  # stored, and this change altered it

    def covers(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or self.valid_to > day)


@dataclass
class Outcome:
    spans: list[Span]  # all versions after the change, in order
    diff: dict  # {field: [old, new]} as seen on the effective day
    wrote: bool  # False: the change was already recorded; nothing to write


def _differs_later(later: list[Span], changes: dict) -> bool:
    open_fields = set(changes)
    for span in later:
        open_fields -= span.changed
        if any(span.facts[k] != changes[k] for k in open_fields):
            return True
    return False


def apply_change(spans: list[Span], changes: dict, day: datetime.date) -> Outcome:
    """Apply `changes` effective from `day` to `spans` (sorted by valid_from, at least one).

    The version covering `day` is edited when it starts that day, else split at `day`; a day
    before the first version adds a version in front of it (a late-entered opening). The change
    is then carried forward into later versions until one of them changed the same field itself,
    so a late-entered closure does not undo a later bed change. Re-applying what is recorded
    writes nothing. Only the fields that really differ on `day` count as this version's change."""
    covering = next((s for s in spans if s.covers(day)), None) or spans[0]
    base = covering.facts
    diff = {k: [base[k], v] for k, v in changes.items() if base[k] != v}
    later = [s for s in spans if s.valid_from > day]
    if not diff and not _differs_later(later, changes):
        return Outcome(spans, {}, False)
    if diff:
        changes = {k: changes[k] for k in diff}
    out = list(spans)
    if covering.valid_from == day:
        covering.facts = {**covering.facts, **changes}
        covering.changed = covering.changed | set(changes)
        covering.dirty = True
    elif covering.valid_from < day:
        new = Span(day, covering.valid_to, {**base, **changes}, set(changes))
        covering.valid_to = day
        covering.dirty = True
        out.insert(out.index(covering) + 1, new)
    else:  # before the first version
        out.insert(0, Span(day, covering.valid_from, {**base, **changes}, set(changes)))
    open_fields = set(changes)
    for span in later:
        open_fields -= span.changed
        if not open_fields:
            break
        span.facts = {**span.facts, **{k: changes[k] for k in open_fields}}
        span.dirty = True
    return Outcome(out, diff, True)


def current_span(spans: list[Span], today: datetime.date) -> Span:
    """The version in force today, or the first when all lie in the future."""
    return next((s for s in reversed(spans) if s.covers(today)), spans[0])
