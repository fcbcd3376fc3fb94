"""Sign-in rules of SECURITY.md that tests/functional/test_login.py leaves open: the client
address behind the trusted-proxy setting (a forged X-Forwarded-For neither dodges the per-IP
lockout nor frames another address; behind one trusted proxy the client, not the proxy, is
counted), the deployment switch that requires the second factor of everyone, and no
superuser from the portal's own account tools."""

import pytest
from django.core.management import call_command
from django.test import Client

from eldercare.accounts.models import User
from eldercare.audit.models import Action, AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def post_login(username, password, ip, forwarded=None):
    extra = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().post("/accounts/login/", {"username": username, "password": password}, **extra)


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(make_user, settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 0
    make_user("victim", "health")
    for i in range(20):  # a new forged address each time: still one attacker at 10.7.7.7
        post_login(f"guess{i}", "wrong", "10.7.7.7", forwarded=f"192.0.2.{i}")
    assert "网络地址" in post_login("victim", PASSWORD, "10.7.7.7", forwarded="192.0.2.200").content.decode()
    assert post_login("victim", PASSWORD, "10.7.7.8", forwarded="10.7.7.7").status_code == 302
    assert set(AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("ip", flat=True)) == {
        "10.7.7.7"
    }


def test_behind_one_trusted_proxy_the_client_is_counted(make_user, settings):
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    proxy = "172.18.0.2"
    make_user("victim", "health")
    for i in range(20):  # the client's own header entries before the proxy's are not trusted
        post_login(f"guess{i}", "wrong", proxy, forwarded=f"198.51.100.{i}, 203.0.113.9")
    locked = post_login("victim", PASSWORD, proxy, forwarded="203.0.113.9")
    assert locked.status_code == 200 and "网络地址" in locked.content.decode()
    # A colleague at another address, through the same proxy, signs in.
    assert post_login("victim", PASSWORD, proxy, forwarded="203.0.113.10").status_code == 302
    assert AuditEvent.objects.filter(action=Action.LOGIN).get().ip == "203.0.113.10"


def test_a_deployment_can_require_the_second_factor_of_everyone(make_user, settings):
    settings.PORTAL_OTP_REQUIRED_FOR_ALL = True
    make_user("h1", "health")
    c = Client()
    c.post("/accounts/login/", {"username": "h1", "password": PASSWORD})
    resp = c.get("/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/2fa/"
    assert c.get("/api/v1/regions/").status_code in (401, 403)


@pytest.mark.parametrize("role", ["admin", "security", "auditor", "health"])
def test_the_account_command_never_makes_a_superuser(regions, role):
    call_command(
        "create_portal_user",
        f"u_{role}",
        "--role",
        role,
        "--region",
        "370306000000",
        "--password",
        "Abcdef12!",
    )
    assert not User.objects.get(username=f"u_{role}").is_superuser
    assert not User.objects.filter(is_superuser=True).exists()
