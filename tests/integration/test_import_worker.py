"""A big upload goes through a real Celery worker over Redis: validation and commit run in the
worker, the page polls the batch's status and progress."""

import os
import time

import pytest

from eldercare.celery import app
from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from institutions.credit_code import check_character
from institutions.models import Institution
from tests.factories import make_tree, make_user

REDIS_URL = os.environ.get("REDIS_URL", "")
HEADER = "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数"


def code(n: int) -> str:
    first = f"5237030600{n:07d}"
    return first + check_character(first)


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set: no Redis to run a real Celery worker against")
@pytest.mark.django_db(transaction=True)
def test_worker_validates_and_commits_a_queued_upload():
    from celery.contrib.testing.worker import start_worker

    make_tree()
    civil = make_user("civil-w", "civil", "370306000000")
    rows = [f"第{n}敬老院,{code(n)},养老服务机构,养老院,370306001001,{50 + n % 50}张" for n in range(3000)]
    data = ("\n".join([HEADER, *rows]) + "\n").encode("gb18030")
    app.conf.task_always_eager = False
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
        with start_worker(
            app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10
        ):
            batch = engine.start_import(
                actor=civil, kind="institutions", data=data, filename="big.csv", inline=False
            )
            assert batch.status == ImportBatch.Status.VALIDATING  # queued, not done in the request
            deadline = time.monotonic() + 60
            while batch.status not in (
                ImportBatch.Status.COMMITTED,
                ImportBatch.Status.INVALID,
                ImportBatch.Status.FAILED,
            ):
                assert time.monotonic() < deadline, f"the worker never finished: {batch.status}"
                time.sleep(0.2)
                batch.refresh_from_db()
    finally:
        app.conf.task_always_eager = True
    assert batch.status == ImportBatch.Status.COMMITTED, batch.get_result()["errors"][:3]
    assert batch.created == 3000 and batch.progress == 100
    assert Institution.objects.count() == 3000
