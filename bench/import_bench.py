"""Benchmark: importing an `institutions` sheet, against two baselines measured in the same run.

    .venv/bin/python bench/import_bench.py                              # 10k and 100k rows, xlsx
    .venv/bin/python bench/import_bench.py --sizes 10000 --format csv
    .venv/bin/python bench/import_bench.py --sizes 10000,100000 --skip-iie-above 10000

For each size N the sheet comes from bench/gen_institutions.py (cached in --workdir) and each
step runs in a fresh child process (this script with --phase), so peak memory (VmHWM) is per
step and one step's caches don't help the next:

  read      eldercare.sheets.readers.read_rows(bytes)
  copy      the physical floor: the rows parsed by institutions.importers.parse_row (untimed,
            reported as "parse"), then one PostgreSQL COPY into institutions_institution
            (timed: CSV buffer + COPY + commit); "from bytes" adds read and parse
  iie       django-import-export's default `import_data(dataset, dry_run=False)` with the
            ModelResource of bench/iie_resource.py; "from bytes" adds read + Dataset build
  engine    eldercare.sheets.engine.start_import(...) from the bytes (validate + commit),
            then a re-import of the same file in another child (should write nothing)

The institutions table is emptied (TRUNCATE … RESTART IDENTITY CASCADE) and a CHECKPOINT taken
before every writing step. Database: a scratch PostgreSQL database whose name starts with
`bench_` (default postgres://postgres@127.0.0.1:5432/bench_import, created if missing, then
migrated); the region tree of the generated file and one county user are installed. The user
holds --roles, default health,civil: the sheet mixes both families and a health-only user may
not import 养老服务机构 rows (the engine refuses the whole file). The engine's stored uploads go
to --workdir/uploads, not var/uploads. Results: a table on stdout, plus results.json /
results.md in --workdir.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

import gen_institutions  # noqa: E402
from _pg import ensure_postgres_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_import"
USERNAME = "bench_import_health"
TABLE = "institutions_institution"


# --- Django against the scratch database -------------------------------------------------
def configure_env(database_url: str, workdir: Path) -> None:
    name = unquote(urlsplit(database_url).path.lstrip("/"))
    if not urlsplit(database_url).scheme.startswith("postgres") or not name.startswith("bench_"):
        sys.exit(f"refusing {database_url!r}: use a PostgreSQL database whose name starts with 'bench_'")
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "eldercare.settings.local"
    os.environ["DEBUG"] = "0"  # DEBUG would keep every query in connection.queries
    os.environ["REDIS_URL"] = ""  # Celery eager, in this process
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["PORTAL_UPLOAD_ROOT"] = str(workdir / "uploads")  # the engine stores uploads here


def django_setup() -> None:
    import django

    django.setup()


def install_fixtures(prefix: str, roles: set[str]) -> None:
    """The generated file's region tree (plain bulk_create) and one county user."""
    from eldercare.accounts import services
    from eldercare.accounts.scope import SYSTEM
    from eldercare.regions import codes
    from eldercare.regions.models import Region

    tree = gen_institutions.region_tree(prefix)
    regions = [
        Region(code=code, name=name, level=codes.level_of(code), parent_id=parent)
        for code, name, parent in tree
    ]
    Region.objects.bulk_create(regions, batch_size=1000, ignore_conflicts=True)
    user = services.user_save(
        actor=SYSTEM, username=USERNAME, region=f"{prefix}000000", full_name="基准 卫健局", is_active=True
    )
    if user.roles != roles:
        services.user_set_roles(actor=SYSTEM, user=user, roles=roles)


def empty_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE} RESTART IDENTITY CASCADE")
        cursor.execute("CHECKPOINT")


def table_state() -> dict:
    from django.db.models import Max

    from institutions.models import Institution, InstitutionVersion

    return {
        "institutions": Institution.objects.count(),
        "versions": InstitutionVersion.objects.count(),
        "max_updated_at": str(Institution.objects.aggregate(m=Max("updated_at"))["m"]),
    }


# --- the child side: one step per process ----------------------------------------------
def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def data_rows(rows):
    """(header cells, data rows) of the sheet via the portal's header finder."""
    from eldercare.sheets.headers import find_header
    from institutions.importers import COLUMNS

    match = find_header(rows, COLUMNS)
    assert match is not None and not match.missing_required, match
    return match, rows[match.row :]


