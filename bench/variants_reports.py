"""Proposed changes to assessments/compute.py, measured by `report_bench.py --variants NAME,…`.

Each variant is a context manager that monkeypatches `assessments.compute` in this process
(copies of the portal's functions with the change, nothing in the portal is edited) and undoes
it on exit. `fact_index` creates an index in the scratch database for the duration and drops it
(the proposal is a migration; none is added). The bench checks that a variant's run gives the
same facts (fingerprint) and the same report rows (digest incl. ranks) as the unmodified run.

  rank_unnest     _rank: the same Python ranking, written with ONE
                  `UPDATE … FROM unnest(ids, ranks)` instead of bulk_update (a CASE of 2,000
                  WHENs per batch, ~15 batches at province scale)
  rank_sql        _rank as one UPDATE with RANK() OVER (PARTITION BY indicator, parent ORDER BY
                  value in the indicator's direction) — no rows through Python at all
  slice_one_agg   compute_slice: one grouped aggregate per slice (by township), the county's
                  figures summed from it in Python, instead of a second aggregate
  fact_index      CREATE INDEX (run_id, township_code varchar_pattern_ops) ON reportfact: a
                  slice reads its county's facts instead of all the run's facts
  fact_index_swap fact_index, and ReportFact's single-column indexes on institution_id (unused)
                  and run_id (redundant: every other index starts with run_id) dropped
  materialise_lean  materialise: `.order_by()` on each formula's queryset (InstitutionVersion's
                  Meta.ordering adds a Sort to every INSERT … SELECT) and `SET LOCAL jit = off`
                  (the planner's estimates pass jit_above_cost; compiling costs ~0.1 s a statement)
  rank_at_insert  the townships' ranks set in compute_slice before bulk_create (their siblings
                  are all in the slice); finish ranks only the county rows and above (~1,500
                  rows at province scale instead of ~30,000), with one UPDATE … FROM unnest
  recommended     fact_index + rank_at_insert
  all             rank_unnest + slice_one_agg + fact_index + materialise_lean
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

from django.db import connection


@contextlib.contextmanager
def patched(**factories):
    """Replace compute.NAME by factory(current compute.NAME) for the duration."""
    from assessments import compute

    saved = {name: getattr(compute, name) for name in factories}
    for name, factory in factories.items():
        setattr(compute, name, factory(saved[name]))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(compute, name, fn)


# Each factory wraps the portal's current function, so a variant follows the lead's edits of
# compute.py; only what the proposal changes is replaced.


# --- _rank -----------------------------------------------------------------------------
def _unnest_bulk_update(objs, fields, batch_size=None):
    """ReportRow.objects.bulk_update(objs, ["rank"]) as ONE UPDATE … FROM unnest(ids, ranks)."""
    assert list(fields) == ["rank"], fields
    ids = [o.pk for o in objs]
    ranks = [o.rank for o in objs]
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE assessments_reportrow r SET rank = v.rank "
            "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, rank) WHERE r.id = v.id",
            [ids, ranks],
        )
    return len(ids)


def rank_unnest(original):
    """compute._rank unchanged (its Python ranking), its bulk_update replaced by one UPDATE."""
    from assessments.models import ReportRow

    def _rank(run, indicators):
        manager = ReportRow.objects  # the same manager instance on every access
        manager.bulk_update = _unnest_bulk_update
        try:
            return original(run, indicators)
        finally:
            del manager.bulk_update

    return _rank


def rank_sql(original):
    """compute._rank in the database: RANK() is competition ranking (ties share, next skips);
    the root of a rooted run is not ranked (as compute._rank)."""

    def _rank(run, indicators):
        from assessments import evaluate as ev

        down = [i.code for i in indicators if i.direction == "down"]
        with connection.cursor() as cur:
            cur.execute(
                """
                UPDATE assessments_reportrow r SET rank = x.rnk
                FROM (
                    SELECT id, RANK() OVER (
                        PARTITION BY indicator_id, parent_code
                        ORDER BY CASE WHEN indicator_id = ANY(%s) THEN value ELSE -value END
                    ) AS rnk
                    FROM assessments_reportrow
                    WHERE run_id = %s AND status <> %s AND value IS NOT NULL AND region_id <> %s
                ) x
                WHERE r.id = x.id
                """,
                [down, run.pk, ev.INSUFFICIENT, run.root_id or ""],
            )

    return _rank


# --- ranks written with the rows -----------------------------------------------------------
def _assign_ranks(rows, indicators, root_id) -> None:
    """compute._rank's rule on unsaved rows: per (indicator, parent) among rows with a value
    and not insufficient_data, the root of a rooted run left out; competition ranks."""
    from assessments import evaluate as ev

    direction = {i.code: i.direction for i in indicators}
    groups = defaultdict(dict)
    for i, r in enumerate(rows):
        if r.status != ev.INSUFFICIENT and r.value is not None and r.region_id != root_id:
            groups[(r.indicator_id, r.parent_code)][i] = r.value
    for (ind, _parent), values in groups.items():
        for i, rank in ev.competition_ranks(values, descending=direction.get(ind) != "down").items():
            rows[i].rank = rank


def slice_ranks(original):
    """compute.compute_slice unchanged, except that the townships' ranks (their siblings are all
    in this slice: the county's townships) are set on the rows before bulk_create."""
    from assessments import compute
    from eldercare.regions import codes

    def compute_slice(run, county_code):
        rows_fn = compute._rows

        def _rows(run, indicators, regions, *args, **kwargs):
            rows = rows_fn(run, indicators, regions, *args, **kwargs)
            _assign_ranks([r for r in rows if r.level == codes.TOWNSHIP], indicators, run.root_id)
            return rows

        compute._rows = _rows
        try:
            return original(run, county_code)
        finally:
            compute._rows = rows_fn

    return compute_slice


