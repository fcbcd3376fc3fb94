"""Target-attainment computation (issue 7, ADR 0013).

A run (`ReportRun`) is one version of the report for a year over a root region:

1. `materialise(run)` — in one REPEATABLE READ transaction (one snapshot: the run's data
   cut-off, `data_as_of`), every indicator's population on D is copied into `ReportFact` with
   one `INSERT … SELECT` per computed indicator (formulas.py over the effective-dated
   registry) plus the accepted township reports; the inputs' fingerprint is taken there.
   Every later step reads only these facts, so a run split into many tasks is one picture.
2. `compute_slice(run, county)` — per county (the unit fanned out to Celery): database
   aggregates of the facts per township and for the county, evaluated against the targets.
3. `finish(run)` — the levels above county (when the root is above county), ranks among
   siblings, then the run is marked complete: readers switch to it only now, the previous
   version is served until then.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import time
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Substr
from django.utils import timezone

from eldercare.core import dataversion
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import evaluate as ev
from .formulas import FORMULAS
from .models import (
    Indicator,
    ReportFact,
    ReportRow,
    ReportRun,
    ReportSlice,
    RunStatus,
    Source,
    TownshipReport,
)

log = logging.getLogger(__name__)

FIRST_YEAR = 2000  # the earliest year a report can be asked for
KEEP_VERSIONS = 3  # complete versions kept per (year, root)


class ComputeError(Exception):
    pass


def evaluation_day(year: int, today: datetime.date | None = None) -> datetime.date:
    """D for year Y: 31 December, today for the current year (DOMAIN.md §7)."""
    today = today or timezone.localdate()
    if year < FIRST_YEAR:
        raise ComputeError(f"年度应在 {FIRST_YEAR} 年至今之间。")
    if year > today.year:
        raise ComputeError(f"{year} 年尚未开始，无法计算。")
    return today if year == today.year else datetime.date(year, 12, 31)


def _prefix(run: ReportRun) -> str:
    return codes.prefix_of(run.root_id) if run.root_id else ""


def _indicators():
    return list(Indicator.objects.filter(active=True).order_by("order", "code"))


FACT_COLUMNS = "run_id, indicator_code, township_code, institution_id, name, num, den, missing, changed"


def materialise(run: ReportRun) -> None:
    day = run.evaluated_on
    prefix = _prefix(run)
    table = ReportFact._meta.db_table
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # One snapshot for every statement below (the run's data cut-off). Inside a caller's
        # transaction (tests) the caller's isolation applies.
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        data_as_of = timezone.now()
        ReportFact.objects.filter(run=run).delete()
        indicators = _indicators()
        with connection.cursor() as cur:
            for ind in indicators:
                if ind.source != Source.COMPUTED:
                    continue
                formula = FORMULAS.get(ind.formula)
                if formula is None:
                    raise ComputeError(f"指标 {ind.code} 的计算公式 {ind.formula!r} 不存在。")
                qs = formula(day)
                if prefix:
                    qs = qs.filter(region__code__startswith=prefix)
                sql, params = qs.query.sql_with_params()
                cur.execute(
                    f"INSERT INTO {table} ({FACT_COLUMNS}) SELECT %s, %s, s.*, FALSE FROM ({sql}) s",  # noqa: S608  # nosec B608 - table/columns are constants, values are parameters
                    [run.pk, ind.code, *params],
                )
        _reported_facts(run, [i for i in indicators if i.source == Source.REPORTED], prefix)
        fingerprint, count = _fingerprint(run)
        ReportRun.objects.filter(pk=run.pk).update(
            data_as_of=data_as_of, fingerprint=fingerprint, facts_count=count
        )
    run.data_as_of, run.fingerprint, run.facts_count = data_as_of, fingerprint, count


def _reported_facts(run: ReportRun, indicators, prefix: str) -> None:
    """Accepted township reports (the values as last accepted) — one fact per township and
    reported indicator; a township without an accepted report has no fact (it is missing)."""
    if not indicators:
        return
    fields = sorted(
        {i.reported_numerator for i in indicators} | {i.reported_denominator for i in indicators} - {""}
    )
    # Active townships only: they are the ones expected to report (completeness m).
    qs = TownshipReport.objects.filter(year=run.year, accepted_values__isnull=False, region__active=True)
    if prefix:
        qs = qs.filter(region__code__startswith=prefix)
    qs = qs.annotate(**{f"v_{f}": KT(f"accepted_values__{f}") for f in fields})
    facts = []
    for rep in qs.iterator():
        changed = rep.changed_since_accepted
        for ind in indicators:
            num = _number(getattr(rep, f"v_{ind.reported_numerator}"))
            den = _number(getattr(rep, f"v_{ind.reported_denominator}")) if ind.reported_denominator else 1
            missing = num is None or den is None
            facts.append(
                ReportFact(
                    run=run,
                    indicator_code=ind.code,
                    township_code=rep.region_id,
                    name="",
                    num=None if missing else num,
                    den=None if missing else den,
                    missing=missing,
                    changed=changed,
                )
            )
    ReportFact.objects.bulk_create(facts, batch_size=2000)


def _number(raw):
    from decimal import Decimal, InvalidOperation

    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _fingerprint(run: ReportRun) -> tuple[str, int]:
    """SHA-256 over the run's facts in a stable order (independent of the run id)."""
    qs = ReportFact.objects.filter(run=run).order_by(
        "indicator_code", "township_code", "institution_id", "id"
    )
    h = hashlib.sha256()
    count = 0
    for row in qs.values_list(
        "indicator_code", "township_code", "institution_id", "num", "den", "missing"
    ).iterator(chunk_size=5000):
        h.update(repr(row).encode())
        count += 1
    return h.hexdigest(), count


