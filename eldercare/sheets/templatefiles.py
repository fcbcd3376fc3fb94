"""Spreadsheets the 批量导入 pages hand out: a kind's blank template and the annotated error
sheet (the user's own rows with a 错误说明 column in front).

Template headers are exactly the canonical ones, so the header finder matches them; required
columns are marked with a bold red font and a cell note instead of a trailing `*`. Code columns
are formatted as text (Excel would turn an 18-digit credit code into 4.4E+17), and enumeration
columns of the institutions and contracts kinds get drop-downs whose lists live on a hidden sheet "选项"
(inline list validations are limited to 255 characters). Every value written goes through
`neutralise` (SECURITY.md)."""

from __future__ import annotations

import io
import unicodedata
from collections import defaultdict

from django.utils.translation import gettext as _

from eldercare.core.exports import neutralise

from .readers import max_mb

HEADER_FILL = "DDEBF7"
ERROR_FILL = "F8D7DA"
WARNING_FILL = "FFF3CD"
REQUIRED_COLOR = "C00000"
EXAMPLE_COLOR = "808080"
VALIDATION_ROWS = 5000  # data rows (after the header) that get the drop-downs
TEXT_SUFFIXES = ("代码", "编号", "身份证号")  # codes Excel must not read as numbers


def _display_width(text) -> int:
    """Roughly how many Excel character widths `text` takes (CJK characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text or ""))


def is_text_column(column) -> bool:
    return column.canonical.endswith(TEXT_SUFFIXES)


# -- rules (shared by the upload page and the 填写说明 sheet) ------------------------------
def general_rules() -> list[str]:
    return [
        _(
            "Only the first worksheet is read. The header row need not be the first row: title "
            "rows and 填报单位 rows above it, blank rows and a trailing 合计/总计 row are skipped."
        ),
        _(
            "Headers are matched after trimming spaces and folding full-width characters; the "
            "alternative names listed are accepted too. Column order does not matter, and "
            "unknown columns are ignored with a warning."
        ),
        _(
            "A blank cell (or a missing column) leaves the stored value unchanged; type 清空 to clear a value."
        ),
        _(
            "Format code columns (credit codes, region codes) as text, otherwise Excel turns long "
            "codes into numbers such as 4.4E+17."
        ),
        _("Accepted files: .xlsx, .xls, .ods and .csv (UTF-8 or GBK), at most %(mb)s MB.") % {"mb": max_mb()},
        _(
            "Every upload is first checked without writing anything; you then review the planned "
            "changes and confirm them."
        ),
        _("The grey example row starts with 示例 and is never imported; you may leave it or delete it."),
    ]


def kind_rules(name: str) -> list[str]:
    if name == "institutions":
        return [
            _(
                "An institution is identified by its 统一社会信用代码 together with its 机构大类; "
                "a 村卫生室 or 农村幸福院 without a code by its 所属区划代码 and 机构名称."
            ),
            _(
                "Changes take effect on the file's data-as-of date (数据截止日期); a status change "
                "takes effect on its 状态日期, even when it is entered later."
            ),
            _("Service flags (绿色通道, 家庭病床 …): 是/有/√/Y, 否/无/×/N, or 未填报."),
            _(
                "Health bureau staff maintain medical institutions and civil affairs staff "
                "elder-care institutions; township staff may upload both for their township."
            ),
            _("Uploads by township staff take effect only after a county-level officer accepts them."),
        ]
    if name == "regions":
        return [
            _("A region is identified by its 12-digit 区划代码; 上级区划代码 places it in the tree."),
            _("Region imports cannot be reverted; import the corrected rows instead."),
        ]
    if name == "contracts":
        return [
            _(
                "A contract is identified by its medical party's 信用代码 together with its 协议编号; "
                "institutions without a credit code are given by their 系统编号 (JG…)."
            ),
            _(
                "Township staff import the contracts of the elder-care institutions in their "
                "township; the medical party may be any medical institution of the county, found by "
                "its exact code. Contracts take effect at once, without county acceptance."
            ),
            _(
                "Several services are separated by 、 , ; or spaces; a 巡诊频次 implies 上门巡诊. A "
                "终止日期 on an existing contract terminates it."
            ),
        ]
    if name == "visits":
        return [
            _(
                "A visit is identified by its contract (the medical party's 信用代码 and the 协议编号) "
                "and its date; a day already recorded is left unchanged."
            ),
            _(
                "The visit date must lie within the contract's term and not be in the future. "
                "Visits take effect at once, without county acceptance."
            ),
        ]
    return _kind_attribute(name, "rules", [])


def _kind_attribute(name: str, attribute: str, default):
    """What a domain app's kind states for itself (eldercare/sheets/kinds.py)."""
    from . import kinds

    try:
        spec = kinds.get(name)
    except KeyError:
        return default
    value = getattr(spec, attribute, None)
    return type(default)(value) if value else default


