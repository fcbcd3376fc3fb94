"""Reads and presentation of the stored attainment reports for the report pages, exports and
the home card (issue 7). Nothing here computes a report: it reads `ReportRun`/`ReportRow`/
`ReportFact` rows (assessments/selectors.py plus the few reads below) and formats them with
`evaluate.shown` — the 2-decimal half-up figure from the exact fraction, never from the stored
6-decimal value.

The dashboard's reads are a fixed number of queries whatever the number of townships,
indicators or years: the versions (one query, `dashboard_runs`: this year's newest complete one,
a running one, and the newest complete one of each year of the trend), the rows of the region and
its children (one query), and the trend's rows (one query). On a warm cache only the first runs
(report_views.dashboard caches the rendered report under those versions)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from eldercare.accounts.scope import region_in_scope
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import evaluate as ev
from . import scorecard, selectors
from .models import Indicator, ReportRow, ReportRun, RowStatus, RunStatus, Source, Unit

TREND_YEARS = 5
MIN_YEAR = 2000
LEVEL_LABELS = {
    codes.PROVINCE: "省",
    codes.CITY: "市",
    codes.COUNTY: "县/区",
    codes.TOWNSHIP: "乡镇/街道",
    codes.VILLAGE: "村/社区",
}
STATUS_LABELS = dict(RowStatus.choices)  # 达标 / 未达标 / 无目标 / 数据不足
# Matrix cells: 达标 green, 未达标 red, 数据不足 grey, 无目标 neutral (Bootstrap's table colours).
STATUS_CSS = {
    RowStatus.ATTAINED: "table-success",
    RowStatus.NOT_ATTAINED: "table-danger",
    RowStatus.INSUFFICIENT: "table-secondary",
    RowStatus.NO_TARGET: "",
}
STATUS_BADGES = {
    RowStatus.ATTAINED: "text-bg-success",
    RowStatus.NOT_ATTAINED: "text-bg-danger",
    RowStatus.INSUFFICIENT: "text-bg-secondary",
    RowStatus.NO_TARGET: "text-bg-light border",
}
UNIT_SUFFIX = {Unit.PERCENT: "%", Unit.COUNT: " 个", Unit.BEDS: " 张", Unit.SCORE: " 分"}
COUNT_UNITS = (Unit.COUNT, Unit.BEDS)


# -- years and regions ----------------------------------------------------------------------------
def this_year() -> int:
    return timezone.localdate().year


def parse_year(raw, default: int | None = None) -> int | None:
    """A year from a request: 2000 … this year; None when it is not one."""
    try:
        year = int(str(raw).strip())
    except (TypeError, ValueError):
        return default
    if not MIN_YEAR <= year <= this_year():
        return default
    return year


def year_choices() -> list[int]:
    now = this_year()
    stored = set(
        ReportRun.objects.filter(status=RunStatus.COMPLETE)
        .order_by()
        .values_list("year", flat=True)
        .distinct()
    )
    return sorted({*range(now - TREND_YEARS, now + 1), *stored}, reverse=True)


def region_choices(user) -> list[Region]:
    """The region picker: the user's region and, down to townships, up to two levels below it
    (the same choices as the portal's region switcher)."""
    if not user.region_id:
        return []
    level = user.region.level
    return list(
        Region.objects.for_user(user)
        .filter(active=True, level__lte=min(level + 2, codes.TOWNSHIP))
        .only("code", "name", "level")
        .order_by("code")
    )


def run_covers_user(user, run: ReportRun) -> bool:
    """A run may be looked at by a user whose scope it touches: over everything, over a region
    in the scope, or over an ancestor of the user's region (a township user and its county's
    run)."""
    if run.root_id is None:
        return True
    if region_in_scope(user, run.root_id):
        return True
    return bool(user.region_id) and codes.is_within(user.region_id, run.root_id)


# -- presentation of one row ------------------------------------------------------------------------
def number(value) -> int | str | None:
    """A numerator or denominator: an integer when whole, else a 2-decimal string."""
    if value is None:
        return None
    d = Decimal(value)
    if d == d.to_integral_value():
        return int(d)
    return str(d.quantize(ev.CENT, rounding=ROUND_HALF_UP))


def target_text(unit: str, target) -> str | None:
    if target is None:
        return None
    if unit in COUNT_UNITS:
        return str(int(Decimal(target)))
    return str(Decimal(target).quantize(ev.CENT))


def gap_text(row: ReportRow) -> str | None:
    """Percentage points for rates (2 decimals), the difference for counts (an integer)."""
    if row.target is None or row.status == RowStatus.INSUFFICIENT or row.attained is None:
        return None
    unit = row.indicator.unit
    text = ev.shown(unit, row.numerator, row.denominator, minus=row.target)
    if text is None:
        return None
    if unit in COUNT_UNITS:
        return str(int(Decimal(text)))
    return text


def decorate(row: ReportRow) -> ReportRow:
    """Attach what pages and exports show: value_text, target_text, gap_text (strings, None
    when there is nothing to show), the status label and its colour class."""
    unit = row.indicator.unit
    row.value_text = ev.shown(unit, row.numerator, row.denominator)
    row.target_text = target_text(unit, row.target)
    row.gap_text = gap_text(row)
    row.suffix = UNIT_SUFFIX.get(unit, "")
    row.status_label = STATUS_LABELS.get(row.status, row.status)
    row.css = STATUS_CSS.get(row.status, "")
    row.badge = STATUS_BADGES.get(row.status, "text-bg-light")
    row.is_rate = unit not in COUNT_UNITS
    row.num_text = number(row.numerator)
    row.den_text = number(row.denominator)
    return row


def exact(row: ReportRow) -> Decimal | None:
    return ev.exact_value(row.indicator.unit, row.numerator, row.denominator)


# -- the dashboard -------------------------------------------------------------------------------------
@dataclass
class Ranking:
    indicator: Indicator
    rows: list[ReportRow]


@dataclass
class ScoreLine:
    region: Region
    card: scorecard.Score
    is_self: bool = False


@dataclass
class Report:
    run: ReportRun
    region: Region
    indicators: list[Indicator]
    own: dict[str, ReportRow]  # indicator code → the region's own row
    children: list[Region]
    matrix: list[tuple[Region, list[ReportRow | None]]]
    rankings: list[Ranking]
    rows_by_level: dict[int, list[ReportRow]] = field(default_factory=dict)

    @property
    def own_rows(self) -> list[ReportRow]:
        return [self.own[i.code] for i in self.indicators if i.code in self.own]

    @property
    def child_level(self) -> int | None:
        return self.children[0].level if self.children else None

    def summary(self) -> tuple[int, int]:
        """(indicators attained, indicators with a target) for the region itself."""
        with_target = [r for r in self.own_rows if r.target is not None]
        return sum(1 for r in with_target if r.status == RowStatus.ATTAINED), len(with_target)


def report(run: ReportRun, region: Region) -> Report:
    """The region and its direct children, read in one query (the rows, their indicators and
    regions)."""
    rows = [decorate(r) for r in selectors.attainment_rows(run, region.code)]
    indicators, seen = [], set()
    own: dict[str, ReportRow] = {}
    by_child: dict[str, dict[str, ReportRow]] = defaultdict(dict)
    children: dict[str, Region] = {}
    by_level: dict[int, list[ReportRow]] = defaultdict(list)
    for r in rows:
        if r.indicator_id not in seen:
            seen.add(r.indicator_id)
            indicators.append(r.indicator)
        by_level[r.level].append(r)
        if r.region_id == region.code:
            own[r.indicator_id] = r
        else:
            children[r.region_id] = r.region
            by_child[r.region_id][r.indicator_id] = r
    kids = sorted(children.values(), key=lambda x: x.code)
    matrix = [(k, [by_child[k.code].get(i.code) for i in indicators]) for k in kids]
    rankings = []
    for ind in indicators:
        ranked = [by_child[k.code][ind.code] for k in kids if ind.code in by_child[k.code]]
        ranked.sort(key=lambda r: (r.rank is None, r.rank or 0, r.region_id))
        rankings.append(Ranking(ind, ranked))
    return Report(
        run=run,
        region=region,
        indicators=indicators,
        own=own,
        children=kids,
        matrix=matrix,
        rankings=rankings,
        rows_by_level=dict(sorted(by_level.items())),
    )


def score_of(rows) -> scorecard.Score:
    """The composite scorecard of one region from its stored rows and today's weights."""
    return scorecard.score(
        scorecard.Item(
            code=r.indicator_id,
            name=r.indicator.name,
            weight=r.indicator.weight,
            value=exact(r),
            target=r.target,
            direction=r.indicator.direction,
            insufficient=r.status == RowStatus.INSUFFICIENT,
            # A township's own reported figure missing: it scores 0 rather than dropping out.
            unreported=r.indicator.source == "reported" and r.level == 4 and r.complete_n == 0,
        )
        for r in rows
    )


def scorecards(rep: Report) -> list[ScoreLine]:
    """Per child region (the townships of a county), then the region itself."""
    lines = []
    for child, cells in rep.matrix:
        lines.append(ScoreLine(child, score_of([c for c in cells if c is not None])))
    lines.append(ScoreLine(rep.region, score_of(rep.own_rows), is_self=True))
    return lines


@dataclass
class DashboardRuns:
    """The versions the dashboard of (year, region) shows, read in one query."""

    latest: ReportRun | None  # the newest complete version of the year (selectors.latest_run)
    running: ReportRun | None  # a version of the year being computed (selectors.running_run)
    by_year: dict[int, int]  # the trend's years → the newest complete version's pk

    @property
    def key(self) -> str:
        """What the rendered report depends on among the versions: "2022:7,2025:12"."""
        return ",".join(f"{y}:{pk}" for y, pk in sorted(self.by_year.items()))


# dashboard_runs's query, written out: the dashboard serves its kept page (eldercare.core.pagecache)
# after this one query, and the ORM took twice as long to compile it as the database to run it.
# The same WHERE and ORDER BY as selectors.latest_run/running_run (covering, LATEST_FIRST): a test
# compares the two (tests/integration/test_dashboard_runs_sql.py).
_RUNS_SQL = (
    "SELECT * FROM {table} WHERE ((status = %s AND year IN ({years})) OR (status IN (%s, %s) AND year = %s))"
    " AND (root_id IS NULL OR root_id IN ({roots})) ORDER BY data_as_of DESC, finished_at DESC, {pk} DESC"
)


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def covering_runs(year: int, region_code: str, years: int = TREND_YEARS):
    """The complete versions of the trend's years and the pending/running ones of `year` that
    cover the region, in latest_run's order (one query)."""
    if years < 1:
        raise ValueError("years must be at least 1")
    span = list(range(year - years + 1, year + 1))
    roots = selectors.ancestors_and_self(region_code)
    sql = _RUNS_SQL.format(
        table=ReportRun._meta.db_table,
        pk=ReportRun._meta.pk.column,
        years=_placeholders(len(span)),
        roots=_placeholders(len(roots)),
    )
    params = [RunStatus.COMPLETE, *span, RunStatus.PENDING, RunStatus.RUNNING, year, *roots]
    return ReportRun.objects.raw(sql, params)  # nosec B608  # placeholders only; the values are parameters


def dashboard_runs(year: int, region_code: str, *, years: int = TREND_YEARS) -> DashboardRuns:
    """selectors.latest_run, selectors.running_run and the trend's versions in one query: the
    covering runs (a few: compute keeps three complete versions per year and root) in
    latest_run's order, so the first complete one of a year is that year's newest."""
    complete: dict[int, ReportRun] = {}
    running = None
    for r in covering_runs(year, region_code, years):
        if r.status == RunStatus.COMPLETE:
            complete.setdefault(r.year, r)
        elif running is None or r.pk > running.pk:
            running = r
    return DashboardRuns(
        latest=complete.get(year), running=running, by_year={y: r.pk for y, r in complete.items()}
    )


def trend(
    region_code: str, year: int, indicators, *, years: int = TREND_YEARS, runs: dict[int, int] | None = None
) -> list[dict]:
    """Per indicator, the region's value and target over the last `years` years up to `year`,
    each from that year's newest complete version covering the region (selectors.latest_run's
    rule; `runs`, year → version, when the caller has read them: dashboard_runs). Two queries
    whatever the number of years and indicators (one with `runs`)."""
    span = list(range(year - years + 1, year + 1))
    if runs is None:
        runs = dashboard_runs(year, region_code, years=years).by_year
    latest = {y: pk for y, pk in runs.items() if y in span}
    by_run_year = {pk: y for y, pk in latest.items()}
    cells: dict[tuple[str, int], tuple] = {}
    if latest:
        for run_id, ind, num, den, target, status in ReportRow.objects.filter(
            run_id__in=list(latest.values()), region_id=region_code
        ).values_list("run_id", "indicator_id", "numerator", "denominator", "target", "status"):
            cells[(ind, by_run_year[run_id])] = (num, den, target, status)
    out = []
    for ind in indicators:
        points = []
        for y in span:
            num, den, target, status = cells.get((ind.code, y), (None, None, None, None))
            has_row = status is not None
            points.append(
                {
                    "year": y,
                    "value": ev.shown(ind.unit, num, den) if has_row else None,
                    "target": target_text(ind.unit, target),
                    "status": STATUS_LABELS.get(status, "") if has_row else "无报告",
                    "insufficient": status == RowStatus.INSUFFICIENT,
                }
            )
        out.append(
            {
                "code": ind.code,
                "name": ind.name,
                "unit": UNIT_SUFFIX.get(ind.unit, "").strip(),
                "points": points,
            }
        )
    return out


# -- the drill-down ----------------------------------------------------------------------------------
@dataclass
class FactLine:
    name: str
    institution_id: int | None
    township_code: str
    township_name: str
    num: int | str | None
    den: int | str | None
    changed: bool = False


@dataclass
class Drill:
    row: ReportRow
    indicator: Indicator
    reported: bool
    numerator: list[FactLine]
    outside: list[FactLine]
    missing: list[FactLine]
    not_reported: list[Region]  # reported indicators: townships without an accepted report

    @property
    def present(self) -> list[FactLine]:
        """Reported indicators: the townships whose accepted report gives the figure."""
        return sorted(self.numerator + self.outside, key=lambda f: f.township_code)


def drill(run: ReportRun, row: ReportRow, region: Region) -> Drill:
    ind = row.indicator
    reported = ind.source == Source.REPORTED
    facts = list(selectors.facts(run, ind.code, region.code))
    towns = {
        r.code: r
        for r in Region.objects.filter(code__startswith=region.prefix, level=codes.TOWNSHIP).only(
            "code", "name", "level", "active"
        )
    }
    if region.level == codes.TOWNSHIP:
        towns.setdefault(region.code, region)

    def line(f) -> FactLine:
        town = towns.get(f.township_code)
        return FactLine(
            name=f.name or (town.name if town else f.township_code),
            institution_id=f.institution_id,
            township_code=f.township_code,
            township_name=town.name if town else "",
            num=number(f.num),
            den=number(f.den),
            changed=f.changed,
        )

    numerator = [line(f) for f in facts if not f.missing and f.num is not None and f.num > 0]
    outside = [line(f) for f in facts if not f.missing and f.num is not None and f.num == 0]
    missing = [line(f) for f in facts if f.missing]
    not_reported = []
    if reported:
        present = {f.township_code for f in facts}
        not_reported = [t for code, t in sorted(towns.items()) if t.active and code not in present]
    return Drill(
        row=row,
        indicator=ind,
        reported=reported,
        numerator=numerator,
        outside=outside,
        missing=missing,
        not_reported=not_reported,
    )


# -- the home card ---------------------------------------------------------------------------------------
def home_card(user, region) -> dict | None:
    """「目标考核」 on the home page: of the indicators with a target for the region in view,
    how many the newest stored report (this year's, else last year's) finds attained. Reads
    stored rows only (three queries at most)."""
    from django.urls import reverse

    if region is None or region.level > codes.TOWNSHIP:
        return None
    now = this_year()
    for year in (now, now - 1):
        run = selectors.latest_run(year, region.code)
        if run is None:
            continue
        rows = ReportRow.objects.filter(run=run, region_id=region.code, target__isnull=False)
        statuses = list(rows.values_list("status", flat=True))
        attained = sum(1 for s in statuses if s == RowStatus.ATTAINED)
        return {
            "label": f"{year}年目标达标（{region.name}）",
            "value": f"{attained} / {len(statuses)}",
            "icon": "bullseye",
            "link": reverse("assessments:reports") + f"?year={year}&region={region.code}",
        }
    return None


def as_of_text(run: ReportRun) -> str:
    """数据截至 in local time, to the minute."""
    if run.data_as_of is None:
        return "—"
    return timezone.localtime(run.data_as_of).strftime("%Y-%m-%d %H:%M")


def evaluated_text(run: ReportRun) -> str:
    day: datetime.date = run.evaluated_on
    return day.isoformat() if day else "—"
