import os

import pytest
from django.db import connection

DEMO_PASSWORD = "Yiyang@2026"


def pytest_sessionstart(session):
    # .ci/run sets PORTAL_REQUIRE_POSTGRES: refuse to run on anything else.
    if os.environ.get("PORTAL_REQUIRE_POSTGRES") and "postgres" not in os.environ.get("DATABASE_URL", ""):
        raise pytest.UsageError("PORTAL_REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL")


@pytest.fixture(scope="session", autouse=True)
def _record_db_vendor(django_db_setup, django_db_blocker):
    """Leave the database vendor the suite really used where .ci/run can check it."""
    yield
    marker = os.environ.get("PORTAL_DB_VENDOR_MARKER")
    if marker:
        with open(marker, "w") as fh:
            fh.write(connection.vendor)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def no_versioned_cache(settings):
    """Query-count tests compare what a page costs to compute, so nothing comes from the cache
    (eldercare/core/dataversion.py); tests/functional/test_chrome_cache.py and the page cache
    tests check the warm side."""
    settings.PORTAL_VERSIONED_CACHE = False


@pytest.fixture
def regions(db):
    """A small tree: province > city > county 370306 > townships 001 and 100 > two villages each,
    and a second county 370307 with one township."""
    from tests.factories import make_tree

    return make_tree()


@pytest.fixture
def make_user(db, regions):
    from tests.factories import make_user

    return make_user


@pytest.fixture
def login():
    from tests.factories import login

    return login


# The county and township users of the import tests (spreadsheet engine, pages, API).
@pytest.fixture
def civil(make_user):
    return make_user("civil1", "civil", "370306000000")


@pytest.fixture
def health(make_user):
    return make_user("health1", "health", "370306000000")


@pytest.fixture
def township(make_user):
    return make_user("town1", "township", "370306001000")
