"""One version for everything the portal's pages show, so rendered fragments can be cached
without invalidation: a fragment's key holds the version, a write makes a new version, and the
old fragments are never read again (they expire).

The version changes on every save, delete or many-to-many change of a model in DATA_APPS
(signals, connected in CoreConfig.ready), and on every audit record about such a model
(`eldercare.audit.services.record`), which is how bulk_create()/update() writes are logged
(`record_bulk`). Writes that are neither (raw SQL, an unaudited `.update()`) call `bump()`.

The version is set at once — so a transaction reads its own writes through the cache, and a test
(one transaction that never commits) sees each change — and again when the transaction commits,
so a fragment cached by another request between the write and the commit (from the data as it
was) is not served after the commit. Keys also hold the day (statuses derived from today).

What is left out on purpose: sessions, logins, the audit trail itself, notifications, the outbox,
import batches (eldercare.sheets: a dry-run upload is a write of its own batch only) — none of
them changes what a cached fragment shows.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from redis import exceptions as redis_errors

KEY = "portal:dataversion"
AUTH_KEY = "portal:authversion"
DATA_APPS = frozenset({"regions", "institutions", "contracts", "subsidies", "assessments", "workflow"})
FRAGMENT_TIMEOUT = 600  # seconds; a fragment of an unchanged version is re-rendered after this
BREAKER_SECONDS = 5.0  # after a cache error, this process leaves the cache alone this long

log = logging.getLogger(__name__)
# What "the cache is unreachable" raises: redis-py's connection and timeout errors, a server still
# loading or read-only (a replica), and the socket's own. Anything else — a client-side bug, a
# server refusing a command (WRONGTYPE, OOM) — is a defect and propagates.
UNREACHABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # BusyLoadingError is one
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    OSError,  # the socket's own (ConnectionError, TimeoutError are OSErrors)
)
_down_until = 0.0  # the breaker: monotonic time until which the cache is not tried
_missed_bump = False  # a write happened while the cache was unreachable


def _call(method: str, *args):
    """cache.<method>(*args), or None when the cache (Redis) is unreachable: pages keep serving
    without it (SECURITY.md, faults). After an error the cache is left alone for
    BREAKER_SECONDS; on the first success after that, the version is renewed — a write made
    while Redis was away could not renew it, and Redis may come back with the old one."""
    global _down_until, _missed_bump
    if not settings.PORTAL_VERSIONED_CACHE or (_down_until and time.monotonic() < _down_until):
        return None
    try:
        result = getattr(cache, method)(*args)
    except UNREACHABLE:  # the cache is an optimisation: unreachable means "no cache"
        if not _down_until:
            log.warning("cache unreachable; pages are rendered without it", exc_info=True)
        _down_until = time.monotonic() + BREAKER_SECONDS
        return None
    if _down_until or _missed_bump:
        _down_until, _missed_bump = 0.0, False
        for key in (KEY, AUTH_KEY):  # writes (or role changes) made meanwhile renewed neither
            _call("set", key, uuid.uuid4().hex[:16], None)
        if method != "set":
            return None  # what was read may predate the renewal
    return result


def cache_get(key: str):
    pre = _prefetched()
    if pre is not None and key in pre:
        return pre[key]
    return _call("get", key)


def cache_set(key: str, value, timeout: int | None = FRAGMENT_TIMEOUT) -> None:
    _forget_prefetched(key, value)
    _call("set", key, value, timeout)


def cache_delete(key: str) -> None:
    _forget_prefetched(key, None)
    _call("delete", key)


# Within one request the versions are read once (RequestVersionsMiddleware), in one round trip
# with the small values every page reads (the chrome's unread badge and outbox notice: the
# request's PREFETCH keys).
_request_versions: ContextVar[dict | None] = ContextVar("portal_versions", default=None)
_PRE = "_prefetched"  # in the memo: {key: value or None} read with the versions
_EXTRA = "_extra"  # in the memo: the keys to read with them


def _prefetched() -> dict | None:
    memo = _request_versions.get()
    if not memo or not memo.get(_EXTRA):
        return None
    if _PRE not in memo:
        _versions()
    return memo.get(_PRE)


def _forget_prefetched(key: str, value) -> None:
    memo = _request_versions.get()
    if memo and key in memo.get(_PRE, ()):
        memo[_PRE][key] = value


def _versions() -> dict:
    memo = _request_versions.get()
    if memo is not None and KEY in memo:
        return memo
    extra = list(memo.get(_EXTRA, ())) if memo else []
    found = _call("get_many", [KEY, AUTH_KEY, *extra]) or {}
    if _down_until:
        found = {}
    else:
        for key in (KEY, AUTH_KEY):
            if found.get(key) is None:
                _call("add", key, uuid.uuid4().hex[:16], None)
                found[key] = _call("get", key)
    if memo is not None and all(found.get(k) for k in (KEY, AUTH_KEY)):
        memo[KEY], memo[AUTH_KEY] = found[KEY], found[AUTH_KEY]
        memo[_PRE] = {k: found.get(k) for k in extra}
    return found


def _new(key: str = KEY) -> None:
    global _missed_bump
    token = uuid.uuid4().hex[:16]
    _call("set", key, token, None)
    if _down_until:
        _missed_bump = True
    memo = _request_versions.get()
    if memo is not None and KEY in memo:
        memo[key] = token


def current() -> str | None:
    """The data version, or None when the cache is unreachable (nothing is cached then)."""
    return _versions().get(KEY)


def auth_version() -> str | None:
    """The version of roles and permissions (accounts.backends), or None without a cache."""
    return _versions().get(AUTH_KEY)


def bump(key: str = KEY) -> None:
    _new(key)
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return  # autocommit: the write is committed already
    # Once more on commit — once per savepoint level, not once per saved row. The marks live with
    # the connection's list of commit callbacks: Django replaces that list on commit, on rollback
    # and on a savepoint's rollback (dropping that savepoint's callbacks), so the marks go with it.
    marks = getattr(connection, "_portal_bump_marks", None)
    if marks is None or marks[0] is not connection.run_on_commit:
        marks = (connection.run_on_commit, set())
        connection._portal_bump_marks = marks
    level = (key, tuple(connection.savepoint_ids))
    if level in marks[1]:
        return
    marks[1].add(level)
    renew = functools.partial(_new, key)
    renew.portal_bump = key
    transaction.on_commit(renew, robust=True)


def bump_auth() -> None:
    bump(AUTH_KEY)


# Keys every signed-in page reads, as functions of the request (registered by the apps that own
# them: CoreConfig.ready); read in the versions' round trip.
PREFETCH: list[Callable[[object], str | None]] = []


class RequestVersionsMiddleware:
    """Reads the versions once per request (and forgets them after)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        extra = [k for k in (f(request) for f in PREFETCH) if k]
        token = _request_versions.set({_EXTRA: extra} if extra else {})
        try:
            return self.get_response(request)
        finally:
            _request_versions.reset(token)


