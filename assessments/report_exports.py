"""The attainment report as a workbook and as a printable page / PDF (issue 7, "Exports").

- `attainment_xlsx`: one sheet per level (县（区）, 乡镇（街道）, …: the region's own level and
  its children's), each opening with the region's name, the year, 评估日, 数据截至 and the
  version, then a styled, frozen header and one line per region × indicator: the value (rates
  as percent-formatted numbers, counts as integers), numerator, denominator, target (and where it
  is inherited from), gap, status (coloured), rank, completeness, 「有修订」; then the composite
  scorecard. Every text cell goes through the shared formula neutraliser (SECURITY.md).
- `document_context` + `render_pdf`: the printable page (templates/assessments/reports/
  document.html, A4 landscape) and the same page through WeasyPrint with Noto CJK (no network
  fetching, as the filing papers: eldercare/workflow/documents.py).

Figures are the pages' figures: `evaluate.shown` from the exact fraction (page_selectors.decorate)."""

from __future__ import annotations

import io
from decimal import Decimal

from django.utils import timezone

from eldercare.core.exports import neutralise
from eldercare.regions import codes
from eldercare.regions.models import Region
from eldercare.workflow.documents import chinese_date

from . import page_selectors as ps
from .models import RowStatus

STYLESHEET = "css/report-document.css"
SHEET_NAMES = {
    codes.PROVINCE: "省",
    codes.CITY: "市",
    codes.COUNTY: "县（区）",
    codes.TOWNSHIP: "乡镇（街道）",
    codes.VILLAGE: "村（社区）",
}
HEADER = [
    "区划代码",
    "区划名称",
    "指标代码",
    "指标名称",
    "单位",
    "值",
    "分子",
    "分母",
    "目标",
    "目标来源",
    "差距",
    "达标情况",
    "排名",
    "数据完整性（n/m）",
    "有修订",
]
WIDTHS = [15, 16, 22, 36, 6, 11, 10, 10, 11, 22, 11, 10, 6, 14, 8]
UNIT_NAMES = {"percent": "%", "count": "个", "beds": "张", "score": "分"}
FILLS = {
    RowStatus.ATTAINED: ("C6EFCE", "006100"),
    RowStatus.NOT_ATTAINED: ("FFC7CE", "9C0006"),
    RowStatus.INSUFFICIENT: ("D9D9D9", "404040"),
}


def title_of(rep) -> str:
    return f"{rep.region.name}{rep.run.year}年度医养结合目标考核达标情况"


def _target_source(row, names: dict[str, str]) -> str:
    if row.target is None:
        return ""
    if row.target_inherited:
        return f"继承自{names.get(row.target_region, row.target_region)}（{row.target_year}年起）"
    return f"本级（{row.target_year}年起）" if row.target_year else "本级"


def _target_names(rep) -> dict[str, str]:
    wanted = {r.target_region for rows in rep.rows_by_level.values() for r in rows if r.target_inherited}
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "name")) if wanted else {}


def _figure(row, text: str | None):
    """(cell value, number format) of a value or target as the page shows it."""
    if text is None:
        return None, None
    unit = row.indicator.unit
    if unit in ps.COUNT_UNITS:
        return int(Decimal(text)), "#,##0"
    if unit == "percent":
        return float(Decimal(text) / 100), "0.00%"
    return float(Decimal(text)), "0.00"


