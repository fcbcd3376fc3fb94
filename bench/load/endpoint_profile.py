"""Where each load-benchmark endpoint spends its time, in one process (no server, no load).

    .venv/bin/python bench/load/endpoint_profile.py [--repeat 10] [--explain] [--cprofile dashboard]

Runs after bench/load/run.py has set up eldercare_load. For each endpoint, with the stack's
settings (bench/load/settings.py) and the same users, signed in through the login form: the median wall time of --repeat requests
through Django's test client, the number of SQL queries and their total time, and the statements
that repeat (the shape of an N+1: the same SQL with different parameters). --explain prints
EXPLAIN ANALYZE of the slowest statement of each endpoint; --cprofile NAME prints the top
functions of one endpoint by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as load_run  # noqa: E402  (the stack's environment, minus the server)

for key, value in load_run.base_env().items():
    os.environ.setdefault(key, value)
os.environ["REDIS_URL"] = load_run.REDIS_URL

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from endpoints import ENDPOINTS, FIXTURE  # noqa: E402


def client_for(username: str) -> Client:
    """Signed in through the login form (the test client does not check CSRF)."""
    c = Client(HTTP_HOST="127.0.0.1")
    resp = c.post("/accounts/login/", {"username": username, "password": load_run.PASSWORD})
    if resp.status_code != 302:
        raise SystemExit(f"sign-in as {username} failed: HTTP {resp.status_code}")
    return c


def request(c: Client, name: str):
    method, path = ENDPOINTS[name]
    if method == "GET":
        return c.get(path)
    with FIXTURE.open("rb") as fh:
        return c.post(
            path,
            {"kind": "institutions", "dry_run": "true", "as_of": "2026-11-30", "file": fh},
        )


def shape(sql: str) -> str:
    sql = re.sub(r"'[^']*'", "?", sql)
    return re.sub(r"\b\d+\b", "?", sql)[:160]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--explain", action="store_true")
    ap.add_argument("--cprofile", default="")
    ap.add_argument("--endpoints", default=",".join(ENDPOINTS))
    args = ap.parse_args(argv)
    reader, importer = client_for(load_run.BENCH_USER), client_for("civil01")
    for name in args.endpoints.split(","):
        c = importer if name == "import_dry_run" else reader
        resp = request(c, name)  # warm-up
        if resp.status_code not in (200, 201):
            print(f"{name}: HTTP {resp.status_code}")
            continue
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            request(c, name)
            times.append((time.perf_counter() - t0) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            resp = request(c, name)
            wall = (time.perf_counter() - t0) * 1000
        queries = ctx.captured_queries
        sql_ms = sum(float(q["time"]) for q in queries) * 1000
        repeats = Counter(shape(q["sql"]) for q in queries).most_common(3)
        print(
            f"{name:<17} median {statistics.median(times):7.1f} ms  (captured run {wall:6.1f} ms)  "
            f"{len(queries):3d} queries, {sql_ms:6.1f} ms SQL, {len(resp.content) // 1024} KiB"
        )
        for sql, n in repeats:
            if n > 1:
                print(f"    ×{n}  {sql}")
        if args.explain and queries:
            slow = max(queries, key=lambda q: float(q["time"]))
            print(f"    slowest ({float(slow['time']) * 1000:.1f} ms): {slow['sql'][:300]}")
            if slow["sql"].lstrip().upper().startswith("SELECT"):
                with connection.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + slow["sql"])
                    for (line,) in cur.fetchall():
                        print("      " + line)
        if name == args.cprofile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.repeat):
                request(c, name)
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(
                os.environ.get("PROFILE_SORT", "cumulative")
            ).print_stats(int(os.environ.get("PROFILE_LINES", "40")))
            print(buf.getvalue())


if __name__ == "__main__":
    main()
