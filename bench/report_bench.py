"""Benchmark: target-attainment reports (issue 7) at county and province scale.

    .venv/bin/python bench/report_bench.py                      # county + province, 1 and 2 workers
    .venv/bin/python bench/report_bench.py --scales county --repeat 5
    .venv/bin/python bench/report_bench.py --repeat-province 3 --explain --ab 3 \
        --variants recommended --celery-variants recommended     # what docs/benchmarks.md reports

Database: a scratch PostgreSQL database whose name contains "bench" (default
postgres://postgres@127.0.0.1:5432/eldercare_bench_reports, created with psql if missing, then
migrated; --drop drops it at the end). Redis: a dedicated database number (default
redis://127.0.0.1:6379/14) for the Celery workers this script starts and stops. For each scale
(bench/gen_reports.py writes it with COPY after emptying the tables) and one year Y (default
last year, D = 31 December):

  baseline   the same run's trivial aggregate over the registry on D
             (SELECT region_id, count(*) … versions on D … GROUP BY region_id), median of 25;
             every other figure is also given as a ratio to it
  inline     assessments.compute.run_inline (one process), --repeat (county) or
             --repeat-province times; the phases are timed by wrapping compute.start /
             materialise / _reported_facts / _fingerprint / compute_slice / finish / _rank /
             _prune in this process (nothing in the models), and each INSERT … SELECT of
             materialise by a connection execute_wrapper
  celery Nw  a real `celery -A report_worker worker --pool prefork --concurrency N` subprocess
             (bench/report_worker.py: eldercare's app, plus timers around the same compute
             functions in each pool child, written to a JSON-lines file; environment: the
             scratch DATABASE_URL and the dedicated REDIS_URL); services.request_run(...) queues
             assessments.compute_run, the ReportRun is polled every 50 ms until complete, the
             worker is stopped; wall time from the commit that queues the run
  dashboard  p50/p95 over --requests reads: selectors.latest_run + list(attainment_rows) for the
             root (and, at province scale, one county); and GET /reports/ with Django's test
             Client as a logged-in health user when that URL exists

Every run's report rows are hashed (rows_digest), so the Celery runs and the variants are
checked to give exactly the rows of the unmodified inline run.

--variants NAME,… re-measures the inline run with proposed changes (bench/variants_reports.py,
monkeypatched in this process; the portal's code is not edited), interleaved with the current
code round by round; --celery-variants does the same with the workers. --ab ROUNDS times the
changed steps alone (compute_slice on 10 counties, _rank, materialise) on the same stored
province run in ROUNDS interleaved rounds — steadier than whole runs on a shared machine.
--explain prints EXPLAIN (ANALYZE, BUFFERS) of every INSERT … SELECT of materialise (in a
rolled-back transaction). Results: a markdown table on stdout and in --workdir (default
/tmp/bench_reports: results.md, results.json with every sample and plan, the worker logs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

import gen_reports  # noqa: E402
from _pg import ensure_postgres_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/eldercare_bench_reports"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
USERNAME = "bench_reports_health"
POLL = 0.05


def configure_env(args) -> None:
    parts = urlsplit(args.database_url)
    name = unquote(parts.path.lstrip("/"))
    if not parts.scheme.startswith("postgres") or "bench" not in name:
        sys.exit(f"refusing {args.database_url!r}: use a PostgreSQL database whose name contains 'bench'")
    if name in ("eldercare",) or name.startswith("test_"):
        sys.exit(f"refusing {name!r}")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url  # request_run queues on it; inline runs never use it
    os.environ["DJANGO_SETTINGS_MODULE"] = "eldercare.settings.local"
    os.environ["DEBUG"] = "0"  # DEBUG would keep every query in connection.queries
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"


def django_setup() -> None:
    import django

    django.setup()


# --- helpers ---------------------------------------------------------------------------
def pct(values, q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def scale_root(scale: str) -> str:
    return gen_reports.SCALES[scale].root


def one_county(scale: str) -> str:
    return gen_reports.SCALES[scale].counties[len(gen_reports.SCALES[scale].counties) // 2]


def install_user(root: str):
    from eldercare.accounts import services
    from eldercare.accounts.scope import SYSTEM

    user = services.user_save(
        actor=SYSTEM, username=USERNAME, region=root, full_name="基准 卫健局", is_active=True
    )
    if user.roles != {"health"}:
        services.user_set_roles(actor=SYSTEM, user=user, roles={"health"})
    return user


def baseline(day: datetime.date, n: int = 25) -> list[float]:
    from django.db import connection

    sql = (
        "SELECT region_id, count(*) FROM institutions_institutionversion "
        "WHERE valid_from <= %s AND (valid_to IS NULL OR valid_to > %s) GROUP BY region_id"
    )
    out = []
    with connection.cursor() as cur:
        for i in range(n + 2):
            t0 = time.perf_counter()
            cur.execute(sql, [day, day])
            cur.fetchall()
            if i >= 2:  # two warm-up executions
                out.append(time.perf_counter() - t0)
    return out


def rows_digest(run) -> str:
    """SHA-256 over the run's report rows (everything a reader sees, ranks included)."""
    import hashlib

    from assessments.models import ReportRow

    h = hashlib.sha256()
    fields = ("indicator_id", "region_id", "level", "parent_code", "numerator", "denominator", "value",
              "target", "target_inherited", "target_region", "target_year", "attained", "gap", "rank",
              "status", "complete_n", "complete_m", "changed")  # fmt: skip
    for row in (
        ReportRow.objects.filter(run=run)
        .order_by("indicator_id", "region_id")
        .values_list(*fields)
        .iterator()
    ):
        h.update(repr(row).encode())
    return h.hexdigest()


