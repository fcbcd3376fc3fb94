"""eldercare/core/dataversion.py: what changes the data version, and the cache helpers built on
it (fragments rendered once per version; pages served when the cache is unreachable)."""

import pytest
from django.contrib.sessions.backends.db import SessionStore

from eldercare.audit.services import record, record_bulk
from eldercare.core import dataversion
from eldercare.core.models import Notification
from institutions.models import Institution

pytestmark = pytest.mark.django_db


def test_a_registry_write_changes_the_version_at_once_and_again_at_commit(
    make_user, django_capture_on_commit_callbacks
):
    from tests.factories import make_home

    before = dataversion.current()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        home = make_home()
        during = dataversion.current()
        assert during != before  # this transaction reads its own write through the cache
    assert callbacks  # renewed once more when the transaction commits
    assert dataversion.current() not in (before, during)
    # a bulk write reaches no signal: its audit record renews the version
    v = dataversion.current()
    Institution.objects.filter(pk=home.pk).update(name="改名敬老院")
    assert dataversion.current() == v
    record_bulk(None, Institution, count=1)
    assert dataversion.current() != v


def test_sessions_logins_and_notifications_leave_the_version_alone(make_user):
    user = make_user("h1", "health")
    v = dataversion.current()
    session = SessionStore()
    session["x"] = 1
    session.save()
    record(user, "login", object_type="accounts.user", object_id=str(user.pk))
    Notification.objects.create(user=user, title="甲")
    user.save(update_fields=["last_login"])
    assert dataversion.current() == v


def test_a_fragment_is_rendered_once_per_version():
    calls = []

    def render():
        calls.append(1)
        return f"<p>{len(calls)}</p>"

    assert dataversion.cached_fragment("t", ("370306",), render) == "<p>1</p>"
    assert dataversion.cached_fragment("t", ("370306",), render) == "<p>1</p>"
    assert dataversion.cached_fragment("t", ("370307",), render) == "<p>2</p>"  # other parts
    dataversion.bump()
    assert dataversion.cached_fragment("t", ("370306",), render) == "<p>3</p>"
    assert len(calls) == 3


def test_the_breaker_leaves_a_failing_cache_alone_and_renews_the_version_when_it_returns(monkeypatch):
    from django.core.cache import cache

    v = dataversion.current()
    real_get_many = cache.get_many
    state = {"down": True, "calls": 0}

    def flaky(*args, **kwargs):
        state["calls"] += 1
        if state["down"]:
            raise ConnectionError("redis down")
        return real_get_many(*args, **kwargs)

    monkeypatch.setattr(cache, "get_many", flaky)
    monkeypatch.setattr(dataversion, "_down_until", 0.0)
    assert dataversion.current() is None
    assert dataversion.current() is None
    assert state["calls"] == 1  # the second read did not try
    assert dataversion.cached_fragment("t", (), lambda: "<p>x</p>") == "<p>x</p>"  # rendered anyway
    dataversion.bump()  # a write while the cache is away cannot renew the version ...
    state["down"] = False
    monkeypatch.setattr(dataversion, "_down_until", 1.0)  # the breaker's time is over
    dataversion.current()
    assert dataversion.current() not in (None, v)  # ... so it is renewed when the cache returns


def test_a_defect_is_not_taken_for_an_unreachable_cache(monkeypatch):
    """Only connection and timeout errors open the breaker; a programming error propagates."""
    from django.core.cache import caches
    from redis.exceptions import TimeoutError as RedisTimeout

    raised = {"error": TypeError("bug")}

    def failing(*args, **kwargs):
        raise raised["error"]

    monkeypatch.setattr(dataversion, "_down_until", 0.0)
    monkeypatch.setattr(caches["default"], "get", failing)
    with pytest.raises(TypeError):
        dataversion.cache_get("portal:frag:x")
    assert dataversion._down_until == 0.0
    raised["error"] = RedisTimeout("slow")
    assert dataversion.cache_get("portal:frag:x") is None
    assert dataversion._down_until > 0.0


def test_a_transaction_renews_the_version_once_on_commit_however_many_rows_it_saves(regions):
    from django.db import connection, transaction

    from tests.factories import make_home

    def renewals():
        return [f for _, f, _ in connection.run_on_commit if getattr(f, "portal_bump", None)]

    def at_this_level():
        here = set(connection.savepoint_ids)
        return [
            f for sids, f, _ in connection.run_on_commit if getattr(f, "portal_bump", None) and sids == here
        ]

    with transaction.atomic():
        home = make_home()  # the registry's own transaction (a savepoint here) renews it on its own
        before = len(renewals())
        for i in range(5):
            home.name = f"北郊镇敬老院{i}"
            home.save()
        assert len(renewals()) == before + 1
        with transaction.atomic():  # a savepoint: its own renewal (the outer one may not run it)
            home.save()
            home.save()
            assert len(renewals()) == before + 2
        v = dataversion.current()
        home.save()  # every save still renews the version at once (reads within the transaction)
        assert dataversion.current() != v
        # a savepoint rolled back drops its callbacks with its writes; this level keeps its renewal
        with pytest.raises(RuntimeError), transaction.atomic():
            home.save()
            raise RuntimeError
        home.save()
        assert 1 <= len(at_this_level()) <= 2  # (the marks went with the replaced list: one more at most)
