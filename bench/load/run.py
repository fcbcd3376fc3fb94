"""Load benchmark (issue 8): the production-shaped stack on loopback, driven by locust.

    .venv/bin/python bench/load/run.py                 # set up (once), run, print the table
    .venv/bin/python bench/load/run.py --fresh         # drop and rebuild eldercare_load first
    .venv/bin/python bench/load/run.py --levels 16 --duration 20 --no-zero-ceiling   # a quick look
    make load                                          # the same as the first line

1. Data — a scratch PostgreSQL database, eldercare_load (the only database this script creates,
   writes or drops): migrate; a county-scale county from bench/gen_reports.py (county 410101:
   20 townships, ~200 villages, 500 institutions with five years of effective-dated history,
   contracts, township reports, targets; written with COPY, explicit ids, before anything else
   so the sequences start after them); `load_demo` (PORTAL_ALLOW_DEMO=1: the demo county
   370306 and its users); a health-bureau user `load_health` scoped to county 410101
   (`create_portal_user`); `compute_reports --year Y --inline` for this year and last year;
   `collectstatic` (production's manifest storage needs it). Skipped when already done.
2. Stack — production settings through bench/load/settings.py (adds /_bench/ceiling/, turns the
   Secure flag off on the two cookies, nothing else; SECURE_SSL_REDIRECT=false is production's
   own switch): gunicorn `eldercare.wsgi` (the Dockerfile's command: 3 sync workers), a
   Celery worker (--concurrency 1) and beat, Redis database 11, CONN_MAX_AGE as production
   sets it (60 s, CONN_HEALTH_CHECKS on).
3. Drive — bench/load/drive.py in a second process (locust, headless): sign in through the
   login form, then per concurrency level one phase per endpoint. Then gunicorn is restarted
   with CONN_MAX_AGE=0 and the ceiling alone is measured again at each level.
4. Report — a markdown table (requests/s, p50/p95/p99, errors, ratio to the ceiling of the same
   level) on stdout and in --out-dir, plus the raw JSON.

Waits (up to --wait-load minutes) for the 1-minute load average to fall below --max-load
before driving, and records for each phase how the CPU was shared between the portal, the
driver and everything else: the machine has 2 cores shared with other work, and the load
generator itself competes with the server for them. `--render` prints the table again from the
JSON in --out-dir; `--worker-class gthread --threads 2 [--keep-alive 0]` is the comparison in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "bench"))

DB_NAME = "eldercare_load"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/11"
BENCH_USER = "load_health"
BENCH_REGION = "410101000000"  # gen_reports' county at county scale
PASSWORD = "Yiyang@2026"  # noqa: S105  # the demo password; a scratch database on loopback
WORK = Path("/tmp/eldercare_load")

ENDPOINT_LABELS = {
    "ceiling": "ceiling `/_bench/ceiling/` (20 rows)",
    "home": "home `/`",
    "institutions": "institution list `/institutions/?family=eldercare&status=operating`",
    "dashboard": "dashboard `/reports/`",
    "api_institutions": "API list `/api/v1/institutions/?page_size=20`",
    "import_dry_run": "import validation `POST /api/v1/imports/` (dry run, 4-row xlsx)",
    "mixed": "mixed (home 2 : list 4 : dashboard 3 : API 4 : import 1)",
}


def secret_key() -> str:
    """One random key for the scratch stack, kept in WORK, so the sessions signed in by one run
    (sessions.json) stay valid for the next stack and for profile.py."""
    path = WORK / "secret_key"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def base_env(conn_max_age: int | None = None) -> dict:
    env = dict(os.environ)
    for key in ("DEBUG", "CONN_MAX_AGE"):
        env.pop(key, None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.load.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=DB_URL,
        SECRET_KEY=secret_key(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        PORTAL_ID_ENCRYPTION_KEY="load-bench-encryption-key-not-a-secret",
        PORTAL_ID_HASH_KEY="load-bench-hash-key-not-a-secret",
        STATIC_ROOT=str(WORK / "static"),
        MEDIA_ROOT=str(WORK / "media"),
        PORTAL_UPLOAD_ROOT=str(WORK / "uploads"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    if conn_max_age is not None:
        env["CONN_MAX_AGE"] = str(conn_max_age)
    return env


def manage(*args, env: dict, quiet: bool = False) -> str:
    cmd = [str(BIN / "python"), str(ROOT / "manage.py"), *args]
    print("$", " ".join(args), flush=True)
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit(f"manage.py {args[0]} failed")
    if not quiet and res.stdout.strip():
        print(res.stdout.strip()[-2000:])
    return res.stdout


def psql(sql: str, db: str = "postgres") -> str:
    res = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout.strip()


# -- 1. data ----------------------------------------------------------------------------------
def setup(fresh: bool) -> None:
    from _pg import ensure_postgres_database

    if fresh:
        print(f"dropping {DB_NAME}")
        psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    ensure_postgres_database(DB_URL)
    # Setup runs without REDIS_URL: Celery tasks eager, nothing left queued for the stack.
    env = base_env()
    env.pop("REDIS_URL", None)
    env["PORTAL_ALLOW_DEMO"] = "1"
    manage("migrate", "--noinput", env=env, quiet=True)
    year = datetime.date.today().year
    if psql(f"SELECT count(*) FROM regions_region WHERE code = '{BENCH_REGION}'", DB_NAME) == "0":
        generate_county()
    manage("load_demo", "--quiet-logins", env=env)
    manage(
        "create_portal_user", BENCH_USER, "--role", "health", "--region", BENCH_REGION,
        "--password", PASSWORD, "--full-name", "负载测试 卫健局", env=env,
    )  # fmt: skip
    for y in (year - 1, year):
        done = psql(
            f"SELECT count(*) FROM assessments_reportrun WHERE year = {y} AND root_id IS NULL "
            "AND status = 'complete' AND reason = 'command'",
            DB_NAME,
        )
        if done == "0":
            manage("compute_reports", "--year", str(y), "--inline", env=env)
    manage("collectstatic", "--noinput", env=env, quiet=True)
    counts = psql(
        "SELECT (SELECT count(*) FROM institutions_institution) || ' institutions, ' || "
        "(SELECT count(*) FROM institutions_institutionversion) || ' versions, ' || "
        "(SELECT count(*) FROM contracts_contract) || ' contracts, ' || "
        "(SELECT count(*) FROM assessments_townshipreport) || ' township reports, ' || "
        "(SELECT count(*) FROM regions_region) || ' regions, ' || "
        "(SELECT count(*) FROM assessments_reportrow) || ' report rows'",
        DB_NAME,
    )
    print(f"{DB_NAME}: {counts}")


def generate_county() -> None:
    """bench/gen_reports.py's county scale, written into eldercare_load without its TRUNCATE
    (the tables are empty: this runs right after the first migrate)."""
    import gen_reports
    import psycopg2

    if psql("SELECT count(*) FROM institutions_institution", DB_NAME) != "0":
        raise SystemExit(f"{DB_NAME} already has institutions but no county {BENCH_REGION}: use --fresh")
    conn = psycopg2.connect(DB_URL)
    t0 = time.perf_counter()
    try:
        with conn, conn.cursor():
            counts = gen_reports.Generator(
                conn, gen_reports.SCALES["county"], seed=7, last_year=datetime.date.today().year - 1
            ).run()
        conn.autocommit = True
        with conn.cursor() as cur:
            for table in gen_reports.TABLES:
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()
    print(f"generated county {BENCH_REGION} in {time.perf_counter() - t0:.1f} s: {json.dumps(counts)}")


# -- 2. the stack -----------------------------------------------------------------------------
class Stack:
    def __init__(self, args, conn_max_age: int | None):
        self.args = args
        self.env = base_env(conn_max_age)
        self.env["REDIS_URL"] = REDIS_URL
        self.procs: list[subprocess.Popen] = []
        self.label = f"CONN_MAX_AGE={conn_max_age if conn_max_age is not None else '60 (production)'}"

    def spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(WORK / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        print(f"started {name} (pid {proc.pid}): {' '.join(cmd[1:])}", flush=True)
        return proc

    def start(self, celery: bool = True) -> None:
        a = self.args
        if celery:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()  # the benchmark's own Redis database only
            self.spawn(
                "worker",
                [str(BIN / "celery"), "-A", "eldercare", "worker", "-l", "warning", "--concurrency", "1",
                 "-n", "load-worker@%h"],
            )  # fmt: skip
            self.spawn(
                "beat",
                [str(BIN / "celery"), "-A", "eldercare", "beat", "-l", "warning", "--scheduler",
                 "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile", str(WORK / "beat.pid")],
            )  # fmt: skip
        self.gunicorn = self.spawn(
            "gunicorn",
            [str(BIN / "gunicorn"), "eldercare.wsgi:application", "--bind", f"127.0.0.1:{a.port}",
             "--worker-class", a.worker_class, "--workers", str(a.workers),
             *(["--threads", str(a.threads)] if a.worker_class == "gthread" else []),
             "--timeout", "60", "--access-logfile", str(WORK / "access.log"), "--backlog", "2048",
             *(["--keep-alive", str(a.keep_alive)] if a.keep_alive is not None else [])],
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{a.port}/_bench/ceiling/", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.gunicorn.poll() is not None:
                self.stop()
                raise SystemExit(f"gunicorn did not come up: see {WORK / 'gunicorn.log'}")
            time.sleep(0.5)
        time.sleep(2)  # let the worker and beat finish starting before anything is measured

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for_quiet(max_load: float, minutes: float) -> float:
    deadline = time.monotonic() + minutes * 60
    while True:
        load = os.getloadavg()[0]
        if load < max_load or time.monotonic() > deadline:
            return load
        print(f"load average {load:.2f} ≥ {max_load}: waiting", flush=True)
        time.sleep(20)


def drive(args, stack: Stack, phases: str | None, out: Path) -> dict:
    cmd = [
        str(BIN / "python"), str(HERE / "drive.py"), "--host", f"http://127.0.0.1:{args.port}",
        "--levels", args.levels, *(["--phases", phases] if phases else []), "--duration", str(args.duration),
        "--warmup", str(args.warmup), "--sessions", str(WORK / "sessions.json"), "--reader", BENCH_USER,
        "--label", stack.label, "--out", str(out),
    ]  # fmt: skip
    env = dict(stack.env)
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)
    return json.loads(out.read_text())


# -- 4. the table -----------------------------------------------------------------------------
def fmt_ms(v) -> str:
    return "—" if v is None else f"{v:.0f}"


def _cpu(p: dict) -> str:
    share = p.get("cpu_share")
    if share:
        # The portal / the driver / everything else: the machine's busy time less the first two
        # (other people's work, the noise; it also holds the few PostgreSQL backends that ended
        # inside the window, so it is an upper bound and the portal's share a lower one).
        other = max(p["machine_cpu_busy"] - share["stack"] - share["driver"], 0)
        return f"{share['stack']:.0%} / {share['driver']:.0%} / {other:.0%}"
    return f"busy {p['machine_cpu_busy']:.0%}, load {p['loadavg_at_start']:.1f}"


def per_cpu_second(p: dict) -> float | None:
    """Requests per CPU-second of the portal (gunicorn + its PostgreSQL backends + Celery): what
    the phase's throughput would be per core if nothing else ran — the figure that survives the
    noise of a shared machine. Valid with persistent connections only (backends that end inside
    the window are not counted)."""
    share = (p.get("cpu_share") or {}).get("stack")
    if not share:
        return None
    return p["ok_rps"] / (share * (os.cpu_count() or 1))


def _level_ceiling(rows: list[dict], key) -> float | None:
    vals = [key(p) for p in rows if p["endpoint"] == "ceiling" and key(p)]
    return sum(vals) / len(vals) if vals else None


def table(main: dict, zero: dict | None) -> str:
    phases = main["phases"]
    levels = sorted({p["users"] for p in phases})
    lines = [
        "| users | endpoint | req/s | × ceiling | p50 ms | p95 ms | p99 ms | errors / requests "
        "| CPU: portal / driver / other | req per portal CPU-s | × ceiling (CPU) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for users in levels:
        rows = [p for p in phases if p["users"] == users]
        ceiling_rps = _level_ceiling(rows, lambda p: p["ok_rps"])
        ceiling_cpu = _level_ceiling(rows, per_cpu_second)
        n_ceil = sum(p["endpoint"] == "ceiling" for p in rows)
        seen = 0
        for p in rows:
            name = ENDPOINT_LABELS.get(p["endpoint"], p["endpoint"])
            if p["endpoint"] == "ceiling" and n_ceil > 1:
                name += " — first" if seen == 0 else " — last"
                seen += 1
            ratio = f"{p['ok_rps'] / ceiling_rps:.2f}×" if ceiling_rps else "—"
            eff = per_cpu_second(p)
            eff_ratio = f"{eff / ceiling_cpu:.2f}×" if eff and ceiling_cpu else "—"
            lines.append(
                f"| {users} | {name} | {p['ok_rps']:.1f} | {ratio} | {fmt_ms(p['p50'])} | {fmt_ms(p['p95'])} | "
                f"{fmt_ms(p['p99'])} | {p['errors']} / {p['requests']} | {_cpu(p)} | "
                f"{'—' if eff is None else f'{eff:.0f}'} | {eff_ratio} |"
            )
    if zero:
        lines += ["", "CONN_MAX_AGE=0 (Django's default), same stack otherwise:", ""]
        lines += [
            "| users | endpoint | req/s | × persistent ceiling | p50 ms | p95 ms | p99 ms | errors / requests "
            "| CPU: portal / driver / other |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for p in zero["phases"]:
            base = _level_ceiling([q for q in phases if q["users"] == p["users"]], lambda q: q["ok_rps"])
            ratio = f"{p['ok_rps'] / base:.2f}×" if base else "—"
            lines.append(
                f"| {p['users']} | {ENDPOINT_LABELS.get(p['endpoint'], p['endpoint'])} | {p['ok_rps']:.1f} | "
                f"{ratio} | {fmt_ms(p['p50'])} | {fmt_ms(p['p95'])} | {fmt_ms(p['p99'])} | "
                f"{p['errors']} / {p['requests']} | {_cpu(p)} |"
            )
    return "\n".join(lines)


def goals(main: dict) -> str:
    out = []
    by = {(p["users"], p["endpoint"]): p for p in main["phases"]}
    levels = sorted({p["users"] for p in main["phases"]})

    def ceiling_at(u):
        ceil = [p for p in main["phases"] if p["users"] == u and p["endpoint"] == "ceiling"]
        return sum(p["ok_rps"] for p in ceil) / len(ceil) if ceil else None

    if 16 in levels and ceiling_at(16):
        c = ceiling_at(16)
        for name, need in (
            ("institutions", 0.5),
            ("api_institutions", 0.5),
            ("home", 0.5),
            ("dashboard", 0.7),
        ):
            p = by.get((16, name))
            if p:
                r = p["ok_rps"] / c
                ok = r >= need and (p["p95"] or 1e9) < 200
                out.append(
                    f"- {name} at 16: {r:.2f}× ceiling (goal ≥ {need:.2f}×), p95 {fmt_ms(p['p95'])} ms "
                    f"(goal < 200): {'met' if ok else 'NOT met'}"
                )
    top = max(levels)
    errs = sum(p["errors"] for p in main["phases"] if p["users"] == top)
    out.append(f"- errors at {top}: {errs} ({'met' if errs == 0 else 'NOT met'}: goal 0)")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fresh", action="store_true", help=f"drop and rebuild {DB_NAME}")
    ap.add_argument("--skip-setup", action="store_true")
    ap.add_argument("--levels", default="16,50,100")
    ap.add_argument("--phases", default=None, help="comma-separated (default: drive.py's)")
    ap.add_argument("--duration", type=float, default=30.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=5.0)
    # sync, 3 workers: the Dockerfile's command; measured against gthread in docs/benchmarks.md.
    ap.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--keep-alive", type=int, default=None, help="gunicorn --keep-alive (gthread)")
    ap.add_argument("--threads", type=int, default=1, help="gthread only")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--no-zero-ceiling", action="store_true", help="skip the CONN_MAX_AGE=0 ceiling")
    ap.add_argument("--max-load", type=float, default=4.0)
    ap.add_argument("--wait-load", type=float, default=10.0, help="minutes to wait for --max-load")
    ap.add_argument("--out-dir", default=str(WORK))
    ap.add_argument("--render", action="store_true", help="only print the table of the JSON in --out-dir")
    args = ap.parse_args(argv)
    # SIGTERM (and SIGINT, which a background job ignores otherwise) stop the stack on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    if args.render:
        d = Path(args.out_dir)
        main_res = json.loads((d / "persistent.json").read_text())
        zero_path = d / "conn_max_age_0.json"
        zero = json.loads(zero_path.read_text()) if zero_path.exists() else None
        print(f"{table(main_res, zero)}\n\nGoals:\n{goals(main_res)}")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.skip_setup:
        setup(args.fresh)
    if not port_free(args.port):
        raise SystemExit(f"port {args.port} is in use")
    phases = args.phases  # None: drive.py's DEFAULT_PHASES
    load = wait_for_quiet(args.max_load, args.wait_load)
    print(f"load average before the run: {load:.2f} ({os.getloadavg()})", flush=True)
    stack = Stack(args, None)
    stack.start()
    try:
        main_res = drive(args, stack, phases, out_dir / "persistent.json")
    finally:
        stack.stop()
    zero = None
    if not args.no_zero_ceiling:
        stack0 = Stack(args, 0)
        stack0.start(celery=False)
        try:
            zero = drive(args, stack0, "ceiling", out_dir / "conn_max_age_0.json")
        finally:
            stack0.stop()
    header = (
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}, gunicorn {args.worker_class} --workers {args.workers}"
        f"{f' --threads {args.threads}' if args.worker_class == 'gthread' else ''}, {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up per phase, "
        f"load average before {load:.2f}"
    )
    text = f"{header}\n\n{table(main_res, zero)}\n\nGoals:\n{goals(main_res)}\n"
    (out_dir / "results.md").write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
