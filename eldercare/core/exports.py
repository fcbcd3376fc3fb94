"""The one helper that neutralises spreadsheet formulas in exported cells (SECURITY.md):
a cell starting with = + - @, tab or carriage return gets a leading apostrophe, in CSV and
XLSX alike. django-import-export's own escaping covers only '='."""

from __future__ import annotations

import csv
import io

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def rows_to_csv(header: list[str], rows) -> bytes:
    """UTF-8 with BOM, so Excel and WPS open Chinese text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def rows_to_xlsx(header: list[str], rows, *, title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append([neutralise(h) for h in header])
    for row in rows:
        # Strings stay strings: openpyxl would otherwise treat "=..." as a formula.
        ws.append([neutralise(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
