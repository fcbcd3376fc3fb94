"""The short life of an uploaded resident roster (issue 6, SECURITY.md "Personal data"): the file
holds full ID numbers, so it is deleted as soon as its batch is committed, returned or abandoned,
and an uncommitted one at most an hour after the upload (the 10-minute sweep,
`sheets.cleanup_short_lived_uploads` in CELERY_BEAT_SCHEDULE); the stored plan of a batch that can
no longer be committed keeps hashes and masks only (no ciphers, no birth dates), and a number
quoted from any cell or the file name is masked. Proven by reading every row of every table
(compressed plans and reports opened) and every file under the upload root."""

import datetime
import json
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from eldercare.audit.models import AuditEvent
from eldercare.celery import app as celery_app
from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution
from subsidies import idcard
from subsidies.models import Resident
from tests.factories import at, make_home
from tests.integration.test_subsidy_imports import (
    FIX,
    FIXTURE_IDS,
    HAPPY,
    LI,
    OCC_HEADER,
    RES_HEADER,
    XIUHUA,
    YINZI,
    ZHANG,
    run,
    sheet,
)

pytestmark = pytest.mark.django_db
D = datetime.date
S = ImportBatch.Status
ROSTER = (FIX / "residents_gbk.csv").read_bytes()
BIRTH_DATES = ("1945-01-02", "1949-12-31", "1939-07-20", "1956-10-10")


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path, monkeypatch):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
    at(monkeypatch, D(2025, 8, 15))


@pytest.fixture
def homes(regions):
    """The three homes of 丝绸路街道 the roster fixture names (as in test_subsidy_imports)."""
    opened = {"opened_on": D(2020, 1, 1)}
    yinzi = make_home(name="银子敬老院", region="370306001001", credit_code=YINZI, **opened)
    make_home(name="绣花社区养老院", region="370306001002", credit_code=XIUHUA, type="care_home", **opened)
    happy = make_home(
        name="银子社区幸福院", region="370306001001", credit_code="", type="rural_happiness_home", **opened
    )
    Institution.objects.filter(pk=happy.pk).update(portal_no=HAPPY)
    return yinzi


def database_text() -> str:
    """Every value of every row of every table, compressed blobs opened."""
    out = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - the introspected table names
            for row in cur.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        raw = bytes(value)
                        try:
                            raw = zlib.decompress(raw)
                        except zlib.error:
                            pass
                        out.append(raw.decode("utf-8", "replace"))
                    else:
                        out.append(str(value))
    return "\n".join(out).upper()


def files_text() -> str:
    root = Path(settings.PORTAL_UPLOAD_ROOT)
    if not root.exists():
        return ""
    return "\n".join(p.read_bytes().decode("gbk", "replace") for p in root.rglob("*") if p.is_file())


def uploads() -> list[Path]:
    root = Path(settings.PORTAL_UPLOAD_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def no_full_number(text: str, numbers=FIXTURE_IDS) -> bool:
    text = text.upper()
    return not any(n in text or n[:17] in text for n in numbers)


def plan(batch) -> list[dict]:
    return ImportBatch.objects.get(pk=batch.pk).get_ops()


def age(batch, minutes: int) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )


def test_after_commit_no_full_id_number_on_disk_or_in_the_database(homes, township):
    b = run(township, ROSTER, kind="residents", name="名册.csv")
    assert b.status == S.COMMITTED and Resident.objects.count() == 4
    assert uploads() == [] and ImportBatch.objects.get(pk=b.pk).stored_name == ""
    ops = plan(b)
    assert len(ops) == 4 and all(set(op) >= {"hash", "masked"} for op in ops)
    assert not any("cipher" in op or "birth_date" in op for op in ops)
    text = database_text()
    assert no_full_number(text)
    assert not any(day in json.dumps(ops) for day in BIRTH_DATES)
    # The scan did see the roster: masked numbers (the residents table, the plan, the audit trail).
    assert "1101**********002X" in text and text.count("1101**********002X") >= 3
    # Encrypted at rest, still: the roster opens with the key.
    assert idcard.decrypt(Resident.objects.get(name="李桂兰").id_cipher) == LI
    # The preview of the committed batch still shows what it did, masked.
    from tests.factories import csrf_client

    page = csrf_client(township).get(f"/imports/{b.pk}/").content.decode()
    assert "李桂兰（1101**********002X）· 银子敬老院" in page


