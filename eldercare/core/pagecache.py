"""A whole page kept per browser under the data version (ADR 0015, "the whole page").

The dashboard reads stored results, yet rendering it — the chrome (navigation, region switcher,
badges) and a page of about 300 KB — costs more than the load benchmark's whole budget for it
(0.7× of a trivial view). A page is a function of what its key holds, so it is served again
without rendering when the same browser asks for the same URL on the same data version:

- the data version, the code fingerprint, the day and the language (`dataversion.fragment_key`);
- the roles-and-permissions version, the user (pk, name, region, whether their second factor is
  verified) — a page is never served to another user, nor after a role is taken away;
- the browser's CSRF secret: the page's forms carry a token for it (a new session or a rotated
  secret renders anew, so a kept token is always valid for the browser it is served to);
- the region in view (the switcher's session value), the unread badge and the outbox notice;
- the path and its query string — only when every parameter is one the view names, given once,
  and the view says the URL is canonical (`keep`: each value is the one it parsed — so `?year=1`,
  `?year=01` or a made-up run id render without the cache and cannot fill it).

Kept 2 minutes (PAGE_TIMEOUT: a reload or a way back is what repeats a page), in Redis and in a
small in-process store of its own (64 pages a process), so per-browser pages never push the
shared fragments out.

Rendered anew, never kept: requests other than GET, a browser without a CSRF cookie yet
(this page would set it), a page with a flash message waiting, a response that is not a plain
200 or that set a cookie itself. Middleware (session expiry, security headers, CSP) runs on
every request either way; only the view's rendering is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse

from . import dataversion

KEPT_HEADERS = ("Content-Type", "Content-Language", "Cache-Control")
PAGE_TIMEOUT = 120  # seconds


def _unread(user) -> int:
    from .context_processors import _unread as unread

    return unread(user)


def _outbox() -> int:
    from .context_processors import _outbox_pending

    return _outbox_pending()


def page_key(request: HttpRequest, name: str, params: Iterable[str], parts: Iterable = ()) -> str | None:
    """The key of this request's page, or None when the page must be rendered."""
    if request.method != "GET" or not dataversion.current():
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return None
    allowed = set(params)
    if any(p not in allowed or len(request.GET.getlist(p)) > 1 for p in request.GET):
        return None
    storage = get_messages(request)
    if getattr(storage, "_queued_messages", None) or any(True for _ in storage):
        # Iterating marks the messages used, which is what rendering them does anyway: the
        # page below is rendered (and shows them); it is not kept.
        return None
    try:
        verified = user.is_verified()
    except AttributeError:
        verified = False
    from .regionview import SESSION_KEY

    return dataversion.fragment_key(
        f"page:{name}",
        dataversion.auth_version() or "",
        user.pk,
        user.username,
        user.full_name,
        int(user.is_superuser),
        user.region_id or "",
        int(bool(verified)),
        secret,
        request.session.get(SESSION_KEY) or "",
        _unread(user),
        _outbox(),
        request.get_full_path(),
        *parts,
    )


def respond(
    request: HttpRequest,
    name: str,
    params: Iterable[str],
    render: Callable[[], HttpResponse],
    parts: Iterable = (),
    keep: bool = True,
) -> HttpResponse:
    """The kept page for this request, or render() (and keep it when it may be kept). `parts`:
    what else the page shows that the data version does not follow; `keep`: False when the URL
    is not the canonical one for what the view parsed from it."""
    key = page_key(request, name, params, parts) if keep else None
    kept = dataversion.versioned_get(key, page=True)
    if kept is not None:
        content, headers = kept
        response = HttpResponse(content)
        for header, value in headers:
            response[header] = value
        response["X-Portal-Page-Cache"] = "hit"
        return response
    response = render()
    if (
        key is not None
        and response.status_code == 200
        and not response.cookies
        and not getattr(response, "streaming", False)
        and not hasattr(response, "render")  # a TemplateResponse is rendered later
        and not getattr(get_messages(request), "_queued_messages", None)  # a message for the next page
    ):
        headers = tuple((h, response[h]) for h in KEPT_HEADERS if h in response)
        dataversion.versioned_set(key, (response.content, headers), PAGE_TIMEOUT, page=True)
    return response