def rank_upper(original):
    """finish's _rank for what the slices cannot rank: the counties (siblings across slices)
    and the levels above — ~1,500 rows at province scale instead of ~30,000 — written with one
    UPDATE … FROM unnest."""

    def _rank(run, indicators):
        from assessments import evaluate as ev
        from assessments.models import ReportRow
        from eldercare.regions import codes

        rows = list(
            ReportRow.objects.filter(run=run, level__lt=codes.TOWNSHIP)
            .exclude(status=ev.INSUFFICIENT)
            .exclude(value__isnull=True)
            .only("pk", "indicator_id", "parent_code", "value", "status", "region_id")
        )
        _assign_ranks(rows, indicators, run.root_id)
        _unnest_bulk_update([r for r in rows if r.rank is not None], ["rank"])

    return _rank


# --- compute_slice with one aggregate ----------------------------------------------------
def slice_one_agg(original):
    """compute.compute_slice unchanged, except that its second aggregate (the county as one
    group) is summed in Python from the first (per township) instead of a second GROUP BY."""
    from assessments import compute

    def compute_slice(run, county_code):
        aggregate = compute._aggregate
        cache = {}

        def _aggregate(run, *, prefix, length):
            if length is not None:
                cache[prefix] = out = aggregate(run, prefix=prefix, length=length)
                return out
            if prefix not in cache:
                return aggregate(run, prefix=prefix, length=length)
            whole = {}
            for (ind, _key), (num, den, present, population, changed) in cache[prefix].items():
                s_num, s_den, s_present, s_pop, s_changed = whole.get(
                    (ind, prefix), (None, None, 0, 0, False)
                )
                whole[(ind, prefix)] = (
                    s_num if num is None else (num if s_num is None else s_num + num),
                    s_den if den is None else (den if s_den is None else s_den + den),
                    s_present + present,
                    s_pop + population,
                    s_changed or changed,
                )
            return whole

        compute._aggregate = _aggregate
        try:
            return original(run, county_code)
        finally:
            compute._aggregate = aggregate

    return compute_slice


# --- materialise without the Sort and without JIT ---------------------------------------
def materialise_lean(original):
    """compute.materialise with `.order_by()` on each formula's queryset and JIT off."""
    from assessments import formulas

    def materialise(run):
        saved = dict(formulas.FORMULAS)
        for name, fn in saved.items():
            formulas.FORMULAS[name] = lambda day, _fn=fn: _fn(day).order_by()
        with connection.cursor() as cur:
            cur.execute("SET jit = off")  # the proposal: SET LOCAL jit = off inside materialise
        try:
            return original(run)
        finally:
            formulas.FORMULAS.update(saved)
            with connection.cursor() as cur:
                cur.execute("RESET jit")

    return materialise


# --- the index (a migration proposal), present for the duration ---------------------------
INDEX = "bench_report_fact_township"


@contextlib.contextmanager
def fact_index():
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON assessments_reportfact (run_id, township_code varchar_pattern_ops)"
        )
        cur.execute("ANALYZE assessments_reportfact")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {INDEX}")


@contextlib.contextmanager
def fact_index_swap():
    """fact_index, and the two single-column indexes of ReportFact dropped for the duration:
    institution_id (no query filters facts by institution) and run_id (every index on the
    table now starts with run_id). Recreated from their definitions on exit."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'assessments_reportfact' "
            "AND indexdef ~ '\\((institution_id|run_id)\\)$'"
        )
        single = cur.fetchall()
    assert len(single) == 2, single
    with fact_index():
        with connection.cursor() as cur:
            for name, _definition in single:
                cur.execute(f'DROP INDEX "{name}"')
        try:
            yield
        finally:
            with connection.cursor() as cur:
                for _name, definition in single:
                    cur.execute(definition)


# name → ({compute function: factory}, whether the index is created)
VARIANTS = {
    "rank_unnest": ({"_rank": rank_unnest}, False),
    "rank_sql": ({"_rank": rank_sql}, False),
    "slice_one_agg": ({"compute_slice": slice_one_agg}, False),
    "fact_index": ({}, True),
    "fact_index_one_agg": ({"compute_slice": slice_one_agg}, True),
    "fact_index_swap": ({}, "swap"),
    "materialise_lean": ({"materialise": materialise_lean}, False),
    "rank_at_insert": ({"compute_slice": slice_ranks, "_rank": rank_upper}, False),
    # the proposal: the index + ranks written with the rows (the others gave no measurable gain)
    "recommended": ({"compute_slice": slice_ranks, "_rank": rank_upper}, True),
    "all": ({"_rank": rank_unnest, "compute_slice": slice_one_agg, "materialise": materialise_lean}, True),
}


@contextlib.contextmanager
def variant(name: str, *, index: bool = True):
    """Install variant `name` in this process (index=False: leave the database alone, e.g. in a
    worker whose parent created the index)."""
    functions, needs_index = VARIANTS[name]
    with contextlib.ExitStack() as stack:
        if needs_index == "swap" and index:
            stack.enter_context(fact_index_swap())
        elif needs_index and index:
            stack.enter_context(fact_index())
        stack.enter_context(patched(**functions))
        yield
