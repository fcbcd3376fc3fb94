"""A plain loader for the `regions` sheet kind (CONTRACT.md: 区划代码* | 名称* | 上级区划代码).

It reads through the spreadsheet engine's reader (.xlsx, .xls, .ods, .csv in UTF-8/GBK, sniffed
and guarded), finds the header row below title rows, and skips blank and 合计 rows. The engine's
validate → confirm flow will take this kind over."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eldercare.sheets.readers import SheetError, read_rows
from eldercare.sheets.values import fold as _fold

__all__ = ["SheetError", "SheetRows", "read"]

HEADERS = {"区划代码": "code", "名称": "name", "上级区划代码": "parent"}
SYNONYMS = {"行政区划代码": "区划代码", "区划名称": "名称", "上级代码": "上级区划代码"}


@dataclass
class SheetRows:
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (1-based sheet row, values)
    skipped: int = 0
    warnings: list[dict] = field(default_factory=list)


def read(path: str | Path | None = None, *, data: bytes | None = None) -> SheetRows:
    from django.utils.translation import gettext as _

    if data is None:
        data = Path(path).read_bytes()
    result = SheetRows()
    columns: dict[int, str] | None = None
    for index, raw in enumerate(read_rows(data), start=1):
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