# --- aggregation -------------------------------------------------------------------------


def _aggregate(run: ReportRun, *, prefix: str, length: int | None):
    """{(indicator_code, region_prefix): (num, den, present, population, changed)} — grouped by
    the first `length` digits of the township code (None: one group for all under `prefix`)."""
    qs = ReportFact.objects.filter(run=run)
    if prefix:
        qs = qs.filter(township_code__startswith=prefix)
    if length:
        qs = qs.annotate(key=Substr("township_code", 1, length)).values("indicator_code", "key")
    else:
        qs = qs.values("indicator_code")
    qs = qs.annotate(
        s_num=Sum("num"),
        s_den=Sum("den"),
        present=Count("id", filter=Q(missing=False)),
        population=Count("id"),
        n_changed=Count("id", filter=Q(changed=True)),
    ).order_by()
    out = {}
    for r in qs:
        key = r.get("key", prefix)
        out[(r["indicator_code"], key)] = (
            r["s_num"],
            r["s_den"],
            r["present"],
            r["population"],
            r["n_changed"] > 0,
        )
    return out


def _township_counts(regions) -> dict[str, int]:
    """Active townships under each region (the reported indicators' expected reports)."""
    per_prefix = defaultdict(int)
    for r in regions:
        if r.level == codes.TOWNSHIP:
            for length in (2, 4, 6, 9):
                per_prefix[r.code[:length]] += 1
    return {r.code: per_prefix.get(codes.prefix_of(r.code), 0) for r in regions}


def _ancestors(code: str) -> tuple[str, ...]:
    out, parent = [], codes.implied_parent(code)
    while parent:
        out.append(parent)
        parent = codes.implied_parent(parent)
    return tuple(out)


def _rows(run, indicators, regions, aggregates, township_counts, key_of) -> list[ReportRow]:
    from . import targets as tg

    region_codes = [r.code for r in regions]
    all_codes = sorted({c for code in region_codes for c in (code, *_ancestors(code))})
    tmap = tg.load_targets([i.code for i in indicators], all_codes)
    # A count target is the region's own total (20 institutions, 4,200 beds for the county):
    # not each township's target. Rates inherit; counts do not (targets.not_inherited).
    resolved = tg.resolve_many(
        tmap,
        [(c, _ancestors(c)) for c in region_codes],
        [i.code for i in indicators],
        run.year,
        no_inherit=tg.not_inherited(indicators),
    )
    rows = []
    for region in regions:
        for ind in indicators:
            agg = aggregates.get((ind.code, key_of(region)))
            num, den, present, population, changed = agg or (None, None, 0, 0, False)
            if ind.unit in ("count", "beds") and num is None:
                num = 0
            res = resolved.get((ind.code, region.code))
            e = ev.evaluate(
                unit=ind.unit,
                direction=ind.direction,
                reported=ind.source == Source.REPORTED,
                num=num,
                den=den,
                present=present,
                population=population,
                townships=township_counts.get(region.code, 0),
                target=res.value if res else None,
            )
            rows.append(
                ReportRow(
                    run=run,
                    indicator_id=ind.code,
                    region_id=region.code,
                    level=region.level,
                    parent_code=region.parent_id or "",
                    numerator=num,
                    denominator=None if ind.unit in ("count", "beds") else den,
                    value=e.value,
                    target=res.value if res else None,
                    target_inherited=bool(res and res.inherited),
                    target_region=res.region_code if res else "",
                    target_year=res.year if res else None,
                    target_source=(res.source or "")[:200] if res else "",
                    attained=e.attained,
                    gap=e.gap,
                    status=e.status,
                    complete_n=e.complete_n,
                    complete_m=e.complete_m,
                    changed=changed,
                )
            )
    return rows


def _regions_under(prefix: str, *, levels):
    qs = Region.objects.filter(active=True, level__in=levels)
    if prefix:
        qs = qs.filter(code__startswith=prefix)
    return list(qs.order_by("code"))


def _fault_delay() -> None:
    """Fault-injection point (issue 8, tests/faults/test_report_worker_killed.py): with
    PORTAL_FAULT_SLICE_DELAY=<seconds> in the worker's environment a slice sleeps inside its
    transaction, after its bulk insert and before it commits, so a test can SIGKILL the worker
    while the slice is half written. No effect when unset (never set it in production)."""
    delay = os.environ.get("PORTAL_FAULT_SLICE_DELAY")
    if delay:
        time.sleep(float(delay))


def compute_slice(run: ReportRun, county_code: str) -> None:
    """The county and its townships: two grouped aggregates, evaluation, one bulk insert."""
    prefix = codes.prefix_of(county_code)
    indicators = _indicators()
    regions = _regions_under(prefix, levels=[codes.COUNTY, codes.TOWNSHIP])
    counts = _township_counts(regions)
    by_township = _aggregate(run, prefix=prefix, length=9)
    whole = _aggregate(run, prefix=prefix, length=None)
    aggregates = {**{(k[0], k[1]): v for k, v in by_township.items()}, **whole}

    def key_of(region):
        return region.code[:9] if region.level == codes.TOWNSHIP else prefix

    rows = _rows(run, indicators, regions, aggregates, counts, key_of)
    # A township's siblings are its county's townships, all in this slice: rank them here, so
    # finish ranks only the county rows and above (no rewrite of every row of the run).
    _assign_ranks([r for r in rows if r.level == codes.TOWNSHIP], indicators, run.root_id)
    with transaction.atomic():
        # Idempotent: a redelivered slice replaces what a killed attempt may have written.
        ReportRow.objects.filter(run=run, region__code__startswith=prefix).delete()
        ReportRow.objects.bulk_create(rows, batch_size=2000)
        _fault_delay()
        ReportSlice.objects.filter(run=run, county_code=county_code).update(
            done=True, finished_at=timezone.now()
        )


def finish(run: ReportRun) -> None:
    """Levels above county, ranks, then the switch: the run becomes the served version."""
    prefix = _prefix(run)
    root_level = codes.level_of(run.root_id) if run.root_id else 0
    indicators = _indicators()
    upper_levels = [lv for lv in (codes.PROVINCE, codes.CITY) if lv >= root_level]
    upper = _regions_under(prefix, levels=upper_levels) if upper_levels else []
    rows = []
    if upper:
        all_regions = _regions_under(prefix, levels=[*upper_levels, codes.COUNTY, codes.TOWNSHIP])
        counts = _township_counts(all_regions)
        aggregates = {}
        for level in upper_levels:
            aggregates.update(_aggregate(run, prefix=prefix, length=codes.PREFIX_LEN[level]))

        def key_of(region):
            return codes.prefix_of(region.code)

        rows = _rows(run, indicators, upper, aggregates, counts, key_of)
    with transaction.atomic():
        locked = ReportRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == RunStatus.COMPLETE:
            return
        ReportRow.objects.filter(run=run, level__in=upper_levels).delete()
        ReportRow.objects.bulk_create(rows, batch_size=2000)
        _rank(run, indicators)
        now = timezone.now()
        started = locked.started_at or locked.created_at
        ReportRun.objects.filter(pk=run.pk).update(
            status=RunStatus.COMPLETE,
            finished_at=now,
            runtime_ms=int((now - started).total_seconds() * 1000),
            slices_done=locked.slices_total,
        )
        dataversion.bump()  # pages that show "the latest complete run" (home's attainment card)
    _prune(run)


def _assign_ranks(rows, indicators, root_id) -> None:
    """Ranks among siblings (same parent) per indicator on unsaved or loaded rows; ties share a
    rank; rows without data are unranked; the root of a rooted run is not ranked (its siblings
    are not in this run: ranking it "1 of 1" would mislead)."""
    direction = {i.code: i.direction for i in indicators}
    groups = defaultdict(dict)
    for i, r in enumerate(rows):
        if r.status != ev.INSUFFICIENT and r.value is not None and r.region_id != root_id:
            groups[(r.indicator_id, r.parent_code)][i] = r.value
    for (ind, _parent), values in groups.items():
        for i, rank in ev.competition_ranks(values, descending=direction.get(ind) != "down").items():
            rows[i].rank = rank


