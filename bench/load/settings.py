"""Bench-only settings for the load benchmark (bench/load/run.py): production settings, served
on plain HTTP on loopback.

Only three things differ from eldercare.settings.production:
- ROOT_URLCONF adds the ceiling view (/_bench/ceiling/, bench/load/ceiling.py), so it is never
  part of the product's URLs;
- SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE are False: production hard-codes them to True,
  and an HTTP client does not send a Secure cookie back over plain http. (SECURE_SSL_REDIRECT has
  its own environment switch in production.py; run.py sets SECURE_SSL_REDIRECT=false.)
Everything else — DEBUG off, CONN_MAX_AGE / CONN_HEALTH_CHECKS, the Redis cache, whitenoise's
manifest storage, middleware, logging — is production's.
"""

from eldercare.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.load.urls"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
