"""No password, API token or full ID number in the logs (SECURITY.md "Audit"): everything logged
while a township officer signs in (once mistyping the password), takes an API token (once with
a wrong password), uploads a residents roster through the API with it (and a roster with a
mistyped number), and a county officer signs in and unmasks a number on the page — every
logger at DEBUG, SQL with its parameters included (django.db.backends), django.request's
warnings, axes — contains none of those secrets, and neither does the audit trail.

Elsewhere, for the ID numbers alone: tests/integration/test_occupancy_residents.py::
test_no_full_id_number_in_the_logs (services) and tests/integration/test_subsidy_imports.py::
test_no_full_id_number_in_the_logs_of_an_import (the engine)."""

import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from eldercare.audit.models import AuditEvent
from subsidies.models import Resident
from tests.factories import PASSWORD, make_home

pytestmark = pytest.mark.django_db
YINZI = "91310110666007217T"
ZHANG, LI = "370306194501021237", "11010519491231002X"
MISTYPED = ZHANG[:-1] + "8"  # wrong check digit: refused, and its message must not carry it
WRONG_PASSWORD = "Wrong#Mima2026"
HEADER = "养老机构信用代码,姓名,身份证号,能力等级,入住日期,退住日期"
LOGGERS = ("", "django", "django.request", "django.db.backends", "django.security", "axes", "eldercare")


def roster(*rows) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8")


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def secrets_in(text: str, secrets) -> list[str]:
    upper = text.upper()
    found = []
    for s in secrets:
        if s.upper() in upper:
            found.append(s)
    for number in (ZHANG, LI, MISTYPED):  # the first 17 digits identify the person as well
        if number[:17] in text:
            found.append(number[:17])
    return found


def test_no_password_token_or_id_number_in_the_logs(regions, make_user, caplog):
    home = make_home(name="银子敬老院", region="370306001001", credit_code=YINZI)
    make_user("town1", "township", "370306001000")
    make_user("civil1", "civil", "370306000000")
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    connection.force_debug_cursor = True  # SQL with its parameters goes to django.db.backends
    try:
        town = Client()
        assert login(town, "town1", WRONG_PASSWORD).status_code == 200
        assert login(town, "town1", PASSWORD).status_code == 302
        api = Client()
        bad = api.post(
            "/api/v1/auth/token/",
            {"username": "town1", "password": WRONG_PASSWORD},
            content_type="application/json",
        )
        assert bad.status_code == 400
        resp = api.post(
            "/api/v1/auth/token/",
            {"username": "town1", "password": PASSWORD},
            content_type="application/json",
        )
        key = resp.json()["token"]
        auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
        upload = api.post(
            "/api/v1/imports/",
            {
                "kind": "residents",
                "file": SimpleUploadedFile(
                    "名册.csv",
                    roster(
                        f"{YINZI},张秀英,{ZHANG},1,2025-01-05,", f"{YINZI},李桂兰,{LI.lower()},2,2025-02-01,"
                    ),
                ),
            },
            **auth,
        )
        assert upload.status_code == 201 and upload.json()["status"] == "committed", upload.content
        refused = api.post(
            "/api/v1/imports/",
            {
                "kind": "residents",
                "file": SimpleUploadedFile("名册2.csv", roster(f"{YINZI},王秀兰,{MISTYPED},1,2025-03-01,")),
            },
            **auth,
        )
        assert refused.status_code == 201 and refused.json()["status"] == "invalid"
        assert api.get("/api/v1/institutions/999999/", **auth).status_code == 404  # django.request warns
        assert Client().get("/api/v1/regions/", HTTP_AUTHORIZATION=f"Token {key[:-2]}xx").status_code in (
            401,
            403,
        )

        civil = Client()
        assert login(civil, "civil1", PASSWORD).status_code == 302
        r = Resident.objects.get(institution=home, admitted_on="2025-01-05")
        shown = civil.post(f"/subsidies/residents/{r.pk}/unmask/", {"reason": "核对补贴申领材料"})
        assert shown.status_code == 200 and ZHANG in shown.content.decode()  # the page shows it
    finally:
        connection.force_debug_cursor = False

    names = {rec.name for rec in caplog.records}
    assert "django.db.backends" in names and "django.request" in names, names  # the net was cast
    assert any(n.startswith("axes") for n in names), names
    logged = caplog.text + "\n".join(
        f"{rec.getMessage()} {rec.exc_text or ''} {rec.__dict__.get('request', '')}" for rec in caplog.records
    )
    secrets = (PASSWORD, WRONG_PASSWORD, key, ZHANG, LI, MISTYPED)
    assert secrets_in(logged, secrets) == []
    trail = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)
    assert secrets_in(trail, secrets) == []
