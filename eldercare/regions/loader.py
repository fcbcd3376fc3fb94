"""A plain loader for the `regions` sheet kind (CONTRACT.md: 区划代码* | 名称* | 上级区划代码).

The full spreadsheet engine (every kind, messy-sheet tolerance, staging, confirmation) comes
with the registry issue and will take this kind over; until then this reader handles .csv
(UTF-8 with or without BOM, GBK/GB18030) and .xlsx, finds the header row below title rows, and
skips blank and 合计 rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

HEADERS = {"区划代码": "code", "名称": "name", "上级区划代码": "parent"}
SYNONYMS = {"行政区划代码": "区划代码", "区划名称": "名称", "上级代码": "上级区划代码"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class SheetRows:
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (1-based sheet row, values)
    skipped: int = 0
    warnings: list[dict] = field(default_factory=list)


class SheetError(Exception):
    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message, self.row, self.column = message, row, column


def _fold(text) -> str:
    """Trim and fold full-width characters to half-width."""
    if text is None:
        return ""
    out = []
    for ch in str(text).strip():
        code = ord(ch)
        if code == 0x3000:
            code = 0x20
        elif 0xFF01 <= code <= 0xFF5E:
            code -= 0xFEE0
        out.append(chr(code))
    return "".join(out).strip()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _raw_rows(path: Path, data: bytes):
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            for values in ws.iter_rows(values_only=True):
                yield ["" if v is None else v for v in values]
        finally:
            wb.close()
    elif path.suffix.lower() in {".csv", ".txt"}:
        yield from csv.reader(io.StringIO(_decode(data)))
    else:
        from django.utils.translation import gettext as _

        raise SheetError(_("Unsupported file type: use .xlsx or .csv for the region tree for now."))


def read(path: str | Path) -> SheetRows:
    from django.utils.translation import gettext as _

    path = Path(path)
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise SheetError(_("The file is larger than 20 MB."))
    result = SheetRows()
    columns: dict[int, str] | None = None
    for index, raw in enumerate(_raw_rows(path, data), start=1):
        cells = [_fold(c) for c in raw]
        if columns is None:
            names = [SYNONYMS.get(c, c) for c in cells]
            if "区划代码" in names and "名称" in names:
                columns = {i: HEADERS[n] for i, n in enumerate(names) if n in HEADERS}
                for n in names:
                    if n and n not in HEADERS:
                        result.warnings.append(
                            {"row": index, "column": n, "message": _("Unknown column ignored.")}
                        )
            else:
                result.skipped += 1
            continue
        values = {key: cells[i] if i < len(cells) else "" for i, key in columns.items()}
        if (
            not any(values.values())
            or values.get("code") in {"合计", "总计"}
            or values.get("name") in {"合计", "总计"}
        ):
            result.skipped += 1
            continue
        result.rows.append((index, values))
    if columns is None:
        raise SheetError(_("No header row with 区划代码 and 名称 was found."))
    return result
