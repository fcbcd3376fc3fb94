"""`/api/v1/imports/` (CONTRACT.md): multipart upload → validated dry run → poll → confirm; bad files
are a stored invalid batch, bad arguments a 400 (never a 500); scope is 404; a township's upload
waits for a county user to accept or return it."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from eldercare.sheets.models import ImportBatch
from eldercare.sheets.readers import MAX_BYTES
from institutions.models import Institution, InstitutionVersion
from tests.factories import IMPORT_SUMMARY_KEYS
from tests.functional.test_api import auth, token_for

pytestmark = pytest.mark.django_db
FIX = Path(__file__).parent.parent / "fixtures" / "sheets"
URL = "/api/v1/imports/"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")


@pytest.fixture
def users(make_user):
    return {
        "civil": make_user("civil1", "civil", "370306000000"),
        "town": make_user("town1", "township", "370306001000"),
        "town2": make_user("town2", "township", "370306100000"),
        "neighbour": make_user("civil9", "civil", "370307000000"),
    }


@pytest.fixture
def api(client, users):
    """api("civil1") -> a client sending that user's token."""
    keys = {}

    def for_user(username):
        if username not in keys:
            resp = token_for(client, username)
            assert resp.status_code == 200, resp.content
            keys[username] = resp.json()["token"]
        return _Api(keys[username])

    return for_user


class _Api:
    def __init__(self, key):
        self.client, self.headers = Client(), auth(key)

    def get(self, url):
        return self.client.get(url, **self.headers)

    def post(self, url, data=None):
        return self.client.post(url, data or {}, **self.headers)

    def upload(self, name, data=None, **fields):
        data = (FIX / name).read_bytes() if data is None else data
        form = {"kind": "institutions", "file": SimpleUploadedFile(Path(name).name, data), **fields}
        return self.client.post(URL, form, **self.headers)


def test_dry_run_poll_and_confirm(api):
    civil = api("civil1")
    resp = civil.upload("institutions_messy.xlsx", dry_run="true", as_of="2026-11-30")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert {"id", "status", "summary"} <= set(body)
    assert body["status"] == "validated" and body["kind"] == "institutions" and body["as_of"] == "2026-11-30"
    summary = body["summary"]
    assert set(summary) == IMPORT_SUMMARY_KEYS
    assert (summary["rows_total"], summary["created"], summary["updated"], summary["unchanged"]) == (
        4,
        4,
        0,
        0,
    )
    assert summary["skipped"] >= 4  # title, 填报单位, blank, 合计 (the header too, for now)
    assert summary["errors"] == [] and not summary["committed"] and not summary["pending_acceptance"]
    assert [(w["row"], w["column"]) for w in summary["warnings"]] == [(3, "备注")]
    assert not Institution.objects.exists()

    polled = civil.get(f"{URL}{body['id']}/")
    assert polled.status_code == 200
    assert polled.json()["id"] == body["id"] and polled.json()["status"] == "validated"
    assert polled.json()["summary"] == summary

    done = civil.post(f"{URL}{body['id']}/confirm/")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "committed" and done.json()["summary"]["committed"]
    assert Institution.objects.count() == 4 and InstitutionVersion.objects.count() == 4
    again = civil.post(f"{URL}{body['id']}/confirm/")
    assert again.status_code == 409 and again.json()["detail"]
    assert civil.get(f"{URL}{body['id']}/").json()["status"] == "committed"

    listed = civil.get(URL).json()
    assert set(listed) == {"count", "next", "previous", "results"} and listed["count"] == 1


def test_upload_without_dry_run_commits_at_once(api):
    resp = api("civil1").upload("institutions_gbk.csv")
    assert resp.status_code == 201
    assert resp.json()["status"] == "committed" and resp.json()["summary"]["created"] == 4
    assert Institution.objects.count() == 4


@pytest.mark.parametrize(
    "name,where",
    [
        ("bad/inst_negative_beds.csv", (5, "核定养老床位数")),
        ("bad/inst_excel_number_code.xlsx", (4, "统一社会信用代码")),
        ("bad/picture.xlsx", (None, None)),
        ("bad/inst_xml_bomb.xlsx", (None, None)),
    ],
)
def test_bad_file_is_a_stored_invalid_batch(api, name, where):
    resp = api("civil1").upload(name, dry_run="true")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "invalid"
    errors = body["summary"]["errors"]
    assert errors and where in {(e["row"], e["column"]) for e in errors}
    assert all(set(e) == {"row", "column", "message"} and e["message"] for e in errors)
    confirm = api("civil1").post(f"{URL}{body['id']}/confirm/")
    assert confirm.status_code == 409
    assert not Institution.objects.exists()


