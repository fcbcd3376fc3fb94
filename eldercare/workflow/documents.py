"""The papers a filing issues (issue 4, "Documents people print"; DOMAIN.md §5).

Every transition to accepted / returned / approved / rejected issues a numbered
`FilingDocument` tied to its ledger step: 受理通知书, 一次性补正告知书, 准予/不予备案决定书. This
module renders them as they were *on the day they were issued*: the dates, the submission they
answer and the deadline are recomputed from the ledger up to and including the document's step
(the filing's current `due_on` may have moved on since — a later return, a re-acceptance).

- `document_html`: a standalone A4 page (not the portal chrome) with a 打印 button hidden in
  print. Its stylesheet and script are static files: the portal's CSP allows no inline ones.
- `document_pdf`: the same page rendered by WeasyPrint (Pango + fontconfig, which must find
  Noto CJK — Debian's fonts-noto-cjk — or Chinese prints as boxes: docs/operations.md). The
  stylesheet is read from the static files and handed to WeasyPrint directly; nothing is fetched
  over the network. Each PDF served is audited as an export."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse

from eldercare.accounts.scope import get_for_user
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.core.views import portal_permission_required
from eldercare.regions import codes

from . import effects, machine
from .models import Filing, FilingDocument, FilingType, load_calendar
from .workdays import Deadline

log = logging.getLogger(__name__)

STYLESHEET = "css/filing-document.css"
AUTHORITY = {"health": "卫生健康局", "civil": "民政局"}
TEMPLATES = {
    FilingDocument.Kind.RECEIPT: "workflow/documents/receipt.html",
    FilingDocument.Kind.CORRECTION: "workflow/documents/correction.html",
    FilingDocument.Kind.DECISION: "workflow/documents/decision.html",
}
REMEDY = "申请人如不服本决定，可依法申请行政复议或提起行政诉讼。"
PDF_UNAVAILABLE = "PDF 生成组件未安装（WeasyPrint 或 Pango 缺失），暂时无法生成 PDF，请使用打印页面。"
# The seeds cite their source files, e.g. "周政办字〔2017〕109号（000_a6a1084fb0cf220e.txt）三(二)";
# the file reference is provenance for the portal's maintainers, not for the printed paper.
_SOURCE_REF = re.compile(r"（\d{3}_[0-9a-f]{8,}\.txt）")
# "1." "2、" "（3）" "一、" at the start of a correction item: the list numbers them itself.
_ENUMERATION = re.compile(
    r"^\s*(?:[（(]\s*[0-9一二三四五六七八九十]+\s*[)）]|[0-9一二三四五六七八九十]+\s*[.．、)）])\s*"
)


def chinese_date(day: datetime.date | None) -> str:
    """2026年10月16日 (no leading zeros, as official papers write it)."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def items_of(comment: str) -> list[str]:
    """The comment as a list, one item per non-empty line, its own numbering removed."""
    out = []
    for line in (comment or "").splitlines():
        text = _ENUMERATION.sub("", line).strip()
        if text:
            out.append(text)
    return out


def authority_of(filing: Filing) -> str:
    """The deciding department, named after the county the filing's region lies in:
    周村区民政局, 周村区卫生健康局 (a filing above county level: that region's name)."""
    region = filing.region
    chain = [*region.ancestors(), region]
    county = next((r for r in chain if r.level == codes.COUNTY), None)
    place = (county or region).name
    return place + AUTHORITY.get(filing.type.decider_role, "")


def applicant_of(filing: Filing) -> str:
    """Who the paper is addressed to: the institution, else the institution being filed (the
    payload's name), else the subject, else the applicant's own account."""
    if filing.institution_id:
        return filing.institution.name
    if filing.payload.get("name"):
        return str(filing.payload["name"])
    if filing.subject_id:
        try:
            subject = filing.subject
        except Exception:  # noqa: BLE001 — a subject whose app is gone still leaves a printable paper
            subject = None
        if subject is not None:
            return str(subject)
    user = filing.created_by
    return getattr(user, "full_name", "") or user.username


