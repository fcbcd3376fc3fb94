"""Set-based writes for imports: PostgreSQL COPY where it runs, Django's bulk methods elsewhere.

`bulk_create` manages ~20k rows/s here and a raw COPY ~210k (docs/benchmarks.md), so the
engine's commit uses COPY into the table (inserts) and COPY into a temporary table followed by
one `UPDATE … FROM` (updates). SQLite (the `make run` default) takes the portable path. Both
run inside the caller's transaction, so an import is still all or nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from django.db import connection

CHUNK = 50_000


def _field(model, column: str):
    try:
        return model._meta.get_field(column)
    except Exception:  # an attname like region_id
        return next(f for f in model._meta.concrete_fields if f.column == column)


def _copy(cursor, model, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows in through Python's C csv writer. csv writes None and "" alike as an empty
    field, which COPY reads as NULL — so NOT NULL text columns are listed in FORCE_NOT_NULL
    (empty = ""), and nullable columns keep None = NULL. JSON columns are dumped (memoised:
    the `changed` lists repeat)."""
    fields = [_field(model, c) for c in columns]
    force = [
        connection.ops.quote_name(c)
        for c, f in zip(columns, fields, strict=True)
        if not f.null and f.get_internal_type() in ("CharField", "TextField", "SlugField")
    ]
    json_pos = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    not_null_text = [
        i
        for i, f in enumerate(fields)
        if not f.null and f.get_internal_type() in ("CharField", "TextField", "SlugField")
    ]
    memo: dict = {}

    def dump(value):
        if value is None:
            return None
        key = tuple(value) if isinstance(value, list) else None
        if key is not None and key in memo:
            return memo[key]
        text = json.dumps(value, ensure_ascii=False)
        if key is not None:
            memo[key] = text
        return text

    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    options = "FORMAT csv" + (f", FORCE_NOT_NULL ({', '.join(force)})" if force else "")
    sql = f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN WITH ({options})"
    count = 0
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    batch = []
    for row in rows:
        for i in not_null_text:
            if row[i] is None:  # FORCE_NOT_NULL would silently store "" instead of refusing
                raise ValueError(f"NULL in NOT NULL column {columns[i]} of {table}")
        if json_pos:
            row = list(row)
            for i in json_pos:
                row[i] = dump(row[i])
        batch.append(row)
        count += 1
        if len(batch) >= CHUNK:
            writer.writerows(batch)
            batch.clear()
            buf.seek(0)
            cursor.copy_expert(sql, buf)
            buf.seek(0)
            buf.truncate()
    if batch:
        writer.writerows(batch)
        buf.seek(0)
        cursor.copy_expert(sql, buf)
    return count


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def next_ids(model, n: int) -> list[int]:
    """Reserve `n` primary keys before inserting: from the table's sequence on PostgreSQL;
    elsewhere (SQLite, one writer at a time) the ones after the current maximum."""
    if n == 0:
        return []
    if not is_postgres():
        from django.db.models import Max

        top = model.objects.aggregate(m=Max("pk"))["m"] or 0
        return list(range(top + 1, top + 1 + n))
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, n]
        )
        return [r[0] for r in cur.fetchall()]


def insert(model, columns: Sequence[str], rows: list[Sequence]) -> None:
    """Insert `rows` (tuples in `columns` order, by column name/attname)."""
    if not rows:
        return
    if is_postgres():
        with connection.cursor() as cur:
            _copy(cur.cursor if hasattr(cur, "cursor") else cur, model, model._meta.db_table, columns, rows)
        return
    objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objs, batch_size=2000)
    # bulk_create stamps auto_now/auto_now_add fields itself; put back the values given.
    stamped = [
        c
        for c in columns
        if getattr(model._meta.get_field(c[:-3] if c.endswith("_id") else c), "auto_now", False)
        or getattr(model._meta.get_field(c[:-3] if c.endswith("_id") else c), "auto_now_add", False)
    ]
    if stamped and "id" in columns:
        pos = columns.index("id")
        for col in stamped:
            cpos = columns.index(col)
            by_value: dict = {}
            for row in rows:
                by_value.setdefault(row[cpos], []).append(row[pos])
            for value, pks in by_value.items():
                for i in range(0, len(pks), 5000):
                    model.objects.filter(pk__in=pks[i : i + 5000]).update(**{col: value})


def update(model, columns: Sequence[str], rows: list[Sequence]) -> None:
    """Update by primary key: each row is (pk, *values in `columns` order)."""
    if not rows:
        return
    if is_postgres():
        # Only the model's own columns reach the SQL text (the callers pass constants; this makes
        # it impossible for anything else to), each quoted by the backend; the values go by COPY.
        unknown = set(columns) - {f.column for f in model._meta.concrete_fields}
        if unknown:
            raise ValueError(f"not columns of {model._meta.db_table}: {sorted(unknown)}")
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        qcols = [connection.ops.quote_name(c) for c in columns]
        with connection.cursor() as cur:
            raw = cur.cursor if hasattr(cur, "cursor") else cur
            cur.execute("DROP TABLE IF EXISTS _import_upd")
            select = f"SELECT {pk}, {', '.join(qcols)} FROM {table} WITH NO DATA"  # noqa: S608  # nosec B608  # quoted model columns only
            cur.execute(f"CREATE TEMP TABLE _import_upd ON COMMIT DROP AS {select}")
            _copy(raw, model, "_import_upd", [model._meta.pk.column, *columns], rows)
            sets = ", ".join(f"{c} = s.{c}" for c in qcols)
            sql = f"UPDATE {table} t SET {sets} FROM _import_upd s WHERE t.{pk} = s.{pk}"  # noqa: S608  # nosec B608  # quoted model columns only
            cur.execute(sql)
            cur.execute("DROP TABLE _import_upd")
        return
    fields = [model._meta.get_field(c[:-3] if c.endswith("_id") else c) for c in columns]
    objs = []
    for row in rows:
        obj = model(pk=row[0])
        for col, value in zip(columns, row[1:], strict=True):
            setattr(obj, col, value)
        objs.append(obj)
    model.objects.bulk_update(objs, [f.name for f in fields], batch_size=1000)


def delete(model, pks: list[int]) -> None:
    for i in range(0, len(pks), 5000):
        model.objects.filter(pk__in=pks[i : i + 5000]).delete()


def analyze(*models) -> None:
    """Refresh PostgreSQL's planner statistics after a large load (autovacuum lags behind)."""
    if not is_postgres():
        return
    with connection.cursor() as cur:
        for model in models:
            cur.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