def test_an_uncommitted_roster_lives_an_hour_then_the_sweep_removes_it(homes, township):
    b = run(township, ROSTER, kind="residents", name="名册.csv", dry_run=True)
    assert b.status == S.VALIDATED
    assert len(uploads()) == 1 and not no_full_number(files_text())  # the file holds the numbers
    assert all("cipher" in op for op in plan(b))  # needed to commit: encrypted
    assert no_full_number(database_text())  # …and never in clear

    age(b, 59)
    assert engine.cleanup_short_lived_uploads() == 0
    assert ImportBatch.objects.get(pk=b.pk).status == S.VALIDATED and len(uploads()) == 1

    age(b, 61)
    assert engine.cleanup_short_lived_uploads() == 1
    b.refresh_from_db()
    assert (b.status, b.stored_name) == (S.ABANDONED, "")
    assert uploads() == [] and no_full_number(files_text())
    assert not any("cipher" in op for op in plan(b))
    assert no_full_number(database_text())
    assert AuditEvent.objects.filter(
        object_type="sheets.importbatch", object_id=str(b.pk), detail__step="abandoned"
    ).exists()
    with pytest.raises(ValidationError):
        engine.confirm(actor=township, batch=b)
    assert not Resident.objects.exists()


def test_an_invalid_roster_keeps_its_file_for_the_error_sheet_for_an_hour_only(homes, township):
    rows = [f"{YINZI},张秀英,{ZHANG},能力完好,2025-01-05,", f"{YINZI},李桂兰,{LI},半失能,2025-01-05,"]
    b = run(township, sheet(*rows, header=RES_HEADER), kind="residents")
    assert b.status == S.INVALID and len(uploads()) == 1
    assert not any("cipher" in op for op in plan(b))  # can never be committed: nothing kept
    assert no_full_number(database_text(), (ZHANG, LI))
    age(b, 61)
    assert engine.cleanup_short_lived_uploads() == 1
    assert ImportBatch.objects.get(pk=b.pk).status == S.ABANDONED and uploads() == []


def test_abandoning_at_once_removes_file_and_ciphers(homes, township):
    b = run(township, ROSTER, kind="residents", name="名册.csv", dry_run=True)
    engine.abandon(actor=township, batch=b)
    assert uploads() == [] and not any("cipher" in op for op in plan(b))
    assert no_full_number(database_text())


def test_other_kinds_keep_the_general_limit(homes, township):
    occupancy = run(township, sheet(f"{YINZI},2025-01,1,1", header=OCC_HEADER), dry_run=True)
    roster = run(township, ROSTER, kind="residents", name="名册.csv", dry_run=True)
    age(occupancy, 120)
    age(roster, 120)
    assert engine.cleanup_short_lived_uploads() == 1  # the roster only
    assert ImportBatch.objects.get(pk=occupancy.pk).status == S.VALIDATED
    assert ImportBatch.objects.get(pk=roster.pk).status == S.ABANDONED
    assert len(uploads()) == 1
    # The daily sweep applies the kind's hour as well, and 7 days to the others.
    age(occupancy, 60 * 24 * 8)
    assert engine.cleanup_uploads() == 1 and uploads() == []


def test_a_number_quoted_from_another_cell_or_the_file_name_is_masked(homes, township):
    rows = [
        f"{YINZI},{ZHANG},张秀英,{ZHANG},能力完好,2025-01-05,",  # the home name column holds the number
        f"{YINZI},银子敬老院,{LI},{LI},轻度失能,2025-01-05,",  # the name column holds the number
    ]
    header = "养老机构信用代码,养老机构名称,姓名,身份证号,能力等级,入住日期,退住日期"
    b = run(township, sheet(*rows, header=header), kind="residents", name=f"名册{ZHANG}.csv")
    assert b.status == S.INVALID
    stored = ImportBatch.objects.get(pk=b.pk)
    assert stored.file_name == "名册3703**********1237.csv"
    report = stored.get_report()
    assert any("3703**********1237" in w["message"] for w in report["warnings"])
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(5, "姓名")]
    assert "姓名一栏填的是身份证号" in report["errors"][0]["message"]
    assert no_full_number(database_text(), (ZHANG, LI))


def test_the_sweep_is_scheduled_every_ten_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["cleanup-short-lived-uploads"]
    assert entry["task"] == "sheets.cleanup_short_lived_uploads"
    assert entry["schedule"] == datetime.timedelta(minutes=10)
    from eldercare.sheets import tasks

    assert tasks.cleanup_short_lived_uploads.name == entry["task"]
    assert entry["task"] in celery_app.tasks
