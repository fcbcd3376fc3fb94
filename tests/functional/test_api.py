"""API base: token auth with expiry, pagination shape, scope (404), schema."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from eldercare.accounts.models import ApiToken
from tests.factories import PASSWORD, current_code, totp_device

pytestmark = pytest.mark.django_db


def token_for(client, username, **extra):
    resp = client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD, **extra},
        content_type="application/json",
    )
    return resp


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_token_flow_and_paginated_scoped_list(client, make_user):
    make_user("t1", "township", "370306001000")
    resp = token_for(client, "t1")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"token", "expires_at"}
    data = Client().get("/api/v1/regions/", **auth(body["token"])).json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 3 and {r["code"] for r in data["results"]} == {
        "370306001000",
        "370306001001",
        "370306001002",
    }


def test_other_townships_objects_are_404_in_api_and_pages(client, make_user, login):
    t1 = make_user("t1", "township", "370306001000")
    other = make_user("t2", "township", "370306100000")
    key = token_for(client, "t1").json()["token"]
    api = Client()
    assert api.get("/api/v1/regions/370306100201/", **auth(key)).status_code == 404
    assert api.get("/api/v1/regions/370306001001/", **auth(key)).status_code == 200
    assert api.get(f"/api/v1/users/{other.pk}/", **auth(key)).status_code == 404
    assert api.get(f"/api/v1/users/{t1.pk}/", **auth(key)).status_code == 200
    usernames = {u["username"] for u in api.get("/api/v1/users/", **auth(key)).json()["results"]}
    assert usernames == {"t1"}
    page = login(Client(), t1)
    assert page.get("/regions/370306100201/").status_code == 404
    assert page.get("/regions/370306001001/").status_code == 200
    assert page.get(f"/users/{other.pk}/").status_code == 404
    assert page.get("/regions/?parent=370306100000").status_code == 404
    assert "李家村" not in page.get("/regions/?q=村").content.decode()


def test_wrong_password_and_lockout_on_the_token_endpoint(client, make_user):
    make_user("h1", "health")
    codes = [
        client.post(
            "/api/v1/auth/token/", {"username": "h1", "password": "x"}, content_type="application/json"
        ).status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 400, 429]  # the fifth failure locks
    resp = token_for(client, "h1")
    assert resp.status_code == 429 and "锁定" in resp.json()["detail"]


def test_expired_token_refused(client, make_user):
    make_user("h1", "health")
    key = token_for(client, "h1").json()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    resp = Client().get("/api/v1/regions/", **auth(key))
    assert resp.status_code in (401, 403) and "过期" in resp.json()["detail"]


def test_token_expires_in_8_hours(client, make_user):
    make_user("h1", "health")
    expires = ApiToken.objects.none()
    token_for(client, "h1")
    expires = ApiToken.objects.get().expires_at
    assert timedelta(hours=7, minutes=59) < expires - timezone.now() <= timedelta(hours=8)


def test_admin_roles_need_otp_for_a_token(client, make_user):
    u = make_user("aud", "auditor")
    totp_device(u)
    resp = token_for(client, "aud")
    assert resp.status_code == 400 and "动态口令" in resp.json()["detail"]
    assert token_for(client, "aud", otp=current_code()).status_code == 200


def test_command_created_admin_is_exempt_per_contract(client, regions):
    from django.core.management import call_command

    call_command(
        "create_portal_user", "adm", "--role", "admin", "--region", "370306000000", "--password", PASSWORD
    )
    assert token_for(client, "adm").status_code == 200


def test_schema_and_docs_for_signed_in_users(client, make_user, login):
    assert client.get("/api/schema/").status_code in (401, 403)
    login(client, make_user("h1", "health"))
    schema = client.get("/api/schema/")
    assert (
        schema.status_code == 200
        and b"/api/v1/regions/" in schema.content
        and b"/api/v1/auth/token/" in schema.content
    )
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    # Served locally: no script or style from another host. (Not a bare "cdn" substring test:
    # the page's random CSRF token and nonce can contain those letters.)
    import re

    external = re.findall(rb'(?:src|href)\s*=\s*["\']?(?:https?:)?//', docs.content, flags=re.I)
    assert external == [] and not re.search(rb"unpkg|jsdelivr|cdnjs|cdn\.", docs.content, flags=re.I)


def test_session_api_with_csrf(make_user, login):
    c = login(Client(enforce_csrf_checks=True), make_user("h1", "health"))
    assert c.get("/api/v1/regions/").status_code == 200
