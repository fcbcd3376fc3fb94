"""Reading an uploaded sheet: sniff the content (not the extension), guard, then yield rows.

.xlsx, .xls and .ods are read by python-calamine (Rust; ~10× openpyxl read-only on this machine,
docs/adr/0008-sheet-reader.md); .csv is decoded as UTF-8 (with or without BOM), else GB18030
(a superset of GBK). Guards run before parsing: file size (settings.PORTAL_UPLOAD_MAX_BYTES,
20 MB), zip entry count and total uncompressed size (zip bombs; the zip reader under calamine
refuses an entry that inflates beyond the size it declares, so the declared total holds), a
document type declaration in any XML part (the entities of an XML bomb or XXE: no spreadsheet
program writes one), HTML or XML renamed to a spreadsheet, sheet count, row count. Every refusal
is a `SheetError` with a Chinese message (row None: it is about the file)."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

MAX_BYTES = 20 * 1024 * 1024  # the default of settings.PORTAL_UPLOAD_MAX_BYTES
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
MAX_SHEETS = 50
MAX_ROWS = 200_000


class SheetError(Exception):
    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message, self.row, self.column = message, row, column


@dataclass(frozen=True)
class Sniffed:
    kind: str  # xlsx | xls | ods | csv
    data: bytes


NOT_A_SHEET = "这不是电子表格文件（支持 .xlsx、.xls、.ods、.csv）。"
# Markup at the start of a "CSV": a web page or an XML file saved with a spreadsheet's name
# (some systems export HTML tables as .xls). Never a register's first cell.
_MARKUP = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<[!?A-Za-z]")


def max_bytes() -> int:
    """The upload limit in bytes (settings.PORTAL_UPLOAD_MAX_BYTES, default 20 MB)."""
    from django.conf import settings

    return getattr(settings, "PORTAL_UPLOAD_MAX_BYTES", MAX_BYTES) if settings.configured else MAX_BYTES


def max_mb() -> str:
    return f"{max_bytes() / 1024 / 1024:g}"


def too_big_message() -> str:
    return f"文件超过 {max_mb()} MB，请拆分后分批上传。"


def _declares_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether the part's prolog (what comes before its root element) has a <!DOCTYPE …> or any
    other markup declaration. Reads only the prolog, in chunks (a padded comment is not held in
    memory), decoding UTF-16 parts."""
    with zf.open(info) as fh:
        first = fh.read(4096)
        decoder = None
        if first.startswith((b"\xff\xfe", b"\xfe\xff")) or first[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
            enc = "utf-16-be" if first.startswith(b"\xfe\xff") or first[:1] == b"\x00" else "utf-16-le"
            decoder = codecs.getincrementaldecoder(enc)(errors="replace")

        def more(chunk: bytes) -> bytes:
            return decoder.decode(chunk).encode("utf-8") if decoder else chunk

        buf, pos, eof = more(first).lstrip(b"\xef\xbb\xbf\xfe\xff"), 0, len(first) < 4096
        inside = b""  # the end of the comment or processing instruction being skipped
        while True:
            if inside:
                end = buf.find(inside, pos)
                if end >= 0:
                    pos, inside = end + len(inside), b""
                    continue
                pos = max(pos, len(buf) - len(inside) + 1)  # keep a terminator split across chunks
            else:
                while pos < len(buf) and buf[pos : pos + 1] in b" \t\r\n":
                    pos += 1
                if pos < len(buf) and buf[pos : pos + 1] != b"<":
                    return False  # not XML (or broken): for the parser to judge
                if len(buf) - pos >= 4 or (eof and pos < len(buf)):
                    if buf.startswith(b"<?", pos):
                        pos, inside = pos + 2, b"?>"
                        continue
                    if buf.startswith(b"<!--", pos):
                        pos, inside = pos + 4, b"-->"
                        continue
                    return buf.startswith(b"<!", pos)  # <!DOCTYPE, <!ENTITY …; else the root element
            if eof:
                return False
            chunk = fh.read(65536)
            eof = not chunk
            buf, pos = buf[pos:] + more(chunk), 0


def sniff(data: bytes) -> Sniffed:
    if not data:
        raise SheetError("文件是空的。")
    if len(data) > max_bytes():
        raise SheetError(too_big_message())
    if data[:4] == b"PK\x03\x04":
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
        except zipfile.BadZipFile as exc:
            raise SheetError("文件已损坏，无法打开。") from exc
        if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
            raise SheetError("文件解压后过大，已拒绝（疑似压缩炸弹）。")
        try:
            dtd = any(_declares_dtd(zf, i) for i in infos if not i.is_dir())
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            NotImplementedError,
            RuntimeError,
            OSError,
            EOFError,
            zlib.error,
        ) as exc:
            raise SheetError("文件已损坏，无法打开。") from exc
        if dtd:
            raise SheetError(
                "文件含有文档类型声明（DOCTYPE/ENTITY），无法读取：电子表格软件不会生成这样的文件（疑似 XML 炸弹），已拒绝。"
            )
        names = {i.filename for i in infos}
        if "xl/workbook.xml" in names:
            return Sniffed("xlsx", data)
        if (
            "content.xml" in names
            and "mimetype" in names
            and b"opendocument.spreadsheet" in zf.read("mimetype")[:100]
        ):
            return Sniffed("ods", data)
        raise SheetError(NOT_A_SHEET)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return Sniffed("xls", data)
    head = data[:4096]
    if b"\x00" in head or head.startswith((b"\x89PNG", b"%PDF", b"\xff\xd8\xff", b"GIF8")):
        raise SheetError(NOT_A_SHEET)
    if _MARKUP.match(head):
        raise SheetError(
            "这是网页（HTML）或 XML 文件，不是电子表格文件。若是从其他系统导出的表格，"
            "请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。"
        )
    return Sniffed("csv", data)


def decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SheetError("无法识别文件的文字编码，请另存为 UTF-8 或 GBK 编码的 CSV，或 Excel 文件。") from exc


def iter_rows(data: bytes):
    """The rows of the first sheet one at a time (row 1 first), so a 100k-row file is never
    held as Python objects all at once. Columns may start at the sheet's first used column."""
    sniffed = sniff(data)
    if sniffed.kind == "csv":
        text = decode_text(sniffed.data)
        if text.count("\n") > MAX_ROWS:
            raise SheetError(f"行数超过 {MAX_ROWS} 行，请拆分后分批上传。")
        yield from csv.reader(io.StringIO(text))
        return
    sheet = _first_sheet(sniffed)
    if sheet.total_height > MAX_ROWS:
        raise SheetError(f"行数超过 {MAX_ROWS} 行，请拆分后分批上传。")
    try:
        yield from sheet.iter_rows()
    except Exception as exc:
        raise SheetError("文件已损坏或格式不受支持，无法读取。") from exc


def _first_sheet(sniffed: Sniffed):
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(sniffed.data))
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise SheetError("文件已损坏或格式不受支持，无法读取。") from exc
    if len(wb.sheet_names) > MAX_SHEETS:
        raise SheetError(f"工作表过多（超过 {MAX_SHEETS} 个）。")
    if not wb.sheet_names:
        raise SheetError("文件中没有工作表。")
    try:
        return wb.get_sheet_by_index(0)
    except Exception as exc:
        raise SheetError("文件已损坏或格式不受支持，无法读取。") from exc


def read_rows(data: bytes) -> list[list]:
    """All rows of the first sheet, as the user sees them (row 1 = list index 0, column A =
    index 0): for the annotated error sheet and small kinds."""
    sniffed = sniff(data)
    if sniffed.kind == "csv":
        rows = list(csv.reader(io.StringIO(decode_text(sniffed.data))))
    else:
        try:
            rows = _first_sheet(sniffed).to_python(skip_empty_area=False)
        except SheetError:
            raise
        except Exception as exc:
            raise SheetError("文件已损坏或格式不受支持，无法读取。") from exc
    if len(rows) > MAX_ROWS:
        raise SheetError(f"行数超过 {MAX_ROWS} 行，请拆分后分批上传。")
    return [["" if c is None else c for c in row] for row in rows]