def phase_read(data: bytes, **_) -> dict:
    from eldercare.sheets.readers import read_rows

    rss0 = memory_kb("VmRSS")
    t0 = time.perf_counter()
    rows = read_rows(data)
    took = time.perf_counter() - t0
    return {"seconds": took, "rss_before_kb": rss0, "sheet_rows": len(rows)}


def _db_value(value):
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def phase_copy(data: bytes, **_) -> dict:
    """read + parse (timed separately), then COPY the parsed facts (the floor)."""
    import csv

    from django.db import connection, transaction
    from django.utils import timezone

    from eldercare.sheets.readers import read_rows
    from institutions.importers import parse_row
    from institutions.models import Institution

    rss0 = memory_kb("VmRSS")
    t0 = time.perf_counter()
    rows = read_rows(data)
    t1 = time.perf_counter()
    match, body = data_rows(rows)
    positions = [(pos, col.key) for pos, col in match.columns.items()]
    parsed = [
        parse_row(match.row + 1 + i, {key: cells[pos] for pos, key in positions})
        for i, cells in enumerate(body)
    ]
    t2 = time.perf_counter()
    bad = sum(1 for p in parsed if p.errors)
    assert not bad, f"{bad} rows with errors, e.g. {next(p.errors for p in parsed if p.errors)}"

    now = timezone.now().isoformat()
    fields = [f for f in Institution._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    fixed = {"created_at": now, "updated_at": now, "portal_no": None, "run_by": None}
    defaults = {f.name: f.get_default() for f in fields}

    def record(p):
        facts = p.facts
        out = []
        for f in fields:
            name = f.name
            if name in fixed:
                value = fixed[name]
            elif name == "family":
                value = p.family
            elif name == "credit_code":
                value = p.credit_code
            else:
                value = facts.get(name, defaults[name])
            out.append(_db_value(value))
        return out

    t3 = time.perf_counter()
    buf = io.StringIO()
    csv.writer(buf).writerows(record(p) for p in parsed)
    buf.seek(0)
    sql = f"COPY {TABLE} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, buf)
    t4 = time.perf_counter()
    return {
        "seconds": t4 - t3,
        "read_seconds": t1 - t0,
        "parse_seconds": t2 - t1,
        "from_bytes_seconds": (t2 - t0) + (t4 - t3),
        "rss_before_kb": rss0,
        "columns": len(columns),
    }


def phase_iie(data: bytes, **_) -> dict:
    import tablib
    from iie_resource import InstitutionResource

    from eldercare.sheets.readers import read_rows

    rss0 = memory_kb("VmRSS")
    t0 = time.perf_counter()
    rows = read_rows(data)
    match, body = data_rows(rows)
    header_row = rows[match.row - 1]
    width = len(header_row)
    dataset = tablib.Dataset(*[list(r[:width]) + [""] * (width - len(r)) for r in body], headers=header_row)
    t1 = time.perf_counter()
    result = InstitutionResource().import_data(dataset, dry_run=False)
    t2 = time.perf_counter()
    errors = [e for row in result.rows for e in row.errors][:3]
    invalid = [r for r in result.invalid_rows][:3]
    return {
        "seconds": t2 - t1,
        "from_bytes_seconds": t2 - t0,
        "rss_before_kb": rss0,
        "totals": {str(k): v for k, v in result.totals.items()},
        "errors": [repr(e.error) for e in errors] + [str(r.error_dict) for r in invalid],
    }


def run_engine(actor, data: bytes, as_of: datetime.date, filename: str = "bench.xlsx"):
    """PLACEHOLDER — the portal's spreadsheet engine (eldercare/sheets/engine.py) is being
    written; adjust this call once its API settles. Returns the batch, or raises ImportError
    while the module does not exist yet."""
    from eldercare.sheets.engine import start_import

    return start_import(
        actor=actor, kind="institutions", data=data, filename=filename, as_of=as_of, dry_run=False
    )


def phase_engine(data: bytes, *, filename: str, as_of: str, **_) -> dict:
    from eldercare.accounts.models import User

    actor = User.objects.get(username=USERNAME)
    before = table_state()
    rss0 = memory_kb("VmRSS")
    t0 = time.perf_counter()
    try:
        batch = run_engine(actor, data, datetime.date.fromisoformat(as_of), filename)
    except ImportError as exc:
        return {"available": False, "note": f"engine not available yet ({exc})"}
    except Exception as exc:  # report and go on: the other steps still mean something
        return {"available": True, "failed": True, "note": f"engine raised {exc.__class__.__name__}: {exc}"}
    took = time.perf_counter() - t0
    timings = getattr(batch, "timings", None)
    attrs = ("pk", "status", "rows_total", "created", "updated", "unchanged", "error_count", "message")
    summary = {attr: getattr(batch, attr) for attr in attrs if hasattr(batch, attr)}
    if getattr(batch, "error_count", 0) and hasattr(batch, "get_result"):
        summary["first_errors"] = batch.get_result().get("errors", [])[:2]
    return {
        "available": True,
        "seconds": took,
        "rss_before_kb": rss0,
        "timings": dict(timings) if isinstance(timings, dict) else None,
        "batch": summary or repr(batch)[:300],
        "before": before,
        "after": table_state(),
    }


PHASES = {"read": phase_read, "copy": phase_copy, "iie": phase_iie, "engine": phase_engine}


def child(args) -> None:
    configure_env(args.database_url, args.workdir)
    django_setup()
    data = args.file.read_bytes()
    out = PHASES[args.phase](data, filename=f"bench{args.file.suffix}", as_of=args.as_of)
    out["peak_rss_kb"] = memory_kb("VmHWM")
    print("RESULT " + json.dumps(out, default=str))


# --- the parent side -------------------------------------------------------------------
def run_child(args, phase: str, file: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--file", str(file)]
    cmd += ["--database-url", args.database_url, "--as-of", args.as_of, "--workdir", str(args.workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        return {"failed": True, "note": f"{phase} child exited {proc.returncode}"}
    return json.loads(lines[-1][len("RESULT ") :])


def sheet_for(args, n: int) -> Path:
    path = args.workdir / f"institutions_{n}_s{args.seed}_{args.region_prefix}.{args.format}"
    if not path.exists() or args.regen:
        t0 = time.perf_counter()
        gen_institutions.write(n, path, seed=args.seed, prefix=args.region_prefix)
        print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    return path


def measure_size(args, n: int, iie_rate: float | None) -> dict:
    from django.db import connection

    file = sheet_for(args, n)
    res: dict = {"n": n, "file": str(file), "bytes": file.stat().st_size}
    print(f"[{n:,}] read …", flush=True)
    res["read"] = run_child(args, "read", file)
    connection.close()
    empty_table()
    print(f"[{n:,}] COPY …", flush=True)
    res["copy"] = run_child(args, "copy", file)
    res["copy"]["state"] = table_state()
    if args.skip_iie_above is not None and n > args.skip_iie_above:
        res["iie"] = {"extrapolated": True, "rate_from": iie_rate}
        if iie_rate:
            res["iie"]["seconds"] = n / iie_rate
    else:
        empty_table()
        print(f"[{n:,}] django-import-export … (slow)", flush=True)
        res["iie"] = run_child(args, "iie", file)
        res["iie"]["state"] = table_state()
    empty_table()
    print(f"[{n:,}] engine …", flush=True)
    res["engine"] = run_child(args, "engine", file)
    batch = res["engine"].get("batch")
    if isinstance(batch, dict) and batch.get("status") == "committed":
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        print(f"[{n:,}] engine re-import (unchanged) …", flush=True)
        res["engine_again"] = run_child(args, "engine", file)
    return res


def fmt_s(x):
    return "—" if x is None else f"{x:.2f}"


def outcome(eng: dict) -> str:
    """What the batch did: status and counts; for a re-import, whether any row was written."""
    if not eng:
        return ""
    batch = eng.get("batch") if isinstance(eng.get("batch"), dict) else {}
    status = batch.get("status", "?")
    note = (
        f"{status}: +{batch.get('created', '?')} ~{batch.get('updated', '?')} ={batch.get('unchanged', '?')}"
    )
    if batch.get("error_count"):
        first = (batch.get("first_errors") or [{}])[0].get("message", "")
        note += f", {batch['error_count']:,} errors (e.g. {first}) — NOT COMMITTED"
    if eng.get("before", {}).get("institutions"):  # a re-import
        note += "; wrote nothing" if eng["before"] == eng["after"] else "; WROTE ROWS"
    return note


def table(results: list[dict]) -> list[str]:
    out = [
        "| rows | step | s | rows/s | × COPY | peak RSS MB (before step) | note |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for res in results:
        n = res["n"]
        copy = res["copy"].get("seconds")
        floor = res["copy"].get("from_bytes_seconds")

        def line(step, seconds, phase=None, note="", base=copy, _n=n):
            rate = f"{_n / seconds:,.0f}" if seconds else "—"
            ratio = f"{seconds / base:.1f}×" if seconds and base else "—"
            mem = "—"
            if phase and phase.get("peak_rss_kb"):
                mem = f"{phase['peak_rss_kb'] / 1024:,.0f} ({phase.get('rss_before_kb', 0) / 1024:,.0f})"
            out.append(f"| {_n:,} | {step} | {fmt_s(seconds)} | {rate} | {ratio} | {mem} | {note} |")

        line("read_rows (bytes → cells)", res["read"].get("seconds"), res["read"])
        line("parse_row, all rows (pure)", res["copy"].get("parse_seconds"))
        line("**COPY** (parsed rows → table): the floor", copy, res["copy"])
        line("read + parse + COPY (floor from bytes)", floor)
        iie = res["iie"]
        if iie.get("extrapolated"):
            note = "EXTRAPOLATED from the smaller size's rows/s" if iie.get("seconds") else "not measured"
            line("django-import-export import_data", iie.get("seconds"), note=note)
        else:
            note = "" if not iie.get("errors") else f"errors: {iie['errors'][:1]}"
            line("django-import-export import_data", iie.get("seconds"), iie, note=note)
            line("django-import-export from bytes", iie.get("from_bytes_seconds"))
        eng = res["engine"]
        if not eng.get("available") or eng.get("failed"):
            out.append(f"| {n:,} | engine start_import | — | — | — | — | {eng.get('note', '')} |")
        else:
            line("engine start_import (validate+commit, from bytes)", eng["seconds"], eng, note=outcome(eng))
            again = res.get("engine_again", {})
            line("engine re-import, unchanged file", again.get("seconds"), again, note=outcome(again))
    return out


def ratios(results: list[dict]) -> list[str]:
    out = []
    for res in results:
        n, eng, iie, copy = res["n"], res["engine"], res["iie"], res["copy"]
        floor = copy.get("from_bytes_seconds")
        if eng.get("seconds") and floor:
            out.append(f"- {n:,} rows: engine = {eng['seconds'] / floor:.1f}× the from-bytes COPY floor")
        if eng.get("seconds") and iie.get("from_bytes_seconds"):
            out.append(
                f"- {n:,} rows: engine is {iie['from_bytes_seconds'] / eng['seconds']:.1f}× faster than "
                "django-import-export (both from bytes)"
            )
        elif eng.get("seconds") and iie.get("seconds"):
            out.append(
                f"- {n:,} rows: engine is {iie['seconds'] / eng['seconds']:.1f}× faster than "
                "django-import-export (IIE extrapolated, import_data only)"
            )
        for key in ("engine", "engine_again"):
            if res.get(key, {}).get("timings"):
                out.append(f"- {n:,} rows, {key} timings: {res[key]['timings']}")
    return out


def parent(args) -> None:
    configure_env(args.database_url, args.workdir)
    ensure_postgres_database(args.database_url)
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    install_fixtures(args.region_prefix, set(args.roles.split(",")))
    args.workdir.mkdir(parents=True, exist_ok=True)
    server = connection.cursor().connection.server_version
    results, iie_rate = [], None
    for n in sorted(int(s) for s in args.sizes.split(",")):
        res = measure_size(args, n, iie_rate)
        if res["iie"].get("seconds") and not res["iie"].get("extrapolated"):
            iie_rate = n / res["iie"]["seconds"]
        results.append(res)
    empty_table()

    head = (
        f"PostgreSQL {server // 10000}.{server % 10000} · {args.format} sheets (seed {args.seed}) · "
        f"{os.cpu_count()} CPUs · load average {os.getloadavg()[0]:.2f} at the end · "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
    )
    lines = [head, "", *table(results), "", *ratios(results)]
    print()
    print("\n".join(lines))
    (args.workdir / "results.md").write_text("\n".join(lines) + "\n")
    (args.workdir / "results.json").write_text(json.dumps({"head": head, "results": results}, indent=2))
    print(f"\nwrote {args.workdir / 'results.md'} and {args.workdir / 'results.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--region-prefix", default="370306")
    parser.add_argument(
        "--roles",
        default="health,civil",
        help="roles of the importing county user (health alone may not import 养老服务机构 rows)",
    )
    parser.add_argument(
        "--skip-iie-above", type=int, help="extrapolate django-import-export above this many rows"
    )
    parser.add_argument("--as-of", default=datetime.date.today().isoformat())
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_import"))
    parser.add_argument("--regen", action="store_true", help="regenerate the sheets even if cached")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_IMPORT_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
