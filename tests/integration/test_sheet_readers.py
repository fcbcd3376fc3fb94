"""The reader: every format township staff send, and bad files refused in Chinese without a 500."""

from pathlib import Path

import pytest

from eldercare.accounts.scope import SYSTEM
from eldercare.regions.models import Region
from eldercare.regions.services import import_regions
from eldercare.sheets.readers import SheetError, read_rows, sniff

FIX = Path(__file__).parent.parent / "fixtures"
BAD = FIX / "sheets" / "bad"


@pytest.mark.parametrize(
    "name,kind",
    [("regions.xlsx", "xlsx"), ("regions.xls", "xls"), ("regions.ods", "ods"), ("regions_gbk.csv", "csv")],
)
def test_sniffed_by_content_and_read(name, kind):
    data = (FIX / name).read_bytes()
    assert sniff(data).kind == kind
    rows = read_rows(data)
    header = next(i for i, r in enumerate(rows) if "名称" in [str(c).strip() for c in r])
    assert header == 2  # below the title and 填报单位 rows, row 3 as the user sees it
    assert any("丝绸路街道" in str(c) for r in rows for c in r)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["regions.xls", "regions.ods"])
def test_old_xls_and_ods_import_regions(name):
    Region.objects.create(code="370000000000", name="山东省", level=1)
    Region.objects.create(code="370300000000", name="淄博市", level=2, parent_id="370000000000")
    summary = import_regions(actor=SYSTEM, path=FIX / name)
    assert summary.errors == [] and summary.created == 4


@pytest.mark.parametrize(
    "name,fragment",
    [
        ("picture.xlsx", "不是电子表格"),
        ("empty.csv", "空"),
        ("binary.csv", "不是电子表格"),
        ("not_a_sheet.xlsx", "不是电子表格"),
        ("bomb.xlsx", "解压后过大"),
    ],
)
def test_bad_files_refused_with_a_chinese_message(name, fragment):
    with pytest.raises(SheetError) as exc:
        read_rows((BAD / name).read_bytes())
    assert fragment in exc.value.message and exc.value.row is None


def test_oversized_file_refused():
    with pytest.raises(SheetError) as exc:
        sniff(b"a,b\n" * (6 * 1024 * 1024))
    assert "20 MB" in exc.value.message


@pytest.mark.django_db
def test_bad_file_through_the_command_exits_1_and_writes_nothing(capsys):
    import json

    from django.core.management import call_command

    with pytest.raises(SystemExit) as exc:
        call_command("import_sheet", "regions", str(BAD / "picture.xlsx"), "--json")
    assert exc.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["errors"][0]["row"] is None and "不是电子表格" in out["errors"][0]["message"]
    assert not Region.objects.exists()
