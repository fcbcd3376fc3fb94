"""Per-request context (client IP) for code far from the request, such as the audit log.
Set by SecurityHeadersMiddleware; empty in Celery tasks and commands."""

from contextvars import ContextVar

current_ip: ContextVar[str] = ContextVar("current_ip", default="")
