"""Helpers of the security tests (issue 8: SECURITY.md turned into evidence)."""

import datetime
from types import SimpleNamespace

import pytest


class Clock:
    """One movable "now" for everything that reads the time while a request is served: Django's
    timezone.now (sessions' expiry, services, auto_now fields), django-axes (which binds `now` at
    import, so tests.factories.at does not reach it) and the idle-timeout middleware (time.time)."""

    def __init__(self, monkeypatch, start: datetime.datetime):
        import axes.attempts
        import axes.handlers.proxy
        import django.utils.timezone as tz

        from eldercare.accounts import middleware

        self.moment = start
        for module in (tz, axes.attempts, axes.handlers.proxy):
            monkeypatch.setattr(module, "now", self.now)
        monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: self.moment.timestamp()))

    def now(self) -> datetime.datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    start = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return Clock(monkeypatch, start)


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path / "uploads")