# Values under a versioned key never change, so each process keeps the recent ones in memory
# too (no round trip, no unpickling); bounded in entries and in size. Whole pages kept per
# browser (eldercare.core.pagecache) have their own, smaller store, so they never push out the
# shared entries (permission sets, navigation, fragments) every page reads.
class _LocalCopy:
    def __init__(self, max_entries: int, max_bytes: int):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.entries: OrderedDict[str, tuple[object, int, float]] = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[2] < time.monotonic():  # as old as the cache's own timeout: a miss
                self.bytes -= entry[1]
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, value, timeout: int) -> None:
        parts = value if isinstance(value, tuple) else (value,)
        size = sum(len(v) if isinstance(v, (str, bytes)) else 256 for v in parts)
        if size > self.max_bytes // 8:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self.entries[key] = (value, size, time.monotonic() + (timeout or FRAGMENT_TIMEOUT))
            self.bytes += size
            while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, dropped, _) = self.entries.popitem(last=False)
                self.bytes -= dropped


_local = _LocalCopy(512, 64 * 1024 * 1024)  # fragments and values
_local_pages = _LocalCopy(64, 24 * 1024 * 1024)  # whole pages (per browser)


def versioned_get(key: str | None, *, page: bool = False):
    """A value stored under a versioned key (this process's memory, then the cache)."""
    if key is None:
        return None
    store = _local_pages if page else _local
    value = store.get(key)
    if value is None:
        value = cache_get(key)
        if value is not None:
            store.put(key, value, FRAGMENT_TIMEOUT)
    return value