@dataclass
class Paper:
    """What one document says, computed as of its step."""

    document: FilingDocument
    filing: Filing
    step: object
    kind: str
    title: str
    authority: str
    addressee: str
    submitted_on: datetime.date | None
    accepted_on: datetime.date | None
    deadline: object | None  # workdays.Deadline of the limit this paper starts or states
    previous_deadline: object | None  # the limit that was running before this step
    previous_phase: str
    decide_days: int
    approved: bool
    items: list[str]
    basis: str
    effect_line: str

    @property
    def date_cn(self) -> str:
        return chinese_date(self.step.day)

    @property
    def submitted_cn(self) -> str:
        return chinese_date(self.submitted_on)

    @property
    def accepted_cn(self) -> str:
        return chinese_date(self.accepted_on)

    @property
    def deadline_cn(self) -> str:
        return chinese_date(self.deadline.due) if self.deadline else ""

    @property
    def previous_deadline_cn(self) -> str:
        return chinese_date(self.previous_deadline.due) if self.previous_deadline else ""

    @property
    def remedy(self) -> str:
        return REMEDY if self.kind == FilingDocument.Kind.DECISION and not self.approved else ""


def _title(doc: FilingDocument) -> str:
    if doc.kind == FilingDocument.Kind.DECISION:
        return "准予备案决定书" if doc.step.to_state == machine.APPROVED else "不予备案决定书"
    return doc.get_kind_display()


def _effect_line(filing: Filing, day: datetime.date) -> str:
    """What the approval did to the registry, in a sentence."""
    effect = filing.type.effect
    inst = filing.result_institution
    since = f"，自{chinese_date(day)}起生效"
    if inst is not None:
        no = f"（门户编号 {inst.portal_no}）" if inst.portal_no else ""
        if effect == FilingType.Effect.INTERNAL_UNIT:
            unit = effects.label_of(effect, "internal_unit", filing.payload.get("internal_unit"))
            return f"已在养老机构名录中登记：{inst.name}{no}内设{unit}{since}。"
        if effect == FilingType.Effect.ELDERCARE_FILED and filing.institution_id:
            return f"已在养老机构名录中更新备案信息：{inst.name}{no}{since}。"
        registry = "养老机构名录" if inst.family == "eldercare" else "医疗机构名录"
        return f"已在{registry}中登记：{inst.name}{no}{since}。"
    if effect == FilingType.Effect.SUBJECT and filing.subject_id:
        try:
            subject = filing.subject
        except Exception:  # noqa: BLE001
            subject = None
        if subject is not None:
            return f"“{subject}”已备案{since}。"
    return ""


def paper_for(doc: FilingDocument) -> Paper:
    """The document's content as of its step: the ledger up to and including that step."""
    filing = doc.filing
    ledger = list(filing.steps.order_by("at", "id"))
    upto = next((i for i, s in enumerate(ledger) if s.pk == doc.step_id), len(ledger) - 1) + 1
    prior = ledger[:upto]
    step = prior[-1] if prior else doc.step
    steps = [machine.Step(s.action, s.to_state, s.day) for s in prior]
    definition = filing.type.definition()
    cal = load_calendar()
    now = machine.clock(definition, steps, cal)
    before = machine.clock(definition, steps[:-1], cal)
    # The submission this paper answers, and its acceptance (not an earlier round's).
    last_submit = max((i for i, s in enumerate(prior) if s.to_state == machine.SUBMITTED), default=-1)
    submitted = [prior[last_submit].day] if last_submit >= 0 else []
    accepted = [s.day for s in prior[last_submit + 1 :] if s.to_state == machine.ACCEPTED]
    approved = step.to_state == machine.APPROVED
    kind = doc.kind
    # The deadline the paper stated when it was issued (stored then), so a reprint after next
    # year's holidays are entered says the same; older documents fall back to the recomputation.
    stated = Deadline(doc.deadline, doc.deadline_provisional) if doc.deadline else None
    return Paper(
        document=doc,
        filing=filing,
        step=step,
        kind=kind,
        title=_title(doc),
        authority=authority_of(filing),
        addressee=applicant_of(filing),
        submitted_on=submitted[-1] if submitted else filing.submitted_on,
        accepted_on=accepted[-1] if accepted else None,
        deadline=(stated or now.deadline) if kind == FilingDocument.Kind.RECEIPT else None,
        previous_deadline=stated if (stated and kind != FilingDocument.Kind.RECEIPT) else before.deadline,
        previous_phase=before.phase,
        decide_days=definition.decide_days,
        approved=approved,
        items=items_of(step.comment),
        basis=_SOURCE_REF.sub("", filing.type.basis).strip(),
        effect_line=_effect_line(filing, step.day) if approved else "",
    )