def new_run(year: int, root: str | None, reason: str = "bench"):
    from assessments import compute
    from assessments.models import ReportRun

    return ReportRun.objects.create(
        year=year, root_id=root, evaluated_on=compute.evaluation_day(year), reason=reason
    )


# --- inline run, with phases -----------------------------------------------------------
class PhaseTimer:
    """Wraps compute's functions (module globals, so run_inline's calls go through them) and
    times the INSERT … SELECT statements of materialise."""

    NAMES = (
        "start",
        "materialise",
        "_reported_facts",
        "_fingerprint",
        "compute_slice",
        "finish",
        "_rank",
        "_prune",
    )

    def __init__(self):
        self.times = defaultdict(float)
        self.calls = defaultdict(int)
        self.sql = defaultdict(float)
        self.stack: list[str] = []

    @contextlib.contextmanager
    def installed(self):
        from django.db import connection

        from assessments import compute

        saved = {n: getattr(compute, n) for n in self.NAMES}

        def wrap(name, fn):
            def wrapper(*a, **k):
                self.stack.append(name)
                key = "/".join(self.stack)
                t0 = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    self.times[key] += time.perf_counter() - t0
                    self.calls[key] += 1
                    self.stack.pop()

            return wrapper

        def sql_timer(execute, sql, params, many, context):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                if sql.startswith("INSERT INTO assessments_reportfact") and params and len(params) > 1:
                    self.sql[str(params[1])] += time.perf_counter() - t0

        for n, fn in saved.items():
            setattr(compute, n, wrap(n, fn))
        try:
            with connection.execute_wrapper(sql_timer):
                yield self
        finally:
            for n, fn in saved.items():
                setattr(compute, n, fn)


def inline_once(year: int, root: str | None, *, phases: bool = True) -> dict:
    from django.db import connection

    from assessments import compute
    from assessments.models import ReportRow

    connection.close()  # a fresh connection each time (a worker's first task has one too)
    run = new_run(year, root)
    timer = PhaseTimer()
    cm = timer.installed() if phases else contextlib.nullcontext()
    with cm:
        t0 = time.perf_counter()
        run = compute.run_inline(run)
        took = time.perf_counter() - t0
    assert run.status == "complete", (run.status, run.error)
    out = {
        "seconds": took,
        "run": run.pk,
        "facts": run.facts_count,
        "rows": ReportRow.objects.filter(run=run).count(),
        "slices": run.slices_total,
        "fingerprint": run.fingerprint,
        "rows_digest": rows_digest(run),
        "load": os.getloadavg()[0],
    }
    if phases:
        t = timer.times
        out["phases"] = {
            "materialise (INSERT … SELECT per indicator)": t["start/materialise"]
            - t["start/materialise/_reported_facts"]
            - t["start/materialise/_fingerprint"],
            "materialise: reported facts (ORM bulk_create)": t["start/materialise/_reported_facts"],
            "materialise: fingerprint (all facts → Python)": t["start/materialise/_fingerprint"],
            "start: rest (status, slices)": t["start"] - t["start/materialise"],
            f"compute_slice × {timer.calls['compute_slice']}": t["compute_slice"],
            "finish: levels above county": t["finish"] - t["finish/_rank"] - t["finish/_prune"],
            "finish: _rank (bulk_update of ranks)": t["finish/_rank"],
            "finish: _prune": t["finish/_prune"],
        }
        out["sql"] = dict(sorted(timer.sql.items(), key=lambda kv: -kv[1]))
    return out


