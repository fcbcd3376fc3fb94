"""Set-based writes for imports: PostgreSQL COPY where it runs, Django's bulk methods elsewhere.

`bulk_create` manages ~20k rows/s here and a raw COPY ~210k (docs/benchmarks.md), so the
engine's commit uses COPY into the table (inserts) and COPY into a temporary table followed by
one `UPDATE … FROM` (updates). SQLite (the `make run` default) takes the portable path. Both
run inside the caller's transaction, so an import is still all or nothing."""

from __future__ import annotations

import datetime
import decimal
import io
import json
from collections.abc import Iterable, Sequence

from django.db import connection

CHUNK = 50_000


def _csv_value(value) -> str:
    if value is None:
        return ""  # NULL in COPY's csv format
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return '"' + str(value).replace('"', '""') + '"'


def _copy(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    count = 0
    buf = io.StringIO()
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN WITH (FORMAT csv)"

    def flush():
        buf.seek(0)
        cursor.copy_expert(sql, buf)
        buf.seek(0)
        buf.truncate()

    for row in rows:
        buf.write(",".join(_csv_value(v) for v in row))
        buf.write("\n")
        count += 1
        if count % CHUNK == 0:
            flush()
    if buf.tell():
        flush()
    return count


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def next_ids(model, n: int) -> list[int]:
    """Reserve `n` primary keys from the table's sequence (PostgreSQL)."""
    if n == 0:
        return []
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
            _copy(cur.cursor if hasattr(cur, "cursor") else cur, model._meta.db_table, columns, rows)
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
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        qcols = [connection.ops.quote_name(c) for c in columns]
        with connection.cursor() as cur:
            raw = cur.cursor if hasattr(cur, "cursor") else cur
            cur.execute("DROP TABLE IF EXISTS _import_upd")
            # Identifiers only, all quoted by the backend; no user data in the SQL text.
            select = f"SELECT {pk}, {', '.join(qcols)} FROM {table} WITH NO DATA"  # noqa: S608
            cur.execute(f"CREATE TEMP TABLE _import_upd ON COMMIT DROP AS {select}")
            _copy(raw, "_import_upd", [model._meta.pk.column, *columns], rows)
            sets = ", ".join(f"{c} = s.{c}" for c in qcols)
            cur.execute(f"UPDATE {table} t SET {sets} FROM _import_upd s WHERE t.{pk} = s.{pk}")  # noqa: S608
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
