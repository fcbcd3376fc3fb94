"""The printable 养老床位补助审批表 of an application (issue 6, the paper archive): the
institution's facts, the rule and its clause text, every check with its result, the amount and
installments, the workflow ledger (who submitted, accepted, decided) and the signature boxes
(经办人 / 审核人 / 分管领导 / 财政局).

- `form_html`: a standalone A4 page (no portal chrome) with a 打印 button hidden in print; its
  stylesheets and script are static files (the CSP allows no inline ones).
- `form_pdf`: the same page rendered by WeasyPrint with the filing papers' helpers
  (eldercare/workflow/documents.py: no network fetching; Noto CJK through fontconfig); a 503
  page pointing to the HTML when WeasyPrint or Pango is missing. Each PDF served is audited as
  an export."""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.core.views import portal_permission_required
from eldercare.workflow import machine
from eldercare.workflow.documents import PDF_UNAVAILABLE, authority_of, chinese_date

from .views import ELIGIBLE, _scoped, decisions_of, yuan

log = logging.getLogger(__name__)

STYLESHEETS = ("css/filing-document.css", "css/subsidy-document.css")
TITLE = "养老床位补助审批表"
# The ledger rows the paper prints, by the state a step reached.
STEP_LABELS = {
    machine.SUBMITTED: "提交申请",
    machine.ACCEPTED: "受理",
    machine.RETURNED: "退回补正",
    machine.APPROVED: "批准",
    machine.REJECTED: "不予批准",
    machine.WITHDRAWN: "撤回",
}
SIGNATURES = ("经办人", "审核人", "分管领导", "财政局")


def _context(request, app, *, pdf: bool) -> dict:
    decision, earlier = decisions_of(app)
    filing = app.filing
    steps = list(filing.steps.select_related("actor").order_by("at", "id")) if filing else []
    ledger = [
        {
            "label": STEP_LABELS.get(s.to_state, s.action),
            "person": s.person,
            "date": chinese_date(s.day),
            "comment": s.comment,
        }
        for s in steps
        if s.to_state in STEP_LABELS
    ]
    inst = app.institution
    policy = decision.policy_rule if decision and decision.policy_rule_id else None
    installments = list(app.installments.order_by("due_year"))
    for i in installments:
        i.amount_shown = yuan(i.amount)
    return {
        "app": app,
        "f": filing,
        "inst": inst,
        "decision": decision,
        "corrections": [d for d in earlier if d.reason and d.reason != "重新核定"],
        "policy": policy,
        "ledger": ledger,
        "installments": installments,
        "signatures": SIGNATURES,
        "authority": authority_of(filing) if filing else "",
        "title": TITLE,
        "number": (filing.number if filing and filing.number else f"草稿 #{app.pk}"),
        "eligible_label": ELIGIBLE[decision.eligible] if decision else "未核定",
        "printed_cn": chinese_date(timezone.localdate()),
        "application_cn": chinese_date(app.application_date),
        "pdf": pdf,
        "stylesheets": STYLESHEETS,
        "detail_url": reverse("subsidies:application_detail", args=[app.pk]),
        "pdf_url": reverse("subsidies:application_form_pdf", args=[app.pk]),
        "html_url": reverse("subsidies:application_form", args=[app.pk]),
    }


@portal_permission_required("subsidies.view_application")
def form_html(request, pk: int):
    app = _scoped(request, pk)
    return HttpResponse(
        render_to_string(
            "subsidies/documents/approval_form.html", _context(request, app, pdf=False), request=request
        )
    )


def render_pdf(html: str, base_url: str) -> bytes:
    """HTML to PDF bytes with both stylesheets (the shared renderer of printable papers)."""
    from eldercare.workflow.documents import render_pdf as render

    return render(html, base_url, STYLESHEETS)


@portal_permission_required("subsidies.view_application")
def form_pdf(request, pk: int):
    app = _scoped(request, pk)
    context = _context(request, app, pdf=True)
    html = render_to_string("subsidies/documents/approval_form.html", context, request=request)
    try:
        content = render_pdf(html, request.build_absolute_uri("/"))
    except (ImportError, OSError) as exc:  # WeasyPrint absent, or Pango/fontconfig libraries missing
        log.warning("PDF rendering unavailable: %s", exc)
        return render(
            request,
            "subsidies/documents/unavailable.html",
            {**context, "message": PDF_UNAVAILABLE},
            status=503,
        )
    record(
        request.user,
        Action.EXPORT,
        app,
        detail={"document": TITLE, "filing": context["number"], "format": "pdf"},
    )
    resp = HttpResponse(content, content_type="application/pdf")
    name = f"{TITLE}-{context['number']}.pdf"
    resp["Content-Disposition"] = (
        f"inline; filename=\"subsidy-application-{app.pk}.pdf\"; filename*=UTF-8''{quote(name)}"
    )
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Cache-Control"] = "private, no-store"
    return resp
