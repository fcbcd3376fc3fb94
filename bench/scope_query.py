"""Benchmark: the cost of the region-scope path (docs/adr/0003-scope-mechanism.md).

Compares the scope filter -- `code LIKE 'prefix%'` on Region and `region_id LIKE 'prefix%'` on
User, as produced by `for_user(actor)` -- with an indexed equality lookup measured in the same
run, on a synthetic province-scale tree (1 province, 16 cities, 160 counties, 2,400 townships,
60,000 villages) and 50,400 users spread evenly over the townships.

    make bench                                            # SQLite, /tmp/bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eldercare_bench .venv/bin/python bench/scope_query.py

Only a database whose name contains "bench" is used (the data is written for real); a missing
PostgreSQL database is created with psql and migrated. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from _pg import ensure_postgres_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eldercare.settings.local")
# Never the dev database: without DATABASE_URL use a throwaway SQLite file.
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench.sqlite3")

# --- shape of the synthetic tree -------------------------------------------------------
PROVINCE = "37"
CITIES, COUNTIES, TOWNSHIPS, VILLAGES = 16, 10, 15, 25
USERS_PER_TOWNSHIP = 21  # 2,400 townships x 21 = 50,400 users
N_REGIONS = 1 + CITIES * (1 + COUNTIES * (1 + TOWNSHIPS * (1 + VILLAGES)))
N_TOWNSHIPS = CITIES * COUNTIES * TOWNSHIPS
N_USERS = N_TOWNSHIPS * USERS_PER_TOWNSHIP
USER_PREFIX = "bench_"

# --- measurement ------------------------------------------------------------------------
ROUNDS = 15  # samples per query, interleaved; the median is reported
ITERATIONS = 100  # queries per sample
SEED = 20261123

# The regions measured (middle of the tree, nothing special about them).
TOWNSHIP = "370805007000"
COUNTY = "370805000000"
CITY = "370800000000"


def setup_django() -> None:
    url = os.environ["DATABASE_URL"]
    scheme = urlsplit(url).scheme
    target = unquote(urlsplit(url).path)
    if "bench" not in target:
        sys.exit(f"refusing to write benchmark data to {target!r}: the database name must contain 'bench'")
    if scheme.startswith("postgres") or scheme == "pgsql":
        ensure_postgres_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # DEBUG would log every query into connection.queries and add its cost to each sample.
    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)


def generate() -> None:
    """Build the tree and the users with bulk_create, once; skip if already there."""
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
    from django.db import connection, transaction

    from eldercare.accounts.models import User
    from eldercare.regions import codes
    from eldercare.regions.models import Region

    have_regions = Region.objects.filter(code__startswith=PROVINCE).count()
    have_users = User.objects.filter(username__startswith=USER_PREFIX).count()
    if have_regions == N_REGIONS and have_users == N_USERS:
        print(
            f"data present: {have_regions:,} regions, {have_users:,} {USER_PREFIX}* users (generation skipped)"
        )
        return
    if have_regions or have_users:
        sys.exit(
            f"found {have_regions:,} regions under {PROVINCE} and {have_users:,} {USER_PREFIX}* users, "
            f"expected 0 or {N_REGIONS:,}/{N_USERS:,}: drop the benchmark database and run again"
        )

    started = time.perf_counter()
    regions: list[Region] = []
    townships: list[str] = []

    def add(code: str, level: int, parent: str | None, name: str) -> None:
        assert codes.level_of(code) == level and codes.implied_parent(code) == parent, code
        regions.append(Region(code=code, name=name, level=level, parent_id=parent))

    province = f"{PROVINCE}0000000000"
    add(province, codes.PROVINCE, None, "基准省")
    for c in range(1, CITIES + 1):
        city = f"{PROVINCE}{c:02d}00000000"
        add(city, codes.CITY, province, f"基准市{c:02d}")
        for k in range(1, COUNTIES + 1):
            county = f"{city[:4]}{k:02d}000000"
            add(county, codes.COUNTY, city, f"基准县{c:02d}{k:02d}")
            for t in range(1, TOWNSHIPS + 1):
                township = f"{county[:6]}{t:03d}000"
                add(township, codes.TOWNSHIP, county, f"基准镇{c:02d}{k:02d}{t:03d}")
                townships.append(township)
                for v in range(1, VILLAGES + 1):
                    add(
                        f"{township[:9]}{v:03d}",
                        codes.VILLAGE,
                        township,
                        f"基准村{c:02d}{k:02d}{t:03d}{v:03d}",
                    )
    assert len(regions) == N_REGIONS and len(townships) == N_TOWNSHIPS

    password = UNUSABLE_PASSWORD_PREFIX + "bench-no-login"
    users = [
        User(
            username=f"{USER_PREFIX}{i:06d}",
            full_name=f"基准用户{i:06d}",
            password=password,
            region_id=townships[i % N_TOWNSHIPS],
            is_active=True,
        )
        for i in range(N_USERS)
    ]
    with transaction.atomic():
        Region.objects.bulk_create(regions, batch_size=2000)  # parents come before children
        User.objects.bulk_create(users, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics and visibility map for stable plans
            cursor.execute(f"VACUUM ANALYZE {Region._meta.db_table}")
            cursor.execute(f"VACUUM ANALYZE {User._meta.db_table}")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"generated {N_REGIONS:,} regions and {N_USERS:,} users in {time.perf_counter() - started:.1f} s")


def actor_at(code: str):
    """An in-memory, active user scoped to `code` -- enough for for_user(); never saved."""
    from eldercare.accounts.models import User

    return User(username=f"{USER_PREFIX}actor", region_id=code, is_active=True)


def cases():
    """(label, group, queryset factory, expected rows). group 'region'/'user' picks the baseline."""
    from eldercare.accounts.models import User
    from eldercare.regions import codes
    from eldercare.regions.models import Region

    per_township_regions = 1 + VILLAGES
    per_county_regions = 1 + TOWNSHIPS * per_township_regions
    per_city_regions = 1 + COUNTIES * per_county_regions
    out = [
        (f"Region `filter(parent_id='{TOWNSHIP}')` — baseline", "region", None, VILLAGES),
        (f"User `filter(region_id='{TOWNSHIP}')` — baseline", "user", None, USERS_PER_TOWNSHIP),
    ]
    expected = {
        ("region", TOWNSHIP): per_township_regions,
        ("region", COUNTY): per_county_regions,
        ("region", CITY): per_city_regions,
        ("user", TOWNSHIP): USERS_PER_TOWNSHIP,
        ("user", COUNTY): USERS_PER_TOWNSHIP * TOWNSHIPS,
        ("user", CITY): USERS_PER_TOWNSHIP * TOWNSHIPS * COUNTIES,
    }
    for group in ("region", "user"):
        for level, code in (("township", TOWNSHIP), ("county", COUNTY), ("city", CITY)):
            prefix = codes.prefix_of(code)
            model = "Region" if group == "region" else "User"
            lookup = "code__startswith" if group == "region" else "region__code__startswith"
            label = f"{model} `for_user({level} actor)` ≡ `{lookup}='{prefix}'`"
            out.append((label, group, code, expected[(group, code)]))

    def factory(group, code):
        if code is None:
            if group == "region":
                return lambda: Region.objects.filter(parent_id=TOWNSHIP)
            return lambda: User.objects.filter(region_id=TOWNSHIP)
        actor = actor_at(code)
        prefix = codes.prefix_of(code)
        if group == "region":
            scoped, literal = (
                (lambda: Region.objects.for_user(actor)),
                Region.objects.filter(code__startswith=prefix),
            )
        else:
            scoped, literal = (
                (lambda: User.objects.for_user(actor)),
                User.objects.filter(region__code__startswith=prefix),
            )
        # The scope path must be exactly the literal prefix filter (and must not join).
        assert str(scoped().query) == str(literal.query), (str(scoped().query), str(literal.query))
        assert " JOIN " not in str(scoped().query).upper(), str(scoped().query)
        return scoped

    return [(label, group, factory(group, code), rows, code) for label, group, code, rows in out]


def measure(items):
    """Interleaved rounds (order shuffled per round with a fixed seed) after one warm-up round;
    each sample is the mean of ITERATIONS `.count()` calls, in ms."""
    rng = random.Random(SEED)
    samples: dict[str, list[float]] = {label: [] for label, *_ in items}
    rows: dict[str, int] = {}
    for round_no in range(ROUNDS + 1):
        order = list(items)
        rng.shuffle(order)
        for label, _group, make, _expected, _code in order:
            t0 = time.perf_counter()
            for _ in range(ITERATIONS):
                n = make().count()
            elapsed = time.perf_counter() - t0
            rows[label] = n
            if round_no:  # round 0 warms caches and connections
                samples[label].append(elapsed * 1000 / ITERATIONS)
    return samples, rows


def explain(items) -> list[str]:
    """The plan of the exact statement timed: run `.count()` once, capture its SQL, EXPLAIN it
    (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    prefix = (
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    lines = []
    for label, _group, make, _rows, _code in items:
        with CaptureQueriesContext(connection) as ctx:
            make().count()
        (sql,) = [q["sql"] for q in ctx.captured_queries]
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            plan = [" | ".join(str(c) for c in row) for row in cursor.fetchall()]
        lines.append(f"{label}\n    {sql}\n" + "\n".join("      " + ln for ln in plan))
    return lines


def main() -> None:
    setup_django()
    from django.db import connection

    generate()
    items = cases()
    vendor = connection.vendor
    server = connection.cursor().connection.server_version if vendor == "postgresql" else None
    db = (
        f"PostgreSQL {server // 10000}.{server % 10000}"
        if server
        else f"SQLite {connection.Database.sqlite_version}"
    )

    started = time.perf_counter()
    samples, rows = measure(items)
    took = time.perf_counter() - started

    for label, _group, _make, expected, _code in items:
        assert rows[label] == expected, (label, rows[label], expected)

    medians = {label: statistics.median(s) for label, s in samples.items()}
    baseline = {group: medians[label] for label, group, _m, _r, code in items if code is None}

    print()
    print(
        f"{db} · {N_REGIONS:,} regions, {N_USERS:,} users · {ROUNDS} interleaved rounds × "
        f"{ITERATIONS} `.count()` calls per sample (+1 warm-up round) · measuring took {took:.1f} s"
    )
    print()
    print("| query | rows matched | median ms | min–max ms | ratio to baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, group, _make, _rows, _code in items:
        s = samples[label]
        print(
            f"| {label} | {rows[label]:,} | {medians[label]:.3f} | {min(s):.3f}–{max(s):.3f} "
            f"| {medians[label] / baseline[group]:.2f}× |"
        )
    print()
    print("Ratios: Region rows against the Region baseline, User rows against the User baseline.")
    print()
    print(f"EXPLAIN ({db}):")
    for block in explain(items):
        print(block)


if __name__ == "__main__":
    main()
