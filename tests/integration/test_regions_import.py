"""The plain `regions` loader and the import_sheet command (CONTRACT.md exit codes, --json)."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent
from eldercare.regions.models import Region
from eldercare.regions.services import import_regions
from tests.factories import IMPORT_SUMMARY_KEYS

FIX = Path(__file__).parent.parent / "fixtures"
pytestmark = pytest.mark.django_db


@pytest.fixture
def base_tree(db):
    Region.objects.create(code="370000000000", name="山东省", level=1)
    Region.objects.create(code="370300000000", name="淄博市", level=2, parent_id="370000000000")


@pytest.mark.parametrize("name", ["regions_gbk.csv", "regions.xlsx"])
def test_messy_sheet_imports_and_reimport_changes_nothing(base_tree, name):
    s = import_regions(actor=SYSTEM, path=FIX / name)
    assert s.errors == [] and s.committed
    assert (s.created, s.updated, s.skipped) == (4, 0, 4 if name.endswith("csv") else 4)
    assert Region.objects.get(code="370306001002").parent_id == "370306001000"  # implied by the code
    assert Region.objects.get(code="370306001000").name == "丝绸路街道"
    again = import_regions(actor=SYSTEM, path=FIX / name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    ev = AuditEvent.objects.filter(action=Action.IMPORT).first()
    assert len(ev.detail["file_sha256"]) == 64 and ev.detail["created"] in (0, 4)


def test_xlsx_unknown_column_warns(base_tree):
    s = import_regions(actor=SYSTEM, path=FIX / "regions.xlsx")
    assert any(w["column"] == "备注" for w in s.warnings)


def test_bad_rows_reported_with_row_and_column_and_nothing_written(base_tree):
    s = import_regions(actor=SYSTEM, path=FIX / "regions_bad.csv")
    assert not s.committed
    got = {(e["row"], e["column"]) for e in s.errors}
    assert {(3, "区划代码"), (4, "名称"), (5, "上级区划代码")} <= got
    # Row 2 is valid but its parent county is missing: reported too, and nothing is written.
    assert (2, "上级区划代码") in got
    assert all(isinstance(e["message"], str) and e["message"] for e in s.errors)
    assert Region.objects.count() == 2


def test_township_scope_rows_refused(make_user, tmp_path):
    t = make_user("t1", "township", "370306001000")
    # Township users hold no import permission for regions at all.
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_regions(actor=t, path=FIX / "regions_gbk.csv")


def test_admin_rows_outside_scope_refused(make_user, tmp_path):
    admin = make_user("adm", "admin", "370306001000")
    f = tmp_path / "r.csv"
    f.write_text("区划代码,名称\n370306001003,新社区\n370307001001,外县社区\n", encoding="utf-8")
    s = import_regions(actor=admin, path=f)
    assert [(e["row"], e["column"]) for e in s.errors] == [(3, "区划代码")]
    assert not Region.objects.filter(code="370306001003").exists()


def test_command_json_and_exit_codes(db, capsys, tmp_path):
    f = tmp_path / "top.csv"
    f.write_text("区划代码,名称\n370000000000,山东省\n370300000000,淄博市\n", encoding="utf-8")
    call_command("import_sheet", "regions", str(f), "--json", "--dry-run")
    out = json.loads(capsys.readouterr().out)
    assert set(out) == IMPORT_SUMMARY_KEYS
    assert out["kind"] == "regions" and out["created"] == 2 and out["committed"] is False
    assert Region.objects.count() == 0  # dry run wrote nothing
    # Without --user: allowed only into an empty region table, then audited as the system.
    call_command("import_sheet", "regions", str(f), "--json")
    assert json.loads(capsys.readouterr().out)["committed"] is True
    assert AuditEvent.objects.filter(action=Action.IMPORT, username="system").exists()
    with pytest.raises(SystemExit) as exc:
        call_command("import_sheet", "regions", str(f), "--json")
    assert exc.value.code == 2


def test_command_unknown_kind_and_user_exit_2(regions):
    for args in (
        ["nonsense", str(FIX / "regions.xlsx")],
        ["regions", str(FIX / "regions.xlsx"), "--user", "nobody"],
        ["institutions", str(FIX / "regions.xlsx"), "--user", "nobody"],
    ):
        with pytest.raises(SystemExit) as exc:
            call_command("import_sheet", *args)
        assert exc.value.code == 2


def test_command_invalid_file_exit_1(make_user):
    make_user("adm", "admin")
    with pytest.raises(SystemExit) as exc:
        call_command("import_sheet", "regions", str(FIX / "regions_bad.csv"), "--user", "adm", "--json")
    assert exc.value.code == 1
