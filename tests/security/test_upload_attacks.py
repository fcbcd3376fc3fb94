"""Upload attacks are refused cleanly (SECURITY.md "Uploads and exports", issue 8): a zip bomb
dressed as .xlsx (its sheet XML inflates to 1.1 GB — once with honest sizes in the zip's
directory, once lying about them), an XML bomb ("billion laughs" in the sheet XML), a web page
renamed .xlsx, and a file over the size limit — through the 批量导入 page and the API alike:
a Chinese message, no 500, nothing written, quickly and without the memory the bomb asks for.

The bombs are built here, in memory, from a few MB (a deflate stream of one repeated block);
the limit is made small with settings rather than by writing 20 MB.

Elsewhere: the corpus of bad files through import_sheet and the engine, among them a 300 MB
bomb and billion laughs in the shared strings and in the sheet (tests/integration/
test_import_corpus.py::test_bad_file_is_refused_and_nothing_written, ::
test_billion_laughs_is_not_expanded, ::test_oversized_file_is_refused_before_parsing); the
reader alone (tests/integration/test_sheet_readers.py); a 20 MB upload to the API
(tests/functional/test_import_api.py::test_oversized_upload_is_a_chinese_400)."""

import io
import re
import resource
import struct
import time
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from eldercare.sheets.readers import SheetError, read_rows, sniff
from institutions.models import Institution
from tests.factories import csrf_client, login, page_token

pytestmark = pytest.mark.django_db
CHINESE = re.compile("[\u4e00-\u9fff]")
S = ImportBatch.Status
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
GIB = 1024**3


# -- building the files ---------------------------------------------------------------------------
def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _repeated_deflate(prefix: bytes, block: bytes, times: int, suffix: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of prefix + block × times + suffix without deflating a gigabyte: after a full
    flush the compressor has no history, so the same block compresses to the same bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    c.compress(block)
    c.flush(zlib.Z_FULL_FLUSH)  # the first copy may differ (the prefix's history): not used
    once = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(suffix) + c.flush()
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    return head + once * times + tail, crc, len(prefix) + len(block) * times + len(suffix)


def _zip(entries) -> bytes:
    """A zip from (name, raw deflate data, crc, declared uncompressed size): the sizes in both
    the local headers and the central directory are what the caller declares."""
    out, central = io.BytesIO(), []
    for name, raw, crc, size in entries:
        offset, encoded = out.tell(), name.encode()
        out.write(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded), 0)
        )
        out.write(encoded + raw)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                *(0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded)),
                *(0, 0, 0, 0, 0, offset),
            )
            + encoded
        )
    directory = b"".join(central)
    start = out.tell()
    out.write(directory)
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), start, 0)
    )
    return out.getvalue()


