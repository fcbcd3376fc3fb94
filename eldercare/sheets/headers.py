"""Finding and mapping the header row (CONTRACT.md "Spreadsheet columns"). Pure functions.

Township sheets put a title row and a 填报单位/填报日期 row above the header, sometimes merge
header cells, vary the wording (机构名称 / 单位名称 / 名称) and order columns freely. Headers
match after trimming and full-width folding (and without inner spaces or a trailing `*`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .values import fold


@dataclass(frozen=True)
class Column:
    canonical: str  # the header CONTRACT.md names
    key: str  # the field the row parser reads
    required: bool = False
    synonyms: tuple[str, ...] = ()


@dataclass
class HeaderMatch:
    row: int  # 1-based row number of the header in the sheet
    columns: dict[int, Column]  # sheet column index -> column
    unknown: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)


def normalise_header(text) -> str:
    return fold(text).replace(" ", "").replace("\n", "").rstrip("*＊").strip()


def _lookup(columns: list[Column]) -> dict[str, Column]:
    table = {}
    for col in columns:
        table[normalise_header(col.canonical)] = col
        for syn in col.synonyms:
            table[normalise_header(syn)] = col
    return table


def find_header(rows, columns: list[Column], *, scan: int = 15) -> HeaderMatch | None:
    """The first row among the first `scan` whose cells name every required column (or, when
    none is required, at least two known ones). Returns None if there is no such row."""
    table = _lookup(columns)
    required = {c.canonical for c in columns if c.required}
    best = None
    for index, cells in enumerate(rows, start=1):
        if index > scan:
            break
        mapped: dict[int, Column] = {}
        unknown = []
        for pos, cell in enumerate(cells):
            name = normalise_header(cell)
            if not name:
                continue
            col = table.get(name)
            if col is None:
                unknown.append(fold(cell))
            elif col.canonical not in {c.canonical for c in mapped.values()}:
                mapped[pos] = col
        found = {c.canonical for c in mapped.values()}
        if (required and required <= found) or (not required and len(found) >= 2):
            return HeaderMatch(row=index, columns=mapped, unknown=unknown)
        if mapped and (best is None or len(mapped) > len(best.columns)):
            missing = [c.canonical for c in columns if c.required and c.canonical not in found]
            best = HeaderMatch(row=index, columns=mapped, unknown=unknown, missing_required=missing)
    return best if best is not None and best.missing_required else None