def versioned_set(key: str | None, value, timeout: int = FRAGMENT_TIMEOUT, *, page: bool = False) -> None:
    if key is None:
        return
    (_local_pages if page else _local).put(key, value, timeout)
    cache_set(key, value, timeout)


def is_data_label(label: str) -> bool:
    """'institutions.institution' → True."""
    return label.split(".", 1)[0] in DATA_APPS


# Stored report results are written and pruned in bulk (assessments.compute): a delete receiver
# would cost them Django's fast delete (every row loaded to send its signal). A run renews the
# version when it completes instead.
NO_DELETE_SIGNAL = frozenset({"assessments.reportfact", "assessments.reportrow", "assessments.reportslice"})


def _on_change(sender, **kwargs):
    if getattr(getattr(sender, "_meta", None), "app_label", None) in DATA_APPS:
        bump()


def connect_signals() -> None:
    """Receivers per model of DATA_APPS (a receiver for every sender would make every
    queryset delete of the project load its rows to signal them)."""
    from django.apps import apps

    for model in apps.get_models():
        if model._meta.app_label not in DATA_APPS:
            continue
        label = model._meta.label_lower
        post_save.connect(_on_change, sender=model, dispatch_uid=f"dataversion-save-{label}")
        if label not in NO_DELETE_SIGNAL:
            post_delete.connect(_on_change, sender=model, dispatch_uid=f"dataversion-delete-{label}")
    m2m_changed.connect(_on_change, dispatch_uid="dataversion-m2m")


@functools.cache
def code_stamp() -> str:
    """This process's code, fingerprinted (path, size, mtime of the project's .py files,
    templates and compiled catalogues, and the static files' manifest): a deploy that changes what a fragment or value looks like never reads the
    previous release's entries."""
    from django.conf import settings as dj

    root = Path(dj.BASE_DIR)
    digest = hashlib.sha256()
    for top in ("eldercare", "institutions", "contracts", "subsidies", "assessments", "templates", "locale"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix in (".py", ".html", ".mo"):
                st = path.stat()
                digest.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    # The static files' manifest (production's hashed names in every page's <link>/<script>): a
    # deploy that changes only CSS or JS must not serve pages naming the previous files.
    manifest = Path(dj.STATIC_ROOT or root / "var/none") / "staticfiles.json"
    if manifest.exists():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:12]


def fragment_key(name: str, *parts) -> str | None:
    """A cache key for a fragment of `name` on today's data, in the active language; None when
    the cache is unreachable."""
    version = current()
    if version is None:
        return None
    raw = "\x1f".join(
        [
            version,
            code_stamp(),
            timezone.localdate().isoformat(),
            translation.get_language() or "",
            *map(str, parts),
        ]
    )
    return f"portal:frag:{name}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


def cached_value(name: str, parts, compute: Callable[[], object], timeout: int = FRAGMENT_TIMEOUT):
    """compute() once per (name, parts) and data version; any picklable value."""
    key = fragment_key(name, *parts)
    value = versioned_get(key)
    if value is None:
        value = compute()
        versioned_set(key, value, timeout)
    return value


def cached_fragment(name: str, parts, render: Callable[[], str], timeout: int = FRAGMENT_TIMEOUT) -> str:
    """The rendered fragment for (name, parts) on the current data version; rendered once."""
    key = fragment_key(name, *parts)
    html = versioned_get(key)
    if html is None:
        html = str(render())
        versioned_set(key, html, timeout)
    return mark_safe(html)  # noqa: S308  # nosec B308 B703  # rendered by our own templates, escaped there
