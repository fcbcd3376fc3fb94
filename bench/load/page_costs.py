"""Where a page's time goes, in one process on eldercare_load (no server, no concurrency).

    .venv/bin/python bench/load/page_costs.py [--rounds 7]

After bench/load/run.py has set up the database. Two tables (docs/benchmarks.md, "Load"):

1. Cost per request of the ceiling, a page with only the portal's chrome (the profile page:
   base template, navigation, region switcher, counts), the institution list with 0, 2 and 50
   rows, the API list with 1 and 20 rows, the home page and the dashboard — the median of 8
   requests through Django's test client, the lowest of --rounds interleaved rounds (the least
   disturbed by the other work on the machine), and as a multiple of the ceiling.
2. The same pages with the versioned cache (eldercare/core/dataversion.py: permission sets,
   navigation, region choices, badge counts, rendered lists and reports) switched off — every
   request computes everything, as before issue 8's caching — and on, warm.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as load_run  # noqa: E402

for key, value in load_run.base_env().items():
    os.environ.setdefault(key, value)
os.environ.setdefault("REDIS_URL", load_run.REDIS_URL)  # the cache, as on the benchmarked stack

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

PAGES = {
    "ceiling": "/_bench/ceiling/",
    "chrome only (profile page)": "/accounts/profile/",
    "institution list, 0 rows": "/institutions/?family=eldercare&status=operating&q=nomatch",
    "institution list, 2 rows": "/institutions/?family=eldercare&status=operating&type=care_home",
    "institution list, 50 rows (benchmarked)": "/institutions/?family=eldercare&status=operating",
    "API list, 1 row": "/api/v1/institutions/?page_size=1",
    "API list, 20 rows (benchmarked)": "/api/v1/institutions/?page_size=20",
    "home": "/",
    "dashboard": "/reports/",
}
WHAT_IF_PAGES = ["ceiling", "chrome only (profile page)", "institution list, 50 rows (benchmarked)",
                 "API list, 20 rows (benchmarked)", "home", "dashboard"]  # fmt: skip


@contextlib.contextmanager
def versioned_cache(on: bool):
    """eldercare/core/dataversion.py on (warm: each page was requested before) or off."""
    from django.conf import settings

    old = settings.PORTAL_VERSIONED_CACHE
    settings.PORTAL_VERSIONED_CACHE = on
    try:
        yield
    finally:
        settings.PORTAL_VERSIONED_CACHE = old


VARIANTS = {
    "versioned cache off (every request computes)": False,
    "versioned cache on, warm": True,
}


def median_ms(client: Client, url: str, n: int = 8) -> float:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    c = Client(HTTP_HOST="127.0.0.1")
    resp = c.post("/accounts/login/", {"username": load_run.BENCH_USER, "password": load_run.PASSWORD})
    assert resp.status_code == 302, resp.status_code
    rows = {}
    for name, url in PAGES.items():
        resp = c.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        rows[name] = len(re.findall(r'href="/institutions/\d+/"', resp.content.decode()))
    samples = {name: [] for name in PAGES}
    for _ in range(args.rounds):
        for name, url in PAGES.items():
            samples[name].append(median_ms(c, url))
    ceiling = min(samples["ceiling"])
    print("| request | ms (best round) | × ceiling | median round ms |")
    print("|---|---:|---:|---:|")
    for name, vals in samples.items():
        print(f"| {name} | {min(vals):.1f} | {min(vals) / ceiling:.1f}× | {statistics.median(vals):.1f} |")
    print()
    what = {(v, p): [] for v in VARIANTS for p in WHAT_IF_PAGES}
    for _ in range(args.rounds):
        for v, on in VARIANTS.items():
            with versioned_cache(on):
                for p in WHAT_IF_PAGES:
                    c.get(PAGES[p])
                    what[(v, p)].append(median_ms(c, PAGES[p]))
    print("| variant | " + " | ".join(WHAT_IF_PAGES) + " |")
    print("|---|" + "---:|" * len(WHAT_IF_PAGES))
    for v in VARIANTS:
        print(f"| {v} | " + " | ".join(f"{min(what[(v, p)]):.1f}" for p in WHAT_IF_PAGES) + " |")


if __name__ == "__main__":
    main()
