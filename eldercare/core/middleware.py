"""Security headers (CSP) and per-request context."""

from django.conf import settings

from .context import current_ip
from .net import client_ip


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            current_ip.reset(token)
        csp = getattr(settings, "PORTAL_CSP", "")
        if csp and "Content-Security-Policy" not in response:
            # The API docs (Swagger UI) need an inline bootstrap script; allow it only there.
            if request.path.startswith("/api/docs"):
                csp = csp.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
                    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
                )
            response["Content-Security-Policy"] = csp
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class ChineseFirstMiddleware:
    """The portal speaks Simplified Chinese unless the user picks English with the language
    switch (a cookie). A browser's Accept-Language (often en-US on office PCs) is ignored, so
    LocaleMiddleware falls back to LANGUAGE_CODE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
