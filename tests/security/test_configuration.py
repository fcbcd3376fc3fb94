"""SECURITY.md items that are configuration, checked where they are written: the production
settings (as the deployed process loads them), django-import-export's switches, the database
connections, the Redis of docker-compose, and a scan of the code for request data splatted into
ORM calls. `make check-deploy` (in .ci/run) covers the rest of the transport settings."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("eldercare", "institutions", "contracts", "subsidies", "assessments")


@pytest.fixture(scope="module")
def production():
    """The production settings as a deployed process reads them (a subprocess: the test run
    itself uses eldercare.settings.test)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eldercare.settings.production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "portal.example.gov.cn",
        "DATABASE_URL": "postgres://portal@127.0.0.1:5432/portal",
    }
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'DEBUG', 'PASSWORD_HASHERS', 'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_HTTPONLY', 'SESSION_COOKIE_AGE', "
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', 'PORTAL_UPLOAD_MAX_BYTES', "
        "'IMPORT_EXPORT_IMPORT_PERMISSION_CODE', 'IMPORT_EXPORT_EXPORT_PERMISSION_CODE')} | "
        "{k: str(getattr(s, k)) for k in ('PORTAL_UPLOAD_ROOT', 'STATIC_ROOT', 'MEDIA_ROOT')} | "
        "{'db': {k: s.DATABASES['default'][k] for k in ('CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')}}))"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_hashes_passwords_with_pbkdf2_and_sets_strict_cookies(production):
    assert production["DEBUG"] is False
    assert production["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    assert production["SESSION_COOKIE_HTTPONLY"] and production["CSRF_COOKIE_HTTPONLY"]
    assert production["SESSION_COOKIE_AGE"] == 30 * 60
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] and production["X_FRAME_OPTIONS"] == "DENY"
    assert production["PORTAL_UPLOAD_MAX_BYTES"] == 20 * 1024 * 1024


def test_uploads_live_outside_the_web_root(production):
    """Neither under the collected static files nor under MEDIA_ROOT; and no URL serves
    either directory's files (tests/functional/test_url_walk.py lists every pattern)."""
    from pathlib import PurePath

    uploads = PurePath(production["PORTAL_UPLOAD_ROOT"])
    for served in (production["STATIC_ROOT"], production["MEDIA_ROOT"]):
        assert not uploads.is_relative_to(served) and not PurePath(served).is_relative_to(uploads)
    from django.urls import get_resolver

    patterns = " ".join(str(p.pattern) for p in get_resolver().url_patterns)
    assert "media" not in patterns and "uploads" not in patterns


def test_persistent_database_connections_with_health_checks(production):
    assert production["db"] == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}


def test_django_import_export_permissions_set_and_its_admin_import_unused(production):
    """Its permission codes default to None (open): both set. No admin class mixes in its
    import (imports go through the portal's engine, with its scope)."""
    assert production["IMPORT_EXPORT_IMPORT_PERMISSION_CODE"] == "import"
    assert production["IMPORT_EXPORT_EXPORT_PERMISSION_CODE"] == "export"
    assert settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT
    from django.contrib import admin
    from import_export.admin import ImportMixin

    importing = [type(a).__name__ for a in admin.site._registry.values() if isinstance(a, ImportMixin)]
    assert importing == []


def test_redis_in_docker_compose_keeps_queued_tasks():
    compose = (ROOT / "docker-compose.yml").read_text()
    redis = re.search(r"\n  redis:\n(.*?)\n  \w", compose, re.S).group(1)
    assert '"--appendonly", "yes"' in redis and '"--maxmemory-policy", "noeviction"' in redis
    beat = re.search(r"\n  beat:\n(.*?)(\n  \w|\Z)", compose, re.S).group(1)
    replicas = re.search(r"replicas:\s*(\d+)", beat)
    assert "DatabaseScheduler" in beat and (replicas is None or replicas.group(1) == "1")  # one beat


SPLAT = re.compile(r"\*\*\s*(?:self\.)?(?:request|req)\.(?:GET|POST|data|query_params|COOKIES|headers)\b")


def test_no_request_data_splatted_into_calls():
    """CVE-2025-64459 and its kind: `filter(**request.GET)` lets the client pick the lookups
    (and `_connector`). A scan of the project's code for request data splatted into any call."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SPLAT.search(line) or re.search(r"\*\*\s*dict\(\s*(?:self\.)?request\.", line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []
