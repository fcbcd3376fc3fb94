"""Reading a sheet's table the same way for every kind: the header among the first 15 rows
(title and 填报单位 rows above it), then each data row as {column key: raw cell}, skipping blank
rows, a 合计/总计 row, footer lines (填表人、审核人、联系电话 …) and the template's 示例 row —
with a notice for each skipped line that is not simply blank (DOMAIN.md §8)."""

from __future__ import annotations

from dataclasses import dataclass

from . import values as v
from .headers import Column, find_header
from .kinds import Validation
from .readers import SheetError, iter_rows

EXAMPLE_PREFIX = "示例"
# A footer line under the table (填表人、审核人、联系电话 …): one filled cell starting with these.
FOOTER_PREFIXES = (
    "填表人",
    "填报人",
    "制表人",
    "审核人",
    "负责人",
    "联系人",
    "联系电话",
    "注：",
    "注:",
    "说明",
)


@dataclass
class Table:
    rows: list[tuple[int, dict]]  # (sheet row number, {column key: raw cell})
    out: Validation


def read_table(data: bytes, columns: list[Column], *, hint: str, example_key: str | None = None) -> Table:
    """Find the header among the first 15 rows; then every data row as {key: raw}, skipping
    blank rows, a 合计/总计 row, footer lines (填表人 …) and the template's 示例 row. Errors
    about the header (a missing required column) end the validation: `rows` is then empty."""
    out = Validation()
    raw_rows = list(iter_rows(data))  # contract and visit sheets are hundreds of rows
    header = find_header(raw_rows[:15], columns)
    if header is None:
        raise SheetError(hint)
    if header.missing_required:
        for name in header.missing_required:
            out.errors.append({"row": header.row, "column": name, "message": f"缺少必填列“{name}”。"})
        return Table([], out)
    for name in header.unknown:
        out.warnings.append({"row": header.row, "column": name, "message": "未识别的列，已忽略。"})
    out.skipped = header.row - 1  # the title and 填报单位 rows above the header
    positions = [(pos, col.key) for pos, col in header.columns.items()]
    # The template's example row is recognised by the column its 示例 text sits in.
    first_key = example_key or columns[0].key
    rows = []
    for number, raw in enumerate(raw_rows[header.row :], start=header.row + 1):
        width = len(raw)
        cells = {key: (raw[pos] if pos < width else "") for pos, key in positions}
        if all(v.fold(c) == "" for c in cells.values()) or v.is_total_row(raw):
            out.skipped += 1
            continue
        filled = [v.fold(c) for c in raw if v.fold(c) != ""]
        if len(filled) == 1 and filled[0].startswith(FOOTER_PREFIXES):
            out.skipped += 1
            out.warnings.append({"row": number, "column": None, "message": "表尾说明行，未导入。"})
            continue
        lead = cells.get(first_key)
        if isinstance(lead, str) and v.fold(lead).startswith(EXAMPLE_PREFIX):
            out.skipped += 1
            canonical = next(c.canonical for c in columns if c.key == first_key)
            out.warnings.append({"row": number, "column": canonical, "message": "模板中的示例行，未导入。"})
            continue
        rows.append((number, cells))
    out.rows_total = len(rows)
    return Table(rows, out)