# -- the template ---------------------------------------------------------------------------
def _grade_labels() -> list[str]:
    from institutions import enums

    graded = [
        f"{grade.label}{cls.label}"
        for grade in (enums.Grade.THREE, enums.Grade.TWO, enums.Grade.ONE)
        for cls in enums.GradeClass
    ]
    return [
        *graded,
        enums.Grade.THREE.label,
        enums.Grade.TWO.label,
        enums.Grade.ONE.label,
        enums.Grade.NONE.label,
    ]


def choice_lists(kind_name: str) -> dict[str, list[str]]:
    """Column key -> the labels its drop-down offers (institutions and contracts have some)."""
    if kind_name == "contracts":
        from contracts.models import Frequency, Mode

        return {"mode": list(Mode.labels), "visit_frequency": list(Frequency.labels)}
    if kind_name != "institutions":
        return _kind_attribute(kind_name, "choices", {})
    from institutions import enums

    ownership = []
    for labels in enums.OWNERSHIP_LABELS.values():
        ownership += [label for label in labels.values() if label not in ownership]
    lists = {
        "family": list(enums.Family.labels),
        "type": [*enums.MedicalType.labels, *enums.EldercareType.labels],
        "ownership": ownership,
        "grade": _grade_labels(),
        "status": list(enums.Status.labels),
        "internal_unit": list(enums.InternalUnit.labels),
    }
    for key, _label in enums.FLAGS:
        lists[key] = ["是", "否", "未填报"]
    return lists


def value_hints(kind_name: str) -> dict[str, str]:
    """Column key -> what the column takes, for columns without a drop-down (a multi-valued
    checklist cannot be one)."""
    if kind_name != "contracts":
        return _kind_attribute(kind_name, "hints", {})  # e.g. township_reports: 0–100, 1 decimal
    from contracts.models import ServiceItem

    names = list(ServiceItem.objects.filter(active=True).values_list("name", flat=True))
    return {
        "services": _("Any of: %(values)s (several separated by 、)") % {"values": "、".join(names)},
    }


def _example_values(spec) -> dict[str, object]:
    example = getattr(spec, "example", None) or {}
    if isinstance(example, dict):
        return example
    return {col.key: val for col, val in zip(spec.columns, example, strict=False)}


def _column_note(column, has_list: bool) -> str:
    parts = []
    if column.required:
        parts.append(_("Required."))
    if column.synonyms:
        parts.append(_("Also accepted as: %(names)s") % {"names": "、".join(column.synonyms)})
    if is_text_column(column):
        parts.append(_("Formatted as text: type the code as it is."))
    if has_list:
        parts.append(_("Pick from the drop-down list."))
    return "\n".join(parts)


