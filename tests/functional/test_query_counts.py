"""List pages run a constant number of queries whatever the number of rows (no N+1)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eldercare.accounts.scope import SYSTEM
from institutions import services

pytestmark = pytest.mark.django_db


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def add_institutions(n, start):
    for i in range(start, start + n):
        services.institution_create(
            actor=SYSTEM,
            family="eldercare",
            facts={"name": f"幸福院{i}", "type": "rural_happiness_home", "region": "370306100201"},
        )


def add_users(make_user, n, start):
    for i in range(start, start + n):
        make_user(f"user{i}", "township", "370306001000")


@pytest.mark.parametrize("url", ["/institutions/", "/users/", "/regions/?q=村", "/audit/"])
def test_list_queries_do_not_grow_with_rows(url, make_user, login):
    admin = login(Client(), make_user("adm", "admin"))
    civil = login(Client(), make_user("civ", "civil"))
    auditor = login(Client(), make_user("aud", "auditor"))
    client = {"/institutions/": civil, "/users/": admin, "/regions/?q=村": civil, "/audit/": auditor}[url]
    add_institutions(2, 0)
    add_users(make_user, 2, 0)
    queries(client, url)  # warm-up: the first request also refreshes the session
    few = queries(client, url)
    add_institutions(20, 10)
    add_users(make_user, 20, 10)
    assert queries(client, url) == few
