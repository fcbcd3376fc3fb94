"""Test settings: the environment still decides the database and broker (CI sets
DATABASE_URL/REDIS_URL); hashing is fast; e-mail goes to memory."""

from .base import *  # noqa: F403
from .base import DATABASES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S303 - tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
# Test runs must not depend on a collected manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tasks run in-process unless a test starts a real worker (tests/integration/test_celery.py
# switches eager off around an in-process worker consuming from Redis).
CELERY_TASK_ALWAYS_EAGER = True
# Reports are recomputed by the tests that exercise it (tests/integration/test_report_*.py turn
# it on); elsewhere an edit must not start a report run in-process.
PORTAL_REPORTS_AUTO_RECOMPUTE = False
