from datetime import datetime, time

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from eldercare.core.views import portal_permission_required

from .models import Action, AuditEvent, Result


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
        qs = qs.filter(ip=g["ip"].strip()) if g["ip"].strip().replace(".", "").replace(":", "").isalnum() else qs.none()
    tz = timezone.get_current_timezone()
    if start := _date(g.get("from")):
        qs = qs.filter(at__gte=timezone.make_aware(datetime.combine(start, time.min), tz))
    if end := _date(g.get("to")):
        qs = qs.filter(at__lte=timezone.make_aware(datetime.combine(end, time.max), tz))
    page = Paginator(qs.order_by("-at", "-id"), 50).get_page(g.get("page"))
    return render(
        request,
        "audit/audit_list.html",
        {"page": page, "actions": Action.choices, "results": Result.choices, "params": g},
    )
