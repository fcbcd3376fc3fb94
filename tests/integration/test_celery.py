"""Celery: on_commit enqueueing, the outbox when the broker refuses, and a real worker over
Redis reading the same (transactional) database."""

import os
import time

import pytest
from django.db import connection

from eldercare.accounts import services
from eldercare.accounts.scope import SYSTEM
from eldercare.celery import app
from eldercare.core import outbox
from eldercare.core.models import Notification, OutboxMessage
from tests.factories import make_tree

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.mark.django_db
def test_user_creation_notifies_only_after_commit(regions, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user = services.user_save(actor=SYSTEM, username="new1", region="370306000000")
        assert not Notification.objects.filter(user=user).exists()
    assert len(callbacks) == 1
    callbacks[0]()
    note = Notification.objects.get(user=user)
    assert "欢迎" in note.title or "Welcome" in note.title


@pytest.mark.django_db
def test_rolled_back_change_enqueues_nothing(regions, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.user_save(actor=SYSTEM, username="ghost", region="370306000000")
            raise RuntimeError("abort")
    assert callbacks == [] and not Notification.objects.exists()


@pytest.mark.django_db
def test_broker_refusal_lands_in_outbox_and_is_flushed_later(
    regions, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    task = outbox._task("eldercare.core.tasks.notify_user")
    real = task.apply_async

    def refuse(*a, **kw):
        raise OperationalError("Error 111 connecting to redis: Connection refused")

    monkeypatch.setattr(task, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_save(actor=SYSTEM, username="queued", region="370306000000")
    msg = OutboxMessage.objects.get()
    assert msg.sent_at is None and "refused" in msg.last_error and msg.args[0] == user.pk
    assert outbox.flush() == 0  # still down: kept, attempt counted
    assert OutboxMessage.objects.get().attempts == 1
    monkeypatch.setattr(task, "apply_async", real)
    assert outbox.flush() == 1
    assert Notification.objects.filter(user=user).exists()
    assert outbox.pending_count() == 0


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set: no Redis to run a real Celery worker against")
@pytest.mark.django_db(transaction=True)
def test_real_worker_over_redis_runs_tasks_against_the_test_database():
    from celery.contrib.testing.worker import start_worker

    make_tree()
    app.conf.task_always_eager = False
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
        with start_worker(
            app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10
        ):
            result = app.tasks["eldercare.core.tasks.health_check"].delay()
            assert result.get(timeout=30)["db"] == connection.vendor
            # A service's on_commit enqueue, consumed by the worker in its own connection.
            user = services.user_save(actor=SYSTEM, username="via-worker", region="370306000000")
            deadline = time.monotonic() + 30
            while not Notification.objects.filter(user=user).exists():
                assert time.monotonic() < deadline, "the worker never created the notification"
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True


def test_celery_is_configured_for_reliability():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.broker_transport_options["visibility_timeout"] >= 3600
    assert (
        conf.result_backend_transport_options["visibility_timeout"]
        == conf.broker_transport_options["visibility_timeout"]
    )