def summarise(samples: list[dict]) -> dict:
    secs = [s["seconds"] for s in samples]
    best = min(samples, key=lambda s: abs(s["seconds"] - statistics.median(secs)))
    loads = [s.get("load", 0.0) for s in samples]
    return {"samples": secs, "median": statistics.median(secs), "detail": best, "loads": loads}


def measure_inline(year: int, root: str | None, repeat: int) -> dict:
    return summarise([inline_once(year, root) for _ in range(repeat)])


def measure_inline_variants(year: int, root: str | None, repeat: int, names: list[str]) -> dict:
    """The current code and each variant in interleaved rounds (order reversed every other
    round), so slow and fast spells of the shared machine fall on all of them."""
    import variants_reports

    configs = [None, *names]
    samples: dict = {c: [] for c in configs}
    for r in range(repeat):
        for name in configs if r % 2 == 0 else configs[::-1]:
            with variants_reports.variant(name) if name else contextlib.nullcontext():
                samples[name].append(inline_once(year, root))
    return {c: summarise(x) for c, x in samples.items()}


# --- Celery ----------------------------------------------------------------------------
class Worker:
    def __init__(self, concurrency: int, args, variant: str | None = None):
        self.n = concurrency
        self.name = f"bench_reports_{concurrency}_{os.getpid()}@%h"
        tag = f"{concurrency}{'_' + variant if variant else ''}"
        self.log = args.workdir / f"worker_{tag}.log"
        self.timing = args.workdir / f"timing_{tag}.jsonl"
        self.variant = variant
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        from eldercare.celery import app

        self.timing.write_text("")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        env["BENCH_REPORTS_TIMING_LOG"] = str(self.timing)
        env.pop("BENCH_REPORTS_VARIANT", None)
        if self.variant:
            env["BENCH_REPORTS_VARIANT"] = self.variant
        # bench/report_worker.py: eldercare's Celery app plus timers around compute's steps.
        cmd = [
            str(Path(sys.executable).parent / "celery"), "-A", "report_worker", "worker",
            "--pool", "prefork", "--concurrency", str(self.n), "-n", self.name,
            "-l", "INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        self.fh = self.log.open("w")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True
        )
        host = os.uname().nodename
        target = self.name.replace("%h", host)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}; see {self.log}")
            replies = app.control.ping(destination=[target], timeout=1.0)
            if replies:
                return self
        raise RuntimeError(f"worker did not answer a ping in 90 s; see {self.log}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown of the worker we started
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only our worker's children
                self.proc.wait()
        self.fh.close()


def worker_phases(timing: Path, run_id: int, t_commit: float, t_done: float) -> dict:
    """The run's phases from the workers' timing lines (wall clock, time.time())."""
    # The run is marked complete inside finish, whose timing line is written when it returns.
    deadline = time.monotonic() + 5
    while True:
        calls = [json.loads(ln) for ln in timing.read_text().splitlines() if ln.strip()]
        calls = [c for c in calls if c["run"] == run_id]
        if any(c["fn"] == "finish" for c in calls) or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    def only(fn):
        return [c for c in calls if c["fn"] == fn]

    start = only("start")
    slices = only("compute_slice")
    finishes = only("finish")
    if not start or not slices or not finishes:
        return {"note": f"timing lines incomplete ({len(calls)})"}
    st = start[0]
    busy = defaultdict(float)
    for c in slices:
        busy[c["pid"]] += c["t1"] - c["t0"]
    ranks = only("_rank")
    return {
        "pickup (commit → start)": st["t0"] - t_commit,
        "start: materialise": sum(c["t1"] - c["t0"] for c in only("materialise")),
        "start: total": st["t1"] - st["t0"],
        "slices: start end → last slice end": max(c["t1"] for c in slices) - st["t1"],
        "slices: busy per process": ", ".join(f"{v:.2f}" for v in sorted(busy.values(), reverse=True)),
        "slices: per slice median": statistics.median(c["t1"] - c["t0"] for c in slices),
        "finish: calls (the last slice's task finishes the run)": len(finishes),
        "finish: duration": max(c["t1"] - c["t0"] for c in finishes),
        "finish: _rank": max((c["t1"] - c["t0"] for c in ranks), default=0.0),
        "finish end → complete seen by the poll": t_done - max(c["t1"] for c in finishes),
    }


def celery_once(year: int, root: str | None, timeout: float, timing: Path | None = None) -> dict:
    from django.db import connection, transaction

    from assessments import services
    from assessments.models import ReportRow, ReportRun, ReportSlice

    connection.close()
    t0 = time.perf_counter()
    with transaction.atomic():
        run = services.request_run(year, root_code=root, actor=None, reason="bench")
    t_queued = time.perf_counter()  # committed: the on_commit hook has sent the task
    wall_queued = time.time()
    seen_slices = None
    while True:
        r = ReportRun.objects.filter(pk=run.pk).values("status", "slices_total", "error").get()
        now = time.perf_counter()
        if seen_slices is None and r["slices_total"]:
            seen_slices = now
        if r["status"] in ("complete", "failed"):
            break
        if now - t0 > timeout:
            raise RuntimeError(f"run {run.pk} not complete after {timeout} s")
        time.sleep(POLL)
    t_done = time.perf_counter()
    wall_done = time.time()
    run.refresh_from_db()
    if run.status != "complete":
        raise RuntimeError(f"run {run.pk} failed: {run.error}")
    slices = list(ReportSlice.objects.filter(run=run).values_list("finished_at", flat=True))
    last_slice = max(slices)
    first_slice = min(slices)
    wall = t_done - t0
    # Wall-clock phases: queue → started_at (pickup), started_at → slices created (observed by
    # the poll, ±50 ms), → last slice finished, → finished_at (finish step).
    to_slices = (seen_slices - t0) if seen_slices else None
    started_off = (run.started_at - run.created_at).total_seconds()
    return {
        "seconds": wall,
        "queue_commit_s": t_queued - t0,
        "run": run.pk,
        "runtime_ms": run.runtime_ms,
        "rows": ReportRow.objects.filter(run=run).count(),
        "fingerprint": run.fingerprint,
        "rows_digest": rows_digest(run),
        "load": os.getloadavg()[0],
        "worker_phases": worker_phases(timing, run.pk, wall_queued, wall_done) if timing else {},
        "phases": {
            "pickup (created → started_at)": started_off,
            "materialise + slices created (observed)": (to_slices - started_off) if to_slices else None,
            "slices (slices created → last slice finished)": (last_slice - run.created_at).total_seconds()
            - (to_slices or 0),
            "first → last slice finished": (last_slice - first_slice).total_seconds(),
            "finish (last slice → finished_at)": (run.finished_at - last_slice).total_seconds(),
        },
    }


def celery_session(
    year: int, root: str | None, workers: int, runs: int, args, *, warmup: bool, variant: str | None = None
) -> list[dict]:
    """Start a worker (with `variant` installed in its children, if any), optionally one
    warm-up run, then `runs` measured runs; the worker is stopped."""
    from eldercare.celery import app

    app.control.purge()  # the dedicated Redis database only
    samples = []
    with contextlib.ExitStack() as stack:
        if variant:  # the index (if any) for the workers; their functions are patched in them
            import variants_reports

            functions, needs_index = variants_reports.VARIANTS[variant]
            if needs_index:
                stack.enter_context(variants_reports.fact_index())
        worker = stack.enter_context(Worker(workers, args, variant))
        if warmup:
            celery_once(year, root, args.timeout)  # children connect, caches fill
        for _ in range(runs):
            samples.append(celery_once(year, root, args.timeout, worker.timing))
    return samples


# --- dashboard -------------------------------------------------------------------------
def measure_dashboard(year: int, code: str, requests: int, user) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import Resolver404, resolve

    from assessments import selectors

    def read():
        run = selectors.latest_run(year, code)
        return run, list(selectors.attainment_rows(run, code))

    connection.close()
    run, rows = read()
    assert run is not None and rows, (code, run)
    for _ in range(5):
        read()
    samples = []
    for _ in range(requests):
        t0 = time.perf_counter()
        read()
        samples.append(time.perf_counter() - t0)
    out = {
        "selectors": {
            "p50": pct(samples, 0.5),
            "p95": pct(samples, 0.95),
            "rows": len(rows),
            "n": len(samples),
        }
    }

    page = None
    for url in ("/reports/", "/reports/attainment/", "/reports/dashboard/"):
        try:
            match = resolve(url)
        except Resolver404:
            continue
        if "township" in (match.url_name or ""):
            continue
        page = url
        break
    if page:
        from django.conf import settings

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(user)
        params = {"year": year, "region": code}
        resp = client.get(page, params)
        status = resp.status_code
        if status == 200:
            for _ in range(5):
                client.get(page, params)
            page_samples = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = client.get(page, params)
                page_samples.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.status_code
            out["page"] = {
                "url": page,
                "p50": pct(page_samples, 0.5),
                "p95": pct(page_samples, 0.95),
                "bytes": len(resp.content),
                "n": len(page_samples),
            }
        else:
            out["page"] = {"url": page, "status": status, "note": f"GET {page} answered {status}; not timed"}
    else:
        out["page"] = {"note": "no /reports/ dashboard URL yet: selectors only"}
    return out


# --- components A/B (interleaved, same data, same process) ------------------------------
def ab_components(year: int, root: str, rounds: int, n_counties: int = 10) -> dict:
    """The steps the proposals change, timed on the same stored run with and without each
    change in interleaved rounds (shuffled order per round, seeded): a whole province run is
    one sample on a noisy machine, a component measured this way is several."""
    import random

    import variants_reports as v

    from assessments import compute
    from assessments.models import ReportFact, ReportRun

    rng = random.Random(20261202)
    run = ReportRun.objects.filter(year=year, root_id=root, status="complete").order_by("-pk").first()
    indicators = compute._indicators()
    counties = [c for c in gen_reports.SCALES["province"].counties][:: max(1, 100 // n_counties)][:n_counties]
    out: dict = {"run": run.pk, "counties": len(counties), "rounds": rounds}

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def interleave(configs: dict, body) -> dict:
        samples = {name: [] for name in configs}
        for r in range(rounds + 1):  # round 0 warms up
            order = list(configs)
            rng.shuffle(order)
            for name in order:
                with configs[name]():
                    t = body()
                if r > 0:
                    samples[name].append(t)
        return {n: {"median": statistics.median(x), "samples": x} for n, x in samples.items()}

    def slices():
        return timed(lambda: [compute.compute_slice(run, c) for c in counties]) / len(counties)

    out["compute_slice (s per slice)"] = interleave(
        {
            "current": contextlib.nullcontext,
            "slice_one_agg": lambda: v.variant("slice_one_agg"),
            "fact_index": lambda: v.variant("fact_index"),
            "fact_index + slice_one_agg": lambda: v.variant("fact_index_one_agg"),
            "recommended (index + ranks set in the slice)": lambda: v.variant("recommended"),
        },
        slices,
    )

    def rank():
        from django.db import transaction

        with transaction.atomic():  # as in finish
            return timed(lambda: compute._rank(run, indicators))

    out["_rank (s)"] = interleave(
        {
            "current": contextlib.nullcontext,
            "rank_unnest": lambda: v.variant("rank_unnest"),
            "rank_sql": lambda: v.variant("rank_sql"),
            # recommended: the slices rank the townships; finish ranks county rows and above
            "rank_upper (finish's part of recommended)": lambda: v.patched(_rank=v.rank_upper),
        },
        rank,
    )

    def materialise():
        scratch = new_run(year, root, reason="bench-ab")
        try:
            return timed(lambda: compute.materialise(scratch))
        finally:
            ReportFact.objects.filter(run=scratch).delete()
            scratch.delete()

    out["materialise (s)"] = interleave(
        {
            "current": contextlib.nullcontext,
            "materialise_lean": lambda: v.variant("materialise_lean"),
            "fact_index (one more index to fill)": lambda: v.variant("fact_index"),
            "fact_index_swap (3 indexes instead of 4)": lambda: v.variant("fact_index_swap"),
        },
        materialise,
    )
    return out


# --- EXPLAIN ---------------------------------------------------------------------------
def explain_materialise(year: int, root: str | None) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of each computed indicator's INSERT … SELECT, rolled back."""
    from django.db import connection, transaction

    from assessments import compute
    from assessments.formulas import FORMULAS
    from assessments.models import Indicator, ReportFact, Source
    from eldercare.regions import codes

    run = new_run(year, root, reason="bench-explain")
    prefix = codes.prefix_of(root) if root else ""
    table = ReportFact._meta.db_table
    out = []
    for ind in Indicator.objects.filter(active=True, source=Source.COMPUTED).order_by("order", "code"):
        qs = FORMULAS[ind.formula](run.evaluated_on)
        if prefix:
            qs = qs.filter(region__code__startswith=prefix)
        sql, params = qs.query.sql_with_params()
        stmt = f"INSERT INTO {table} ({compute.FACT_COLUMNS}) SELECT %s, %s, s.*, FALSE FROM ({sql}) s"  # noqa: S608  # nosec B608
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt, [run.pk, ind.code, *params])
                plan = [r[0] for r in cur.fetchall()]
            transaction.set_rollback(True)
        ms = next(
            (float(ln.split(":")[1].split()[0]) for ln in plan if ln.startswith("Execution Time")), None
        )
        out.append(
            {
                "indicator": ind.code,
                "formula": ind.formula,
                "ms": ms,
                "plan": plan,
                "sql": stmt,
                "params": [str(p) for p in params],
            }
        )
    run.delete()
    return out


# --- the run ---------------------------------------------------------------------------
def fmt(x, unit="s"):
    if x is None:
        return "—"
    return f"{x * 1000:.1f} ms" if unit == "ms" else f"{x:.2f}"


def run_scale(scale: str, args) -> dict:
    from django.db import connection

    from assessments import compute

    res: dict = {"scale": scale}
    print(f"[{scale}] generating …", flush=True)
    connection.close()
    res["data"] = gen_reports.generate(args.database_url, scale, seed=args.seed, last_year=args.year)
    print(f"[{scale}] {res['data']}", flush=True)
    root = scale_root(scale) if scale == "province" else one_county(scale)
    res["root"] = root
    user = install_user(root)
    day = compute.evaluation_day(args.year)
    base = baseline(day)
    res["baseline"] = {"median": statistics.median(base), "min": min(base), "max": max(base), "n": len(base)}
    print(f"[{scale}] baseline median {res['baseline']['median'] * 1000:.2f} ms", flush=True)

    repeat = args.repeat if scale == "county" else args.repeat_province
    print(f"[{scale}] inline × {repeat} (variants interleaved: {args.variants or 'none'}) …", flush=True)
    inline = measure_inline_variants(args.year, root, repeat, args.variants)
    res["inline"] = inline[None]
    print(f"[{scale}] inline median {res['inline']['median']:.2f} s {res['inline']['samples']}", flush=True)
    ref = res["inline"]["detail"]
    res["variants"] = {}
    for name in args.variants:
        v = res["variants"][name] = inline[name]
        d = v["detail"]
        v["same_fingerprint"] = (
            d["fingerprint"] == ref["fingerprint"] and d["rows_digest"] == ref["rows_digest"]
        )
        print(
            f"[{scale}] variant {name}: {v['median']:.2f} s (same facts and rows: {v['same_fingerprint']})",
            flush=True,
        )
    if scale == "province":
        county = one_county(scale)
        res["inline_one_county"] = measure_inline(args.year, county, args.repeat)
        print(f"[{scale}] one county inline {res['inline_one_county']['median']:.2f} s", flush=True)

    # Celery: per worker count, rounds of (current, each --celery-variants) sessions in
    # alternating order. County: one session each with a warm-up run and `repeat` runs.
    # Province: `repeat` rounds of one run per session (a run is ~100 tasks: the children's
    # first connections are a small part of it, so no warm-up).
    res["celery"] = {}
    county_scale = scale == "county"
    rounds, runs = (1, repeat) if county_scale else (repeat, 1)
    for n in args.workers:
        configs = [None, *args.celery_variants]
        got: dict = {c: [] for c in configs}
        failed: dict = {}
        for r in range(rounds):
            for name in configs if r % 2 == 0 else configs[::-1]:
                if name in failed:
                    continue
                print(
                    f"[{scale}] celery, {n} worker process(es){', variant ' + name if name else ''} …",
                    flush=True,
                )
                try:
                    got[name] += celery_session(
                        args.year, root, n, runs, args, warmup=args.warmup and county_scale, variant=name
                    )
                except Exception as exc:  # report and go on
                    failed[name] = f"{exc.__class__.__name__}: {exc}"
                    print(f"[{scale}] celery {n}w {name or ''} FAILED: {exc}", flush=True)
        for name in configs:
            key = n if name is None else f"{n} · variant {name}"
            if name in failed or not got[name]:
                res["celery"][key] = {"failed": failed.get(name, "no samples")}
                continue
            res["celery"][key] = summarise(got[name])
            if name:
                res["celery"][key]["same_rows"] = (
                    res["celery"][key]["detail"]["rows_digest"] == ref["rows_digest"]
                )
            print(f"[{scale}] celery {key}: median {res['celery'][key]['median']:.2f} s", flush=True)

    res["dashboard"] = {root: measure_dashboard(args.year, root, args.requests, user)}
    if scale == "province":
        county = one_county(scale)
        res["dashboard"][county] = measure_dashboard(args.year, county, args.requests, user)

    if args.ab and scale == "province":
        print(f"[{scale}] components A/B × {args.ab} rounds …", flush=True)
        res["ab"] = ab_components(args.year, root, args.ab)
    if args.explain:
        print(f"[{scale}] EXPLAIN ANALYZE …", flush=True)
        res["explain"] = explain_materialise(args.year, root)
    res["load_after"] = os.getloadavg()[0]
    return res


def table(results: list[dict], year: int) -> list[str]:
    out = [
        "| scale | measurement | s (median) | samples s | × baseline | note |",
        "|---|---|---:|---|---:|---|",
    ]
    for res in results:
        sc, b = res["scale"], res["baseline"]["median"]
        d = res["data"]
        label = f"{sc} ({d['institutions']:,} inst., {d['versions']:,} versions)"

        def line(what, med, samples=None, note="", b=b, label=label, loads=None):
            ratio = f"{med / b:,.0f}×" if med is not None else "—"
            smp = ", ".join(f"{s:.3f}" if s < 1 else f"{s:.2f}" for s in samples) if samples else ""
            if loads:
                smp += f" (load {min(loads):.1f}–{max(loads):.1f})"
            medtxt = f"{med:.4f}" if med is not None and med < 0.1 else fmt(med)
            out.append(f"| {label} | {what} | {medtxt} | {smp} | {ratio} | {note} |")

        line(
            "baseline: versions on D, GROUP BY region_id", b, None, f"median of {res['baseline']['n']}; = 1×"
        )
        inl = res["inline"]
        line("compute.run_inline (1 process)", inl["median"], inl["samples"],
             f"{inl['detail']['facts']:,} facts, {inl['detail']['rows']:,} rows, {inl['detail']['slices']} slice(s)",
             loads=inl.get("loads"))  # fmt: skip
        if "inline_one_county" in res:
            one = res["inline_one_county"]
            line("run_inline rooted at one county (province data)", one["median"], one["samples"],
                 f"{one['detail']['facts']:,} facts")  # fmt: skip
        for key, c in res["celery"].items():
            n, _, variant = str(key).partition(" · ")
            what = f"Celery fan-out, {n} worker process{'es' if n != '1' else ''}" + (
                f" · {variant}" if variant else ""
            )
            if "failed" in c:
                out.append(f"| {label} | {what} | — | — | — | {c['failed']} |")
                continue
            note = f"runtime_ms {c['detail']['runtime_ms']}"
            if "same_rows" in c:
                note += f"; same rows as the unmodified run: {c['same_rows']}"
            else:
                note += f"; same rows as inline: {c['detail']['rows_digest'] == inl['detail']['rows_digest']}"
            line(what, c["median"], c["samples"], note, loads=c.get("loads"))
        for code, dash in res["dashboard"].items():
            s = dash["selectors"]
            out.append(
                f"| {label} | dashboard read {code}: latest_run + attainment_rows | p50 {s['p50'] * 1000:.1f} ms · "
                f"p95 {s['p95'] * 1000:.1f} ms | n={s['n']} | p95 {s['p95'] / b:,.1f}× | {s['rows']} rows |"
            )
            p = dash.get("page", {})
            if "p95" in p:
                out.append(
                    f"| {label} | dashboard page GET {p['url']} ({code}) | p50 {p['p50'] * 1000:.1f} ms · "
                    f"p95 {p['p95'] * 1000:.1f} ms | n={p['n']} | p95 {p['p95'] / b:,.1f}× | {p['bytes']:,} bytes |"
                )
            elif p:
                out.append(f"| {label} | dashboard page | — | — | — | {p.get('note', '')} |")
        for name, v in res.get("variants", {}).items():
            line(f"variant {name}: run_inline (interleaved with the row above)", v["median"], v["samples"],
                 f"{inl['median'] / v['median']:.2f}× the current code's speed; same facts and rows: "
                 f"{v['same_fingerprint']}", loads=v.get("loads"))  # fmt: skip
    return out


def phase_lines(results: list[dict]) -> list[str]:
    out = []
    for res in results:
        inl = res["inline"]["detail"]
        out.append(f"\n{res['scale']} — inline phases (run #{inl['run']}, {inl['seconds']:.2f} s):")
        for k, v in inl["phases"].items():
            out.append(f"  {k:55s} {v:8.3f} s  {100 * v / inl['seconds']:5.1f} %")
        out.append("  INSERT … SELECT per indicator:")
        for k, v in inl["sql"].items():
            out.append(f"    {k:30s} {v:8.3f} s")
        for n, c in res["celery"].items():
            if "detail" in c:
                out.append(
                    f"  celery {n}w phases (run #{c['detail']['run']}, {c['detail']['seconds']:.2f} s):"
                )
                for k, v in c["detail"]["worker_phases"].items():
                    out.append(f"    {k:55s} {round(v, 3) if isinstance(v, float) else v}")
        for step, configs in (res.get("ab") or {}).items():
            if not isinstance(configs, dict):
                continue
            cur = configs["current"]["median"]
            out.append(
                f"  A/B {step} (run #{res['ab']['run']}, {res['ab']['counties']} counties, {res['ab']['rounds']} rounds):"
            )
            for name, x in configs.items():
                smp = ", ".join(f"{t:.3f}" for t in x["samples"])
                out.append(f"    {name:30s} {x['median']:8.3f}  ({cur / x['median']:.2f}× current)  [{smp}]")
        for name, v in res.get("variants", {}).items():
            d = v["detail"]
            out.append(f"  variant {name} phases ({d['seconds']:.2f} s):")
            for k, x in d["phases"].items():
                out.append(f"    {k:53s} {x:8.3f} s")
            for k, x in list(d["sql"].items())[:4]:
                out.append(f"      {k:30s} {x:8.3f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="county,province")
    parser.add_argument("--year", type=int, default=datetime.date.today().year - 1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", default="1,2", help="worker process counts for the Celery runs")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement at county scale")
    parser.add_argument(
        "--repeat-province", type=int, default=1, help="runs per measurement at province scale"
    )
    parser.add_argument("--requests", type=int, default=200, help="dashboard reads per region")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false", help="no warm-up run per worker")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the materialise statements")
    parser.add_argument("--variants", default="", help="comma-separated names from bench/variants_reports.py")
    parser.add_argument("--celery-variants", default="", help="variants also measured with the workers")
    parser.add_argument(
        "--ab", type=int, default=0, metavar="ROUNDS", help="province: A/B the changed steps in ROUNDS rounds"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_REPORTS_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REPORTS_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_reports"))
    parser.add_argument("--drop", action="store_true", help="drop the scratch database at the end")
    args = parser.parse_args()
    args.workers = [int(x) for x in args.workers.split(",") if x]
    args.variants = [x for x in args.variants.split(",") if x]
    args.celery_variants = [x for x in args.celery_variants.split(",") if x]
    args.workdir.mkdir(parents=True, exist_ok=True)

    configure_env(args)
    ensure_postgres_database(args.database_url)
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    server = connection.cursor().connection.server_version
    started = time.perf_counter()
    results = [run_scale(s, args) for s in args.scales.split(",") if s]
    head = (
        f"PostgreSQL {server // 10000}.{server % 10000} · year {args.year} (D = {args.year}-12-31) · "
        f"{os.cpu_count()} CPUs · load average {os.getloadavg()[0]:.2f} at the end · "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M} · took {time.perf_counter() - started:.0f} s"
    )
    lines = [head, "", *table(results, args.year), *phase_lines(results)]
    print()
    print("\n".join(lines))
    for res in results:
        for e in res.get("explain", []):
            print(f"\nEXPLAIN ANALYZE {e['indicator']} ({e['formula']}): {e['ms']} ms")
            if e is max(res["explain"], key=lambda x: x["ms"] or 0):
                print("\n".join("  " + ln for ln in e["plan"]))
        if res.get("explain"):
            print("\n(full plans in results.json)")
    (args.workdir / "results.md").write_text("\n".join(lines) + "\n")
    (args.workdir / "results.json").write_text(
        json.dumps({"head": head, "results": results}, indent=2, default=str)
    )
    print(f"\nwrote {args.workdir / 'results.md'} and {args.workdir / 'results.json'}")
    if args.drop:
        drop_database(args.database_url)


def drop_database(url: str) -> None:
    """DROP the scratch database (configure_env has checked its name)."""
    from django.db import connections

    connections.close_all()
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    cmd = ["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    cmd += ["-U", unquote(parts.username or "postgres"), "-d", "postgres", "-v", "ON_ERROR_STOP=1"]
    subprocess.run([*cmd, "-c", f'DROP DATABASE IF EXISTS "{name}"'], check=True, env=env)
    print(f"dropped database {name}")


if __name__ == "__main__":
    main()
