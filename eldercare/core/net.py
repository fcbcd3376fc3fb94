"""Client IP address, the one place that decides it (audit, lockout, django-axes).

X-Forwarded-For is trusted only when PORTAL_TRUSTED_PROXY_COUNT proxies sit in front of the
app (docker-compose's web behind a reverse proxy); otherwise it could be forged to dodge the
per-IP lockout."""

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "PORTAL_TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return remote