def _workbook_parts() -> dict[str, bytes]:
    """A real one-sheet workbook's parts (openpyxl), to dress the attacks as .xlsx."""
    wb = Workbook()
    wb.active.append(["机构名称", "统一社会信用代码"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _with_sheet(sheet_entry) -> bytes:
    others = [
        (name, _deflate(data), zlib.crc32(data), len(data))
        for name, data in _workbook_parts().items()
        if name != "xl/worksheets/sheet1.xml"
    ]
    return _zip([*others, sheet_entry])


def zip_bomb(honest: bool) -> bytes:
    """sheet1.xml: 1.1 GB of rows from about 3 MB. `honest`: the zip declares the real size;
    else it declares 10 kB, and only inflating tells."""
    prefix = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    block = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>' * 20_000  # ~1 MB
    raw, crc, size = _repeated_deflate(prefix, block, 1100, b"</sheetData></worksheet>")
    assert size > GIB and len(raw) < 5 * 1024 * 1024
    return _with_sheet(("xl/worksheets/sheet1.xml", raw, crc, size if honest else 10_000))


def xml_bomb() -> bytes:
    """Billion laughs in the sheet XML: nine levels of ten, 3 GB of "lol" if expanded."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [{entities}]>\n'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t>'
        "</is></c></row></sheetData></worksheet>"
    ).encode()
    return _with_sheet(("xl/worksheets/sheet1.xml", _deflate(sheet), zlib.crc32(sheet), len(sheet)))


HTML = (
    "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><script>alert(1)</script></head><body><table>"
    "<tr><td>机构名称</td><td>统一社会信用代码</td></tr><tr><td>=cmd|' /C calc'!A0</td><td>x</td></tr>"
    "</table></body></html>"
).encode()

ATTACKS = {
    "zip bomb": (lambda: zip_bomb(honest=True), "压缩炸弹"),
    "zip bomb with lying sizes": (lambda: zip_bomb(honest=False), "无法读取"),
    "xml bomb": (xml_bomb, "XML 炸弹"),
    "html renamed .xlsx": (lambda: HTML, "网页（HTML）"),
}
_built: dict[str, bytes] = {}


def attack(name: str) -> bytes:
    if name not in _built:
        _built[name] = ATTACKS[name][0]()
    return _built[name]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the reader ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ATTACKS))
def test_the_reader_refuses_in_chinese(name):
    data = attack(name)
    before, started = peak_mib(), time.perf_counter()
    with pytest.raises(SheetError) as refused:
        read_rows(data)
    assert time.perf_counter() - started < 5
    assert peak_mib() - before < 200  # far from the gigabyte the file asks for
    assert ATTACKS[name][1] in refused.value.message and refused.value.row is None


@pytest.mark.parametrize(
    "part",
    [
        "xl/workbook.xml",
        "xl/styles.xml",
        "[Content_Types].xml",
        "xl/_rels/workbook.xml.rels",
        "docProps/app.xml",
    ],
)
def test_a_doctype_in_any_part_is_refused_even_without_an_entity_reference(part):
    """calamine ignores a DTD it is not asked to expand, but no spreadsheet program writes one:
    refused wherever it is, before any parsing (against a parser that one day would expand it)."""
    parts = _workbook_parts()
    body = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", parts[part])
    parts[part] = b'<?xml version="1.0"?>\n<!-- padding -->\n<!DOCTYPE x [<!ENTITY a "b">]>\n' + body
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(SheetError) as refused:
        sniff(buf.getvalue())
    assert "DOCTYPE" in refused.value.message


def test_spreadsheet_xml_2003_renamed_xls_is_refused():
    data = (
        b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>'
    )
    with pytest.raises(SheetError) as refused:
        sniff(data)
    assert "另存为 .xlsx" in refused.value.message


def test_a_csv_starting_with_an_angle_bracket_title_is_still_a_csv():
    assert sniff("<2025年>入住老人名册\n姓名,身份证号\n".encode()).kind == "csv"


# -- through the page and the API ------------------------------------------------------------------
def upload_page(client, name: str, data: bytes):
    page = client.get("/imports/new/institutions/")
    return client.post(
        "/imports/new/institutions/",
        {
            "file": SimpleUploadedFile(name, data),
            "as_of": "2026-11-30",
            "csrfmiddlewaretoken": page_token(page),
        },
        follow=True,
    )


def upload_api(client, name: str, data: bytes):
    return client.post("/api/v1/imports/", {"kind": "institutions", "file": SimpleUploadedFile(name, data)})


@pytest.mark.parametrize("name", list(ATTACKS))
def test_page_upload_is_refused_cleanly(civil, name):
    before, started = peak_mib(), time.perf_counter()
    resp = upload_page(csrf_client(civil), "机构名录.xlsx", attack(name))
    assert time.perf_counter() - started < 10 and peak_mib() - before < 200
    assert resp.status_code == 200
    body = resp.content.decode()
    assert ATTACKS[name][1] in body and "内部错误" not in body
    batch = ImportBatch.objects.get()
    assert batch.status == S.INVALID and batch.message and CHINESE.search(batch.message)
    assert not Institution.objects.exists()
    # The annotated error sheet of such a batch reads the stored file again: still no 500.
    assert csrf_client(civil).get(f"/imports/{batch.pk}/annotated.xlsx").status_code < 500


@pytest.mark.parametrize("name", list(ATTACKS))
def test_api_upload_is_refused_cleanly(civil, name):
    c = login(Client(), civil)
    resp = upload_api(c, "机构名录.xlsx", attack(name))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "invalid" and not body["summary"]["committed"]
    [error] = body["summary"]["errors"]
    assert error["row"] is None and ATTACKS[name][1] in error["message"]
    assert c.post(f"/api/v1/imports/{body['id']}/confirm/").status_code == 409
    assert not Institution.objects.exists()


def test_oversize_is_refused_before_it_is_stored_or_read(civil, settings, tmp_path):
    """The limit is a setting (PORTAL_UPLOAD_MAX_BYTES, 20 MB by default): 1 MB here."""
    settings.PORTAL_UPLOAD_MAX_BYTES = 1024 * 1024
    data = b"\xe6\x9c\xba\xe6\x9e\x84\xe5\x90\x8d\xe7\xa7\xb0," + b"x" * (1024 * 1024)
    page = upload_page(csrf_client(civil), "big.csv", data)
    assert page.status_code == 200 and "1 MB" in page.content.decode() and "拆分" in page.content.decode()
    api = upload_api(login(Client(), civil), "big.csv", data)
    assert api.status_code == 400 and "1 MB" in str(api.json()["file"])
    assert not ImportBatch.objects.exists()
    batch = engine.start_import(actor=civil, kind="institutions", data=data, filename="big.csv")
    assert batch.status == S.INVALID and "1 MB" in batch.message and batch.stored_name == ""
    uploads = tmp_path / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing written to disk
    assert not Institution.objects.exists()
    with pytest.raises(SheetError):
        sniff(data)


def test_openpyxl_reads_xml_through_defusedxml():
    """Uploads are read by calamine; openpyxl (which writes the exports and templates) would
    refuse the entities too, should anything read a workbook with it."""
    from defusedxml import EntitiesForbidden
    from openpyxl import load_workbook
    from openpyxl import xml as openpyxl_xml

    assert openpyxl_xml.DEFUSEDXML
    with pytest.raises(ValueError) as refused:  # openpyxl's wrapper around defusedxml's refusal
        load_workbook(io.BytesIO(attack("xml bomb")))
    cause = refused.value.__cause__ or refused.value.__context__
    assert isinstance(cause, EntitiesForbidden)


def test_uploads_are_kept_under_random_names_and_removed_after_commit(civil, settings):
    """Stored in PORTAL_UPLOAD_ROOT (outside the web root: tests/security/test_configuration.py)
    under a random name that says nothing of the file; gone once the batch is committed."""
    from pathlib import Path

    data = (
        "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数,成立日期\n"
        "银子敬老院,91310110666007217T,养老服务机构,敬老院,370306001001,120,2020-01-05\n"
    ).encode()
    batch = engine.start_import(
        actor=civil, kind="institutions", data=data, filename="../../etc/名录.csv", dry_run=True
    )
    root = Path(settings.PORTAL_UPLOAD_ROOT)
    assert re.fullmatch(r"[0-9a-f]{32}", batch.stored_name)
    assert [p.name for p in root.iterdir()] == [batch.stored_name]
    assert batch.file_name == "名录.csv"  # the client's path is dropped
    engine.confirm(actor=civil, batch=batch)
    assert ImportBatch.objects.get(pk=batch.pk).stored_name == "" and list(root.iterdir()) == []
