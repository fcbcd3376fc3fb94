"""The load generator of the load benchmark (issue 8): locust in library mode, headless.

    .venv/bin/python bench/load/drive.py --host http://127.0.0.1:8765 --levels 16,50,100 \\
        --duration 30 --out /tmp/eldercare_load/drive.json

bench/load/run.py starts the stack and runs this in a second process. First it signs in through
the portal's login form (GET /accounts/login/ for the CSRF token, POST the credentials) once per
simulated user and writes the sessions to --sessions; then, for each concurrency level, it runs
one phase per endpoint: N users hitting only that endpoint with no think time (so N open
connections), --warmup seconds discarded, then --duration seconds measured. The ceiling runs
first and last at each level (its two figures show how much the machine drifted meanwhile).

Every completed request inside the window is recorded (locust's request event): requests/s is
their number over the window, and p50/p95/p99 are exact (nearest-rank over the raw samples, not
locust's rounded histogram). An error is anything but the expected status (200; 201 and a
validated or invalid batch for the import), including connection errors and timeouts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import sys
import time
from pathlib import Path

import gevent
from locust.env import Environment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import locustfile  # noqa: E402
import requests  # noqa: E402

PASSWORD = "Yiyang@2026"  # the demo password (load_demo) and the bench user's (run.py)  # noqa: S105


def sign_in(host: str, username: str, password: str) -> dict:
    """One session through the login form, exactly as a browser does it."""
    s = requests.Session()
    page = s.get(f"{host}/accounts/login/", timeout=30)
    page.raise_for_status()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not match:
        raise SystemExit("no CSRF token on the login page")
    resp = s.post(
        f"{host}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": match.group(1), "next": ""},
        allow_redirects=False,
        timeout=30,
    )
    if resp.status_code != 302 or "sessionid" not in s.cookies:
        raise SystemExit(f"sign-in as {username} failed: HTTP {resp.status_code}")
    home = s.get(f"{host}/", allow_redirects=False, timeout=30)
    if home.status_code != 200:
        raise SystemExit(f"{username}: home page after sign-in answered HTTP {home.status_code}")
    return {"username": username, "sessionid": s.cookies["sessionid"], "csrftoken": s.cookies["csrftoken"]}


def make_sessions(host: str, path: Path, readers: int, importers: int, reader: str, importer: str) -> dict:
    if path.exists():
        pool = json.loads(path.read_text())
        if len(pool.get("reader", [])) >= readers and len(pool.get("importer", [])) >= importers:
            # Every kept session must still be signed in: one used only at 100 users may have
            # passed the 30-minute idle expiry while the others were kept alive (a redirect then
            # counts as an error in the window).
            alive = all(
                requests.get(
                    f"{host}/accounts/profile/",
                    headers={"Cookie": f"sessionid={entry['sessionid']}"},
                    allow_redirects=False,
                    timeout=30,
                ).status_code
                == 200
                for entry in [*pool["reader"], *pool["importer"]]
            )
            if alive:
                return pool
    t0 = time.perf_counter()
    pool = {
        "reader": [sign_in(host, reader, PASSWORD) for _ in range(readers)],
        "importer": [sign_in(host, importer, PASSWORD) for _ in range(importers)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pool))
    print(f"signed in {readers} × {reader} and {importers} × {importer} in {time.perf_counter() - t0:.1f} s")
    return pool


def pct(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k]


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_by_pid(bind: str) -> dict[int, tuple[str, int]]:
    """Every live process: (owner, CPU jiffies so far). Owners: the portal under test
    ("stack": gunicorn on `bind`, the benchmark's Celery worker and beat, PostgreSQL backends
    of eldercare_load), this driver, and everything else on the machine ("other": other
    people's work, the noise)."""
    me = os.getpid()
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        f = stat.rsplit(")", 1)[1].split()
        jiffies = int(f[11]) + int(f[12])  # utime + stime, all threads
        pid = int(d.name)
        if pid == me:
            owner = "driver"
        elif bind in cmd or "load-worker@" in cmd or "eldercare_load" in cmd:
            owner = "stack"
        else:
            owner = "other"
        out[pid] = (owner, jiffies)
    return out


def cpu_delta(before: dict, after: dict) -> dict[str, int]:
    """Jiffies used between the two snapshots, by owner: processes alive at both ends count
    their difference, processes started in between all of theirs; processes that ended in
    between are missed (so each figure is a lower bound)."""
    out = {"stack": 0, "driver": 0, "other": 0}
    for pid, (owner, j1) in after.items():
        j0 = before.get(pid, (owner, 0))[1]
        out[owner] += max(j1 - j0, 0)
    return out


def phase(host: str, endpoint: str, users: int, warmup: float, duration: float) -> dict:
    locustfile.PortalUser.endpoint = endpoint
    env = Environment(user_classes=[locustfile.PortalUser], host=host)
    samples: list[float] = []
    errors: dict[str, int] = {}
    recording = [False]

    def on_request(request_type, name, response_time, response_length, exception=None, **kw):
        if not recording[0]:
            return
        samples.append(response_time)
        if exception is not None:
            key = str(exception)[:100]
            errors[key] = errors.get(key, 0) + 1

    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    load0 = os.getloadavg()[0]
    runner.start(users, spawn_rate=min(users, 100))
    gevent.sleep(warmup)
    busy0, total0 = cpu_busy()
    own0 = cpu_by_pid(host.split("//", 1)[-1])
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    recording[0] = True
    t0 = time.monotonic()
    gevent.sleep(duration)
    recording[0] = False
    elapsed = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1, total1 = cpu_busy()
    own1 = cpu_by_pid(host.split("//", 1)[-1])
    used = cpu_delta(own0, own1)
    running = runner.user_count
    runner.quit()
    gevent.sleep(0.5)
    values = sorted(samples)
    n_err = sum(errors.values())
    driver_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    out = {
        "endpoint": endpoint,
        "users": users,
        "users_running": running,
        "seconds": round(elapsed, 2),
        "requests": len(values),
        "errors": n_err,
        "error_kinds": errors,
        "rps": round(len(values) / elapsed, 1),
        "ok_rps": round((len(values) - n_err) / elapsed, 1),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
        "max": values[-1] if values else None,
        "loadavg_at_start": round(load0, 2),
        "machine_cpu_busy": round((busy1 - busy0) / max(total1 - total0, 1), 3),
        "driver_cpu_share": round(driver_cpu / elapsed / (os.cpu_count() or 1), 3),
        # Shares of the machine's capacity (both cores) over the window, by owner. Processes that
        # ended inside the window are missed, so "other" is a lower bound.
        "cpu_share": {k: round(used[k] / max(total1 - total0, 1), 3) for k in ("stack", "driver", "other")},
    }
    print(
        f"  {endpoint:<17} u={users:<3} {out['rps']:>7.1f} req/s  p50 {out['p50'] or 0:>7.1f}  "
        f"p95 {out['p95'] or 0:>7.1f}  p99 {out['p99'] or 0:>7.1f} ms  errors {n_err}  "
        f"cpu {out['machine_cpu_busy']:.0%} (stack {out['cpu_share']['stack']:.0%}, driver "
        f"{out['cpu_share']['driver']:.0%}, other {out['cpu_share']['other']:.0%})  load {load0:.2f}",
        flush=True,
    )
    return out


DEFAULT_PHASES = [
    "ceiling",
    "home",
    "institutions",
    "dashboard",
    "api_institutions",
    "import_dry_run",
    "mixed",
    "ceiling",
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="http://127.0.0.1:8765")
    ap.add_argument("--levels", default="16,50,100")
    ap.add_argument("--phases", default=",".join(DEFAULT_PHASES))
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--sessions", default="/tmp/eldercare_load/sessions.json")
    ap.add_argument("--reader", default="load_health")
    ap.add_argument("--importer", default="civil01")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    phases = args.phases.split(",")
    path = Path(args.sessions)
    make_sessions(args.host, path, max(levels), min(max(levels), 10), args.reader, args.importer)
    os.environ["LOAD_SESSIONS"] = str(path)
    results = []
    for users in levels:
        print(f"== {users} users ({args.label})", flush=True)
        for name in phases:
            results.append(phase(args.host, name, users, args.warmup, args.duration))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"label": args.label, "phases": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
