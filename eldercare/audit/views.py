from datetime import datetime, time

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.core.views import portal_permission_required

from .models import Action, AuditEvent, Result


def _role_labels(codes: str) -> str:
    from eldercare.accounts.roles import ROLE_LABELS

    labels = {**{k: str(v) for k, v in ROLE_LABELS.items()}, "system": str(_("System"))}
    return "、".join(labels.get(c, c) for c in codes.split(",") if c)


def _changes(event) -> list[tuple[str, object, object]]:
    """[(field label, old, new)] with the model's own (translated) field names."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    try:
        model = apps.get_model(event.object_type) if "." in event.object_type else None
    except LookupError:
        model = None
    out = []
    for name, value in (event.changes or {}).items():
        label = name
        if model is not None:
            try:
                label = str(model._meta.get_field(name).verbose_name)
            except FieldDoesNotExist:
                label = str(_(name))
        old, new = value if isinstance(value, list) and len(value) == 2 else ("", value)
        out.append((label, old, new))
    return out


def _date(value):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


@portal_permission_required("audit.view_auditevent")
def audit_list(request):
    """The auditor's search over the trail (read-only; the trail has no edit or delete)."""
    qs = AuditEvent.objects.all()
    g = request.GET
    if g.get("user"):
        qs = qs.filter(username__icontains=g["user"].strip())
    if g.get("action") in Action.values:
        qs = qs.filter(action=g["action"])
    if g.get("result") in Result.values:
        qs = qs.filter(result=g["result"])
    if g.get("object"):
        qs = qs.filter(object_repr__icontains=g["object"].strip())
    if g.get("ip"):
        qs = (
            qs.filter(ip=g["ip"].strip())
            if g["ip"].strip().replace(".", "").replace(":", "").isalnum()
            else qs.none()
        )
    tz = timezone.get_current_timezone()
    if start := _date(g.get("from")):
        qs = qs.filter(at__gte=timezone.make_aware(datetime.combine(start, time.min), tz))
    if end := _date(g.get("to")):
        qs = qs.filter(at__lte=timezone.make_aware(datetime.combine(end, time.max), tz))
    page = Paginator(qs.order_by("-at", "-id"), 50).get_page(g.get("page"))
    for event in page:
        event.role_display = _role_labels(event.role)
        event.changes_display = _changes(event)
    return render(
        request,
        "audit/audit_list.html",
        {"page": page, "actions": Action.choices, "results": Result.choices, "params": g},
    )