def template_workbook(spec) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = str(spec.label)[:31]
    lists = choice_lists(spec.name)
    hints = value_hints(spec.name)
    example = _example_values(spec)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)

    # The drop-down lists, one column each, on a hidden sheet (referenced by range).
    options = None
    ranges: dict[str, str] = {}
    if lists:
        options = wb.create_sheet("选项")
        pos = 0
        seen: dict[tuple, str] = {}
        for column in spec.columns:
            values = lists.get(column.key)
            if not values:
                continue
            key = tuple(values)
            if key not in seen:  # the nine flag columns share one list
                pos += 1
                letter = get_column_letter(pos)
                options.cell(row=1, column=pos, value=neutralise(column.canonical))
                for i, value in enumerate(values, start=2):
                    options.cell(row=i, column=pos, value=neutralise(value))
                seen[key] = f"'选项'!${letter}$2:${letter}${len(values) + 1}"
            ranges[column.key] = seen[key]
        options.sheet_state = "hidden"

    for pos, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(pos)
        cell = ws.cell(row=1, column=pos, value=neutralise(column.canonical))
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.font = Font(bold=True, color=REQUIRED_COLOR) if column.required else Font(bold=True)
        note = _column_note(column, column.key in ranges)
        if note:
            cell.comment = Comment(note, "医养结合服务平台", width=260, height=110)
        value = example.get(column.key)
        dim = ws.column_dimensions[letter]
        if is_text_column(column):
            dim.number_format = "@"  # cells typed into the column later stay text
        if value not in (None, ""):
            ex = ws.cell(row=2, column=pos, value=neutralise(str(value)))
            ex.font = Font(italic=True, color=EXAMPLE_COLOR)
            if is_text_column(column):
                ex.number_format = "@"
        width = max(
            _display_width(column.canonical) + 4,
            _display_width(value) + 2,
            10 if column.key in ranges else 8,
        )
        dim.width = min(width, 40)
        if column.key in ranges:
            dv = DataValidation(
                type="list",
                formula1=ranges[column.key],
                allow_blank=True,
                showErrorMessage=True,
                errorStyle="warning",  # 清空 and synonyms (敬老院 …) are still accepted
                errorTitle=_("Not in the list")[:32],
                error=_(
                    "This value is not in the list. Keep it only if it is 清空 or an accepted alternative name."
                )[:255],
            )
            dv.add(f"{letter}2:{letter}{VALIDATION_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    first = ws.cell(row=2, column=1)
    if first.value is not None:
        first.comment = Comment(
            _("Example row: replace it with your own data or delete it before uploading."),
            "医养结合服务平台",
            width=220,
            height=70,
        )

    # 填写说明: the rules and the column list, visible, after the template sheet.
    notes = wb.create_sheet("填写说明", index=1)
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 90
    notes.cell(row=1, column=1, value=neutralise(_("How to fill in the sheet"))).font = Font(
        bold=True, size=13
    )
    row = 3
    for number, rule in enumerate([*general_rules(), *kind_rules(spec.name)], start=1):
        text = notes.cell(row=row, column=1, value=neutralise(f"{number}. {rule}"))
        text.alignment = Alignment(wrap_text=True, vertical="top")
        notes.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        lines = -(-_display_width(rule) // 118)  # the merged cell is ~124 characters wide
        notes.row_dimensions[row].height = 16 * max(1, lines)
        row += 1
    row += 1
    for pos, title in enumerate((_("Column"), _("Required"), _("Alternative names and values")), start=1):
        cell = notes.cell(row=row, column=pos, value=neutralise(title))
        cell.font, cell.fill = Font(bold=True), header_fill
    for column in spec.columns:
        row += 1
        notes.cell(row=row, column=1, value=neutralise(column.canonical)).font = (
            Font(bold=True, color=REQUIRED_COLOR) if column.required else Font()
        )
        notes.cell(row=row, column=2, value=_("Yes") if column.required else "")
        details = []
        if column.synonyms:
            details.append(_("Also accepted as: %(names)s") % {"names": "、".join(column.synonyms)})
        if column.key in lists:
            details.append(_("Values: %(values)s") % {"values": "、".join(lists[column.key])})
        elif column.key in hints:
            details.append(hints[column.key])
        cell = notes.cell(row=row, column=3, value=neutralise("；".join(details)))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- the annotated error sheet --------------------------------------------------------------
def _located(item: dict) -> str:
    column, message = item.get("column"), str(item.get("message") or "").rstrip("。")
    return f"{column}：{message}" if column else message


def _cell_value(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return neutralise(value)
    import datetime

    if isinstance(value, (datetime.date, datetime.datetime, datetime.time, datetime.timedelta)):
        return value
    return neutralise(str(value))


def annotated_workbook(rows: list[list], errors: list[dict], warnings: list[dict] | None = None) -> bytes:
    """Every original row, in order, behind a first column 错误说明 with that row's problems
    (errors, then warnings marked 提示); rows with errors light red, rows with only warnings
    light yellow. Line 1 carries the heading and any file-level problem, so original row N is
    line N + 1."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    by_row: dict[int, list[str]] = defaultdict(list)
    warned: dict[int, list[str]] = defaultdict(list)
    file_level = []
    for item in errors:
        if item.get("row") is None:
            file_level.append(_located(item))
        else:
            by_row[int(item["row"])].append(_located(item))
    for item in warnings or []:
        if item.get("row") is None:
            file_level.append(_("Note: %(message)s") % {"message": _located(item)})
        else:
            warned[int(item["row"])].append(_("Note: %(message)s") % {"message": _located(item)})

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Errors marked")[:31])
    width = max((len(r) for r in rows), default=0)
    ws.column_dimensions["A"].width = 60
    ws.freeze_panes = "B2"
    red = PatternFill("solid", fgColor=ERROR_FILL)
    yellow = PatternFill("solid", fgColor=WARNING_FILL)
    wrap = Alignment(wrap_text=True, vertical="top")

    head = WriteOnlyCell(ws, value="错误说明")
    head.font = Font(bold=True, color=REQUIRED_COLOR)
    if file_level:
        intro = WriteOnlyCell(ws, value=neutralise("；".join(file_level)))
        intro.font, intro.fill = Font(bold=True, color=REQUIRED_COLOR), red
    else:
        intro = WriteOnlyCell(
            ws, value=neutralise(_("Your sheet follows from the next line (original row 1 is line 2)."))
        )
        intro.font = Font(italic=True, color=EXAMPLE_COLOR)
    ws.append([head, intro])

    for number, raw in enumerate(rows, start=1):
        messages = by_row.get(number, []) + warned.get(number, [])
        fill = red if number in by_row else yellow if number in warned else None
        note = WriteOnlyCell(ws, value=neutralise("；".join(messages)) if messages else None)
        cells = [note]
        for value in list(raw) + [""] * (width - len(raw)):
            cell = WriteOnlyCell(ws, value=_cell_value(value) if value != "" else None)
            if fill is not None:
                cell.fill = fill
            cells.append(cell)
        if fill is not None:
            note.fill = fill
            note.alignment = wrap
            note.font = Font(color=REQUIRED_COLOR) if number in by_row else Font()
        ws.append(cells)
    # Problems on rows beyond the sheet (should not happen) are not lost.
    extra = sorted(r for r in by_row if r > len(rows))
    for number in extra:
        ws.append(
            [
                neutralise(
                    _("Row %(row)s: %(messages)s") % {"row": number, "messages": "；".join(by_row[number])}
                )
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
