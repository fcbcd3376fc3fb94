"""Fixtures shared by the report pages', the report API's and the page caches' tests."""

import pytest

from tests.report_fixtures import T1, build_county, run


@pytest.fixture
def county(regions, monkeypatch):
    """The hand-checked county of tests/report_fixtures.py (a module may define its own)."""
    return build_county(monkeypatch)


@pytest.fixture
def report(county):
    """Its 2025 report version, computed in this process."""
    return run(2025)


@pytest.fixture
def silk(make_user):
    """丝绸路街道's township user."""
    return make_user("silk_town", "township", T1)
