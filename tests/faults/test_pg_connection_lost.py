"""Fault: the database connection dies under the web process (issue 8; SECURITY.md "It
reconnects after PostgreSQL restarts (`CONN_HEALTH_CHECKS`)").

Restarting the shared PostgreSQL cluster would break other test runs, so the test does what a
restart does to a client: its persistent connection's server process goes away
(`pg_terminate_backend` from a second connection). Requests go through Django's real WSGI
handler — unlike the test client it runs `close_old_connections` at request start and end,
which is where CONN_MAX_AGE and CONN_HEALTH_CHECKS act.

Asserted: with the settings as they are (CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True) the next
request succeeds on a new connection; with health checks off, exactly one request fails (500)
before Django drops the broken connection — what CONN_HEALTH_CHECKS saves.
The real restart is scripted in bench/faults/pg_restart.sh (not run here: shared cluster).
"""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client, RequestFactory

from tests.factories import PASSWORD, make_tree, make_user

from .conftest import needs_postgres, pg_admin, wait_for

pytestmark = [pytest.mark.postgres, needs_postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/institutions/"


def _request(path: str, **headers) -> int:
    """One request through Django's WSGI handler, as gunicorn would make it."""
    environ = RequestFactory().get(path, **headers).environ
    status = []
    response = WSGIHandler()(environ, lambda s, h, exc_info=None: status.append(s))
    b"".join(response)
    response.close()  # request_finished: close_old_connections
    return int(status[0].split()[0])


def _kill_backend(admin) -> int:
    pid = connection.connection.get_backend_pid()  # libpq's copy: no round trip
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cur.fetchone()[0]

    def gone():
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            return cur.fetchone()[0] == 0

    wait_for(gone, 10, "the terminated backend to exit")
    return pid


def test_the_next_request_after_the_connection_died_succeeds():
    make_tree()
    make_user("h1", "health", "370306000000")
    resp = Client().post("/api/v1/auth/token/", {"username": "h1", "password": PASSWORD})
    auth = {"HTTP_AUTHORIZATION": f"Token {resp.json()['token']}"}
    settings_dict = connection.settings_dict
    assert settings_dict["CONN_MAX_AGE"] > 0 and settings_dict["CONN_HEALTH_CHECKS"]

    admin = pg_admin()
    try:
        assert _request(URL, **auth) == 200
        assert connection.connection is not None  # persistent: kept for the next request
        old = _kill_backend(admin)
        assert _request(URL, **auth) == 200  # health check at first use: reconnected
        assert connection.connection.get_backend_pid() != old

        # The counterfactual: without health checks the dead connection fails one request.
        settings_dict["CONN_HEALTH_CHECKS"] = False
        connection.health_check_enabled = False  # read from the settings at connect time
        try:
            _kill_backend(admin)
            assert _request(URL, **auth) == 500
            assert _request(URL, **auth) == 200  # closed after the error, reopened
        finally:
            settings_dict["CONN_HEALTH_CHECKS"] = True
            connection.close()  # the next connection reads the setting again
    finally:
        admin.close()