@pytest.mark.parametrize(
    "fields,field,fragment",
    [
        ({"kind": "nonsense"}, "kind", ""),
        ({"kind": "institutions", "file": None}, "file", ""),
        ({"kind": "institutions", "as_of": "30/11/2026"}, "as_of", ""),
    ],
)
def test_argument_errors_are_400_not_500(api, fields, field, fragment):
    civil = api("civil1")
    form = {"file": SimpleUploadedFile("t.csv", (FIX / "institutions_gbk.csv").read_bytes()), **fields}
    form = {k: v for k, v in form.items() if v is not None}
    resp = civil.client.post(URL, form, **civil.headers)
    assert resp.status_code == 400, resp.content
    assert field in resp.json() and fragment in str(resp.json()[field])
    assert not ImportBatch.objects.exists()


def test_oversized_upload_is_a_chinese_400(api):
    data = b"\xe6\x9c\xba\xe6\x9e\x84\xe5\x90\x8d\xe7\xa7\xb0," + b"x" * MAX_BYTES
    resp = api("civil1").upload("big.csv", data=data)
    assert resp.status_code == 400
    message = str(resp.json()["file"])
    assert "20 MB" in message and "拆分" in message
    assert not ImportBatch.objects.exists()


def test_other_township_batch_is_404(api):
    batch = api("town1").upload("institutions_township.csv", dry_run="true").json()
    assert batch["status"] == "validated"
    for other in ("town2", "civil9"):
        assert api(other).get(f"{URL}{batch['id']}/").status_code == 404
        assert api(other).post(f"{URL}{batch['id']}/confirm/").status_code == 404
        assert api(other).post(f"{URL}{batch['id']}/accept/").status_code == 404
        assert api(other).get(URL).json()["count"] == 0
    assert api("civil1").get(f"{URL}{batch['id']}/").status_code == 200
    assert api("town1").get(f"{URL}999999/").status_code == 404
    assert ImportBatch.objects.get().status == "validated"


def test_township_confirm_waits_for_county_acceptance(api):
    town = api("town1")
    batch = town.upload("institutions_township.csv", dry_run="true").json()
    confirmed = town.post(f"{URL}{batch['id']}/confirm/")
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["status"] == "pending"
    assert body["summary"]["pending_acceptance"] and not body["summary"]["committed"]
    assert not Institution.objects.exists()
    assert town.post(f"{URL}{batch['id']}/accept/").status_code == 403  # no right to accept

    accepted = api("civil1").post(f"{URL}{batch['id']}/accept/")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "committed" and accepted.json()["summary"]["committed"]
    assert not accepted.json()["summary"]["pending_acceptance"]
    assert set(Institution.objects.values_list("credit_code", flat=True)) == {
        "52370306MJ00000062",
        "52370306MJ00000075",
    }
    assert town.get(f"{URL}{batch['id']}/").json()["status"] == "committed"


def test_returning_a_township_upload_needs_a_comment(api):
    batch = api("town1").upload("institutions_township.csv").json()
    assert batch["status"] == "pending"  # no dry run: validated and staged at once
    civil = api("civil1")
    refused = civil.post(f"{URL}{batch['id']}/reject/")
    assert refused.status_code == 409 and refused.json()["detail"]
    blank = civil.post(f"{URL}{batch['id']}/reject/", {"comment": "   "})
    assert blank.status_code == 409 and blank.json()["detail"]
    assert ImportBatch.objects.get().status == "pending"
    returned = civil.post(f"{URL}{batch['id']}/reject/", {"comment": "床位数与备案不符，请核对"})
    assert returned.status_code == 200, returned.content
    assert returned.json()["status"] == "rejected"
    assert ImportBatch.objects.get().decision_comment == "床位数与备案不符，请核对"
    assert civil.post(f"{URL}{batch['id']}/accept/").status_code == 409
    assert not Institution.objects.exists()


def test_session_auth_uploads_too(users, login):
    client = login(Client(), users["civil"])
    resp = client.post(
        URL,
        {
            "kind": "institutions",
            "file": SimpleUploadedFile("m.xlsx", (FIX / "institutions_medical.xlsx").read_bytes()),
        },
    )
    # A civil-affairs user may not maintain medical institutions: a stored invalid batch.
    assert resp.status_code == 201 and resp.json()["status"] == "invalid"
    assert {e["column"] for e in resp.json()["summary"]["errors"]} == {"机构大类"}


def test_schema_documents_the_imports_endpoints(users, login):
    client = login(Client(), users["civil"])
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    for path in (b"/api/v1/imports/", b"/api/v1/imports/{id}/", b"/api/v1/imports/{id}/confirm/"):
        assert path in schema.content
