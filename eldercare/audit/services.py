"""Writing to the audit trail. Services call `record()` inside their transaction, so an
audited change and its record commit or roll back together."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import uuid

from django.db import models

from eldercare.core.context import current_ip
from eldercare.core.dataversion import bump, is_data_label

from .models import Action, AuditEvent, Result

# Never written to the log, whatever a caller passes (SECURITY.md).
_SECRET_KEYS = {"password", "token", "key", "key_hash", "otp", "secret", "id_number"}


def _plain(value):
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _scrub(data: dict) -> dict:
    return {k: ("***" if k in _SECRET_KEYS else _plain(v)) for k, v in (data or {}).items()}


def snapshot(obj, fields) -> dict:
    """The audited values of `obj` (by attname, so foreign keys give their ids)."""
    out = {}
    for name in fields:
        field = obj._meta.get_field(name)
        out[name] = _plain(getattr(obj, field.attname))
    return out


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields that changed."""
    keys = set(before) | set(after)
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def _valid_ip(ip):
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


# Audited writes renew the data version (ADR 0015); audited reads and sign-in events do not.
_NOT_WRITES = frozenset(
    {
        Action.EXPORT,
        Action.UNMASK,
        Action.LOGIN,
        Action.LOGIN_FAILED,
        Action.LOCKOUT,
        Action.LOGOUT,
        Action.SECURITY,
        Action.TOKEN,
    }
)


def record(
    actor,
    action: str,
    obj=None,
    *,
    changes: dict | None = None,
    detail: dict | None = None,
    result: str = Result.OK,
    username: str | None = None,
    ip: str | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEvent:
    user = actor if getattr(actor, "pk", None) else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    role = ""
    if user is not None:
        role = ",".join(sorted(user.roles)) if hasattr(user, "roles") else ""
    elif actor is not None and getattr(actor, "username", None) == "system":
        role = "system"
    if is_data_label(object_type) and result == Result.OK and action not in _NOT_WRITES:
        bump()  # bulk_create()/update() writes reach no signal; they are recorded here
    return AuditEvent.objects.create(
        actor=user,
        username=(username or getattr(actor, "username", "") or "")[:150],
        role=role[:40],
        ip=_valid_ip(ip if ip is not None else current_ip.get()),
        action=action,
        result=result,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=_scrub(changes or {}),
        detail=_scrub(detail or {}),
    )


def record_bulk(
    actor, model, *, count: int, detail: dict | None = None, action: str = Action.BULK
) -> AuditEvent:
    """bulk_create()/update() bypass signals and save(); callers log them here explicitly."""
    return record(
        actor,
        action,
        object_type=model._meta.label_lower,
        object_repr=f"{model._meta.verbose_name_plural} ×{count}",
        detail={"count": count, **(detail or {})},
    )
