"""Production: HTTPS behind a proxy, strict cookies and headers, compressed hashed static files.

`manage.py check --deploy --fail-level WARNING --settings=eldercare.settings.production` is clean.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
# Rotation (docs/operations.md "Rotate secrets"): the new key in SECRET_KEY, the old one here until
# the sessions and signed links made with it have expired; then remove it.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

if env("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # CACHE_URL: a Redis of its own for the cache (maxmemory + allkeys-lru), so cached
            # pages can never fill the broker's memory (docs/operations.md "Redis").
            "LOCATION": env("CACHE_URL", default=env("REDIS_URL")),
            # A hung Redis must fail fast so the breaker (eldercare/core/dataversion.py) opens.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # Several server processes with a per-process cache would not see each other's data version
    # (eldercare/core/dataversion.py): no rendered fragments are kept then.
    PORTAL_VERSIONED_CACHE = False