def attainment_xlsx(rep) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    names = _target_names(rep)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F4E79")
    thin = Side(style="thin", color="BFBFBF")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    meta = [
        ("区划", f"{rep.region.name}（{rep.region.code}）"),
        ("年度", str(rep.run.year)),
        ("评估日", ps.evaluated_text(rep.run)),
        ("数据截至", ps.as_of_text(rep.run)),
        ("报告版本", f"#{rep.run.pk}"),
    ]

    def opening(ws, title: str) -> int:
        """Title, the meta lines, a blank row; returns the header's row number."""
        ws.cell(row=1, column=1, value=neutralise(title)).font = Font(bold=True, size=14)
        for i, (label, value) in enumerate(meta, start=2):
            ws.cell(row=i, column=1, value=label).font = bold
            ws.cell(row=i, column=2, value=neutralise(value))
        return len(meta) + 3

    def header(ws, row: int, titles) -> None:
        for col, title in enumerate(titles, start=1):
            c = ws.cell(row=row, column=col, value=neutralise(title))
            c.font, c.fill, c.border = head_font, head_fill, border
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    for level, rows in rep.rows_by_level.items():
        ws = wb.create_sheet(SHEET_NAMES.get(level, str(level)))
        header_row = opening(ws, f"{title_of(rep)}（{SHEET_NAMES.get(level, '')}）")
        header(ws, header_row, HEADER)
        ordered = sorted(rows, key=lambda r: (r.region_id, r.indicator.order, r.indicator_id))
        for row in ordered:
            value, value_fmt = _figure(row, row.value_text)
            target, target_fmt = _figure(row, row.target_text)
            if row.gap_text is None:
                gap, gap_fmt = None, None
            elif row.indicator.unit in ps.COUNT_UNITS:
                gap, gap_fmt = int(Decimal(row.gap_text)), "#,##0"
            else:
                gap, gap_fmt = float(Decimal(row.gap_text)), "0.00"
            ws.append(
                [
                    neutralise(row.region_id),
                    neutralise(row.region.name),
                    neutralise(row.indicator_id),
                    neutralise(row.indicator.name),
                    UNIT_NAMES.get(row.indicator.unit, ""),
                    value,
                    row.num_text if isinstance(row.num_text, int) else neutralise(row.num_text),
                    row.den_text if isinstance(row.den_text, int) else neutralise(row.den_text),
                    target,
                    neutralise(_target_source(row, names)),
                    gap,
                    row.status_label,
                    row.rank,
                    f"{row.complete_n}/{row.complete_m}",
                    "有修订" if row.changed else "",
                ]
            )
            r = ws.max_row
            for col, fmt in ((6, value_fmt), (9, target_fmt), (11, gap_fmt)):
                if fmt:
                    ws.cell(row=r, column=col).number_format = fmt
            for col in (7, 8):
                if isinstance(ws.cell(row=r, column=col).value, int):
                    ws.cell(row=r, column=col).number_format = "#,##0"
            fill = FILLS.get(row.status)
            if fill:
                status = ws.cell(row=r, column=12)
                status.fill = PatternFill("solid", fgColor=fill[0])
                status.font = Font(color=fill[1], bold=True)
            for col in range(1, len(HEADER) + 1):
                ws.cell(row=r, column=col).border = border
        for col, width in enumerate(WIDTHS, start=1):
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(HEADER))}{max(ws.max_row, header_row)}"
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.page_setup.orientation = "landscape"

    # The composite scorecard of the children and the region itself.
    ws = wb.create_sheet("综合评分")
    header_row = opening(ws, f"{title_of(rep)}（综合评分）")
    header(
        ws,
        header_row,
        [
            "区划代码",
            "区划名称",
            "综合得分",
            "计入指标数",
            "权重合计",
            "计入的指标（权重 × 完成度）",
            "未计入的指标",
        ],
    )
    for line in ps.scorecards(rep):
        card = line.card
        ws.append(
            [
                neutralise(line.region.code),
                neutralise(line.region.name),
                float(Decimal(card.shown)) if card.shown is not None else None,
                len(card.parts),
                float(card.weight_total),
                neutralise(
                    "；".join(
                        f"{p.name} {p.weight} × {p.ratio:.4f}" + ("（未报送，计 0）" if p.unreported else "")
                        for p in card.parts
                    )
                ),
                neutralise("；".join(f"{x.name}（{x.reason}）" for x in card.left_out)),
            ]
        )
        ws.cell(row=ws.max_row, column=3).number_format = "0.00"
    for col, width in enumerate([15, 16, 10, 10, 10, 60, 60], start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- the printable page and the PDF ------------------------------------------------------------------
def document_context(rep, *, pdf: bool) -> dict:
    names = _target_names(rep)
    for rows in rep.rows_by_level.values():
        for row in rows:
            row.target_source = _target_source(row, names)
    return {
        "rep": rep,
        "title": title_of(rep),
        "region": rep.region,
        "year": rep.run.year,
        "evaluated": ps.evaluated_text(rep.run),
        "as_of": ps.as_of_text(rep.run),
        "version": rep.run.pk,
        "printed_cn": chinese_date(timezone.localdate()),
        "level_label": ps.LEVEL_LABELS.get(rep.child_level, "下级区划"),
        "scores": ps.scorecards(rep),
        "attained_n": rep.summary()[0],
        "with_target_n": rep.summary()[1],
        "stylesheet": STYLESHEET,
        "pdf": pdf,
    }


def render_pdf(html: str, base_url: str) -> bytes:
    """HTML to PDF bytes (the shared renderer of printable papers, this report's stylesheet)."""
    from eldercare.workflow.documents import render_pdf as render

    return render(html, base_url, (STYLESHEET,))