def _document(request, pk: int, doc: int) -> FilingDocument:
    """The document of a filing in the user's scope; 404 for anything else."""
    filing = get_for_user(
        Filing.objects.select_related("type", "region", "institution", "result_institution", "created_by"),
        request.user,
        pk=pk,
    )
    document = get_object_or_404(FilingDocument.objects.select_related("step"), pk=doc, filing=filing)
    document.filing = filing
    return document


def _render(request, paper: Paper, *, pdf: bool) -> str:
    return render_to_string(
        TEMPLATES[paper.kind],
        {
            "paper": paper,
            "pdf": pdf,
            "stylesheet": STYLESHEET,
            "detail_url": reverse("workflow:detail", args=[paper.filing.pk]),
            "pdf_url": reverse("workflow:document_pdf", args=[paper.filing.pk, paper.document.pk]),
        },
        request=request,
    )


@portal_permission_required("workflow.view_filing")
def document_html(request, pk: int, doc: int):
    """The printable page of one document."""
    paper = paper_for(_document(request, pk, doc))
    return HttpResponse(_render(request, paper, pdf=False))


def stylesheet_text(name: str = STYLESHEET) -> str:
    """A printable paper's stylesheet from the static files (the source tree, or the collected
    copy). Shared by every printable document (filings, 补助审批表, attainment report)."""
    path = finders.find(name)
    if not path:
        try:
            path = staticfiles_storage.path(name)
        except NotImplementedError:  # pragma: no cover — a storage without local files
            path = None
    if not path:
        raise Http404("document stylesheet missing")
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _no_fetching(url, *args, **kwargs):
    """WeasyPrint's URL fetcher: data: URIs only. The paper needs nothing from outside, and
    nothing a filing's text contains may make the server fetch a URL."""
    from weasyprint.urls import default_url_fetcher

    if url.startswith("data:"):
        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"not fetched: {url[:80]}")


def render_pdf(html: str, base_url: str, stylesheets=(STYLESHEET,)) -> bytes:
    """HTML to PDF bytes with the given static stylesheets, fetching nothing from outside.
    Raises ImportError/OSError when WeasyPrint or Pango is missing."""
    from weasyprint import CSS, HTML

    return HTML(string=html, base_url=base_url, url_fetcher=_no_fetching).write_pdf(
        stylesheets=[CSS(string=stylesheet_text(name), url_fetcher=_no_fetching) for name in stylesheets]
    )


def _unavailable(request, paper: Paper) -> HttpResponse:
    html_url = reverse("workflow:document", args=[paper.filing.pk, paper.document.pk])
    return render(
        request,
        "workflow/documents/unavailable.html",
        {"message": PDF_UNAVAILABLE, "html_url": html_url, "paper": paper, "stylesheet": STYLESHEET},
        status=503,
    )


@portal_permission_required("workflow.view_filing")
def document_pdf(request, pk: int, doc: int):
    """The same paper as PDF, inline, named after its number; audited as an export."""
    paper = paper_for(_document(request, pk, doc))
    html = _render(request, paper, pdf=True)
    try:
        content = render_pdf(html, request.build_absolute_uri("/"))
    except (ImportError, OSError) as exc:  # WeasyPrint absent, or Pango/fontconfig libraries missing
        log.warning("PDF rendering unavailable: %s", exc)
        return _unavailable(request, paper)
    number = paper.document.number
    record(
        request.user,
        Action.EXPORT,
        paper.document,
        detail={"document": number, "filing": paper.filing.number, "format": "pdf"},
    )
    resp = HttpResponse(content, content_type="application/pdf")
    resp["Content-Disposition"] = (
        f"inline; filename=\"filing-document-{paper.document.pk}.pdf\"; filename*=UTF-8''{quote(number + '.pdf')}"
    )
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Cache-Control"] = "private, no-store"
    return resp