def _rank(run: ReportRun, indicators) -> None:
    """The ranks the slices cannot set: counties (their siblings are in other slices) and the
    levels above — about 1,500 rows at province scale — in one UPDATE on PostgreSQL."""
    rows = list(
        ReportRow.objects.filter(run=run, level__lt=codes.TOWNSHIP)
        .exclude(status=ev.INSUFFICIENT)
        .exclude(value__isnull=True)
        .only("pk", "indicator_id", "parent_code", "value", "status", "region_id")
    )
    _assign_ranks(rows, indicators, run.root_id)
    ranked = [r for r in rows if r.rank is not None]
    if not ranked:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            # One statement instead of bulk_update's CASE with a WHEN per row.
            cur.execute(
                f"UPDATE {ReportRow._meta.db_table} r SET rank = v.rank "  # noqa: S608  # nosec B608 - constant table name
                "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, rank) WHERE r.id = v.id",
                [[r.pk for r in ranked], [r.rank for r in ranked]],
            )
    else:
        ReportRow.objects.bulk_update(ranked, ["rank"], batch_size=2000)


def _prune(run: ReportRun) -> None:
    """Keep the newest complete versions of this year and root; older ones go with their rows."""
    old = (
        ReportRun.objects.filter(year=run.year, root_id=run.root_id, status=RunStatus.COMPLETE)
        .order_by("-data_as_of", "-finished_at", "-pk")
        .values_list("pk", flat=True)[KEEP_VERSIONS:]
    )
    drop_runs(list(old))


def drop_runs(ids) -> None:
    if ids:
        ReportFact.objects.filter(run_id__in=ids).delete()
        ReportRow.objects.filter(run_id__in=ids).delete()
        ReportSlice.objects.filter(run_id__in=ids).delete()
        ReportRun.objects.filter(pk__in=ids).delete()


# --- the whole run, as the tasks drive it ------------------------------------------------


def claim(run: ReportRun) -> bool:
    """Take a pending run (one coordinator only: a duplicate delivery finds it taken)."""
    return bool(
        ReportRun.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=timezone.now(), error=""
        )
    )


def start(run: ReportRun) -> list[str]:
    """Materialise and create the slices; returns the county codes to fan out."""
    materialise(run)
    counties = [r.code for r in _regions_under(_prefix(run), levels=[codes.COUNTY])]
    if run.root_id and codes.level_of(run.root_id) >= codes.COUNTY:
        counties = [run.root_id[:6].ljust(12, "0")]
    ReportSlice.objects.filter(run=run).delete()
    ReportSlice.objects.bulk_create([ReportSlice(run=run, county_code=c) for c in counties])
    ReportRun.objects.filter(pk=run.pk).update(slices_total=len(counties), slices_done=0)
    return counties


def open_slices(run: ReportRun) -> list[str]:
    return list(ReportSlice.objects.filter(run=run, done=False).values_list("county_code", flat=True))


def slice_done(run_id: int) -> bool:
    """Count the finished slices; True when this call saw the last one finish."""
    done = ReportSlice.objects.filter(run_id=run_id, done=True).count()
    total = ReportSlice.objects.filter(run_id=run_id).count()
    ReportRun.objects.filter(pk=run_id).update(slices_done=done)
    return done >= total


def run_inline(run: ReportRun) -> ReportRun:
    """Everything in this process (tests, `compute_reports` without a worker, benchmarks)."""
    t0 = time.perf_counter()
    claim(run)
    try:
        for county in start(run):
            compute_slice(run, county)
        slice_done(run.pk)
        finish(run)
    except Exception as exc:
        fail(run, exc)
        raise
    run.refresh_from_db()
    run._inline_seconds = time.perf_counter() - t0
    return run


def fail(run: ReportRun, exc: Exception) -> None:
    """The run is not served; users see a plain message, the detail goes to the log only."""
    log.error("report run %s failed", run.pk, exc_info=exc)
    message = (
        str(exc)
        if isinstance(exc, ComputeError)
        else f"计算失败（{type(exc).__name__}），详细错误已记入系统日志，请联系系统管理员。"
    )
    ReportRun.objects.filter(pk=run.pk).exclude(status=RunStatus.COMPLETE).update(
        status=RunStatus.FAILED, error=message[:2000], finished_at=timezone.now()
    )
    dataversion.bump()
