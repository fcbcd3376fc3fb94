"""Walks every URL pattern and proves each needs login and a permission (SECURITY.md)."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

pytestmark = pytest.mark.django_db

SAMPLES = {
    "int": "1",
    "str": "370306001000",
    "path": "1",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
# Reachable without signing in, each for a reason.
PUBLIC = {
    "/accounts/login/": "the sign-in page",
    "/i18n/setlang/": "language switch (POST, sets a cookie only)",
    "/api/v1/auth/token/": "token exchange (POST username/password)",
    "/accounts/logout/": "signing out (POST)",
}
# Need login only (every signed-in user must be able to finish sign-in steps).
LOGIN_ONLY = {"/accounts/2fa/": "second factor", "/accounts/password/": "password change"}


def _regex_to_path(regex: str) -> str | None:
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "")
    text = re.sub(r"\(\?P<format>[^)]*\)", "json", text)
    text = re.sub(r"\\\.json/\?", ".json", text)
    text = re.sub(
        r"\(\?P<(\w+)>[^)]*\)",
        lambda m: (
            "1"
            if m.group(1) in {"pk", "id", "object_id"}
            else ("370306001000" if m.group(1) == "code" else "1")
        ),
        text,
    )
    text = text.replace("\\", "").replace("/?", "/")
    if any(c in text for c in "()[]*+?|{}"):
        return None
    return text


def all_paths():
    paths = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            pattern = p.pattern
            raw = str(pattern)
            if isinstance(pattern, RoutePattern):
                part = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLES.get(m.group(1) or "str", "1"), raw)
            elif "(" in raw or "^" in raw:
                part = _regex_to_path(raw)
                if part is None:
                    continue
            else:
                part = raw
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + part)
            elif isinstance(p, URLPattern):
                paths.add("/" + (prefix + part).lstrip("/"))

    walk(get_resolver().url_patterns)
    return sorted(paths)


PATHS = all_paths()


def test_the_walk_finds_the_portal(regions):
    for expected in ("/", "/users/", "/regions/", "/audit/", "/api/v1/regions/", "/api/schema/", "/system/"):
        assert expected in PATHS, expected
    assert len(PATHS) > 40  # admin site and API included


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_gets_nothing(path, regions):
    resp = Client().get(path)
    if path in PUBLIC:
        return
    assert resp.status_code in (301, 302, 401, 403, 404, 405), (path, resp.status_code)
    if resp.status_code in (301, 302):
        # The admin site sends anonymous visitors to its index, which sends them to sign in.
        assert "/login/" in resp["Location"] or resp["Location"] == "/system/", (path, resp["Location"])


@pytest.mark.parametrize("path", PATHS)
def test_signed_in_user_without_a_role_gets_nothing(path, make_user, login):
    client = login(Client(), make_user("norole", None))
    resp = client.get(path)
    if path in PUBLIC or path in LOGIN_ONLY:
        return
    assert resp.status_code in (302, 401, 403, 404, 405), (path, resp.status_code)
    assert resp.status_code != 200
