"""目标考核 pages (issue 7, DOMAIN.md §7): the attainment dashboard of a region and year (matrix
of the child regions × indicators, the region's own rows, rankings, trends with the target line,
the composite scorecard), the 「立即重算」 button with its progress, the drill-down to the
institutions (or townships) behind a figure, and the exports (xlsx, printable HTML, PDF).

Pages read stored report versions only (assessments/page_selectors.py); they never compute.
Reads are scoped: a region outside the user's scope is 404, and so is a run over one.
Chinese-only, like the other business pages."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.scope import get_for_user, region_in_scope
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.core import dataversion, pagecache, regionview
from eldercare.core.views import portal_permission_required
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import page_selectors as ps
from . import selectors, services
from .models import Indicator, ReportRow, ReportRun, RunStatus

log = logging.getLogger(__name__)

VIEW = "assessments.view_report"
EXPORT = "assessments.export_report"
RECOMPUTE = "assessments.recompute_report"


# -- helpers ------------------------------------------------------------------------------------
def _region(request, raw: str | None) -> Region:
    """The region named in the request (404 when malformed or outside the user's scope), else
    the one in view (the portal's region switcher; the user's own region by default). A
    village's report is its township's."""
    raw = (raw or "").strip()
    if raw:
        if not (raw.isdigit() and len(raw) == 12):
            raise Http404
        region = get_for_user(Region.objects.all(), request.user, code=raw)
    else:
        region = regionview.view_region(request)
        if region is None:
            raise Http404
    if region.level > codes.TOWNSHIP:
        region = get_for_user(Region.objects.all(), request.user, code=region.code[:9].ljust(12, "0"))
    return region


def _params(request, source=None) -> tuple[int, Region]:
    source = source if source is not None else request.GET
    year = ps.parse_year(source.get("year"), ps.this_year())
    return year, _region(request, source.get("region"))


def _query(year: int, region: Region, **extra) -> str:
    return "?" + urlencode({"year": year, "region": region.code, **extra})


def _visible_run(request, pk) -> ReportRun:
    run = ReportRun.objects.filter(pk=pk).first()
    if run is None or not ps.run_covers_user(request.user, run):
        raise Http404
    return run


def _header(run: ReportRun | None) -> dict:
    if run is None:
        return {}
    return {"as_of": ps.as_of_text(run), "evaluated": ps.evaluated_text(run), "version": run.pk}


# -- the dashboard ------------------------------------------------------------------------------
# The report below the header bar is a function of the versions it shows, so it is rendered once
# per (versions, region, year, the viewer's scope region, permissions) and data version
# (dataversion.cached_fragment: the key also holds the day and the language, and any write to the
# regions, the catalogue — names, weights — or the reports makes a new one). The chrome, the title,
# the header bar with 「立即重算」 (its CSRF token) and the exports, and the progress of a version
# being computed are rendered per request.
FRAGMENT = "assessments.dashboard"
_SPLIT = "<!--dashboard-report-->"  # between the picker and the report in the one cached string


def _dashboard_fragment(
    user, year: int, region: Region, runs: ps.DashboardRuns, can: dict
) -> tuple[str, str]:
    """(the picker, the report) as rendered HTML, from the cache when it has them."""
    run = runs.latest

    def render_both() -> str:
        context = {"year": year, "region": region, "run": run, **can}
        picker = render_to_string(
            "assessments/reports/_dashboard_picker.html",
            {**context, "years": ps.year_choices(), "regions": ps.region_choices(user)},
        )
        if run is not None:
            rep = ps.report(run, region)
            trend = ps.trend(region.code, year, rep.indicators, runs=runs.by_year)
            attained_n, with_target_n = rep.summary()
            context.update(
                {
                    "rep": rep,
                    "level_label": ps.LEVEL_LABELS.get(rep.child_level, "下级区划"),
                    "scores": ps.scorecards(rep),
                    "trend": trend,
                    "sections": list(zip(rep.rankings, trend, strict=True)),
                    "attained_n": attained_n,
                    "with_target_n": with_target_n,
                }
            )
        return picker + _SPLIT + render_to_string("assessments/reports/_dashboard_report.html", context)

    parts = (
        region.code,
        year,
        user.region_id or "",  # the picker's choices: the viewer's region and below
        int(can["can_recompute"]),
        int(can["can_export"]),
        run.pk if run is not None else "",
        runs.key,  # the trend's versions: another year's new version changes the report
    )
    html = dataversion.cached_fragment(FRAGMENT, parts, render_both)
    picker, report = html.split(_SPLIT, 1)
    return mark_safe(picker), mark_safe(report)  # noqa: S308  # nosec B308 B703  # our templates, escaped there


@require_GET
@portal_permission_required(VIEW)
def dashboard(request):
    user = request.user
    year, region = _params(request)
    runs = ps.dashboard_runs(year, region.code)
    watched = None
    raw_run = request.GET.get("run") or ""
    if raw_run.isdigit():
        watched = ReportRun.objects.filter(pk=int(raw_run), year=year).first()
        if watched is not None and not ps.run_covers_user(user, watched):
            watched = None
    progress_run = watched or runs.running
    # The whole page per browser and data version (eldercare.core.pagecache): it reads stored
    # results only. Its key also holds what compute changes without a data version — the versions
    # shown (the trend's years) and the state of a version being computed (moved on by .update()).
    state = (
        ()
        if progress_run is None
        else (
            progress_run.pk,
            progress_run.status,
            progress_run.progress,
            progress_run.slices_done,
            progress_run.slices_total,
            progress_run.error,
        )
    )
    get = request.GET
    canonical = (
        get.get("year", str(year)) == str(year)
        and get.get("region", region.code) == region.code
        and (not raw_run or (watched is not None and raw_run == str(watched.pk)))
    )
    return pagecache.respond(
        request,
        "assessments.dashboard",
        ("year", "region", "run"),
        lambda: _dashboard_page(request, year, region, runs, progress_run),
        parts=(year, region.code, runs.key, runs.latest.pk if runs.latest else "", state),
        keep=canonical,
    )


def _dashboard_page(request, year: int, region: Region, runs: ps.DashboardRuns, progress_run) -> HttpResponse:
    user = request.user
    run = runs.latest
    can = {"can_recompute": user.has_perm(RECOMPUTE), "can_export": user.has_perm(EXPORT)}
    picker, report = _dashboard_fragment(user, year, region, runs, can)
    context = {
        "year": year,
        "region": region,
        "run": run,
        "progress_run": progress_run,
        **can,
        "query": _query(year, region),
        "picker": picker,
        "report": report,
        **_header(run),
    }
    if progress_run is not None:
        context["progress_url"] = reverse("assessments:report_progress", args=[progress_run.pk])
    return render(request, "assessments/reports/dashboard.html", context)


# -- recompute and progress ---------------------------------------------------------------------
@require_POST
@portal_permission_required(VIEW, RECOMPUTE)
def recompute(request):
    year, region = _params(request, request.POST)
    if ps.parse_year(request.POST.get("year")) is None:  # never compute another year than asked
        messages.error(request, f"年度应为 {ps.MIN_YEAR}–{ps.this_year()} 之间的年份。")
        return redirect(reverse("assessments:reports") + _query(year, region))
    try:
        run = services.request_run(year, root_code=region.code, actor=request.user)
    except services.ComputeError as exc:
        messages.error(request, str(exc))
        return redirect(reverse("assessments:reports") + _query(year, region))
    run.refresh_from_db()
    if run.status == RunStatus.COMPLETE:  # computed at once (no worker: Celery runs in-process)
        messages.success(request, f"已重算{region.name}{year}年度的目标考核报告（版本 #{run.pk}）。")
    else:
        messages.info(
            request,
            f"已开始重算{region.name}{year}年度的目标考核报告（版本 #{run.pk}），完成后页面自动刷新。",
        )
    return redirect(reverse("assessments:reports") + _query(year, region, run=run.pk))


@require_GET
@portal_permission_required(VIEW)
def progress(request, pk: int):
    run = _visible_run(request, pk)
    resp = JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "slices_done": run.slices_done,
            "slices_total": run.slices_total,
            "error": run.error or None,
            "done": run.status in (RunStatus.COMPLETE, RunStatus.FAILED),
        }
    )
    resp["Cache-Control"] = "no-store"
    return resp


# -- the drill-down -----------------------------------------------------------------------------
@require_GET
@portal_permission_required(VIEW)
def drill_down(request, year: int, code: str, indicator: str):
    if ps.parse_year(year) is None:
        raise Http404
    region = get_for_user(Region.objects.all(), request.user, code=code)
    ind = Indicator.objects.filter(code=indicator).first()
    if ind is None:
        raise Http404
    run = selectors.latest_run(year, region.code)
    context = {"year": year, "region": region, "indicator": ind, "run": run, **_header(run)}
    if run is not None:
        row = (
            ReportRow.objects.filter(run=run, region_id=region.code, indicator_id=ind.code)
            .select_related("indicator", "region")
            .first()
        )
        if row is not None:
            ps.decorate(row)
            if row.target_inherited:
                row.target_region_name = (
                    Region.objects.filter(code=row.target_region).values_list("name", flat=True).first()
                    or row.target_region
                )
            context["d"] = ps.drill(run, row, region)
    parent = region.parent if region.parent_id and region.level > codes.COUNTY else None
    if parent is not None and not region_in_scope(request.user, parent.code):
        parent = None
    context["up"] = parent
    context["back"] = reverse("assessments:reports") + _query(year, parent or region)
    return render(request, "assessments/reports/drill.html", context)


# -- exports ------------------------------------------------------------------------------------
def _export_report(request):
    year, region = _params(request)
    run = selectors.latest_run(year, region.code)
    if run is None:
        messages.error(request, f"{region.name}{year}年度尚无已完成的目标考核报告，请先重算。")
        return None, redirect(reverse("assessments:reports") + _query(year, region))
    return ps.report(run, region), None


def _audit(request, rep, fmt: str) -> None:
    record(
        request.user,
        Action.EXPORT,
        rep.run,
        object_repr=f"目标考核报告 {rep.region.name} {rep.run.year} {fmt}",
        detail={
            "format": fmt,
            "year": rep.run.year,
            "region": rep.region.code,
            "run": rep.run.pk,
            "rows": sum(len(v) for v in rep.rows_by_level.values()),
        },
    )


def _filename(rep, ext: str) -> tuple[str, str]:
    ascii_name = f"attainment-{rep.region.code}-{rep.run.year}.{ext}"
    return ascii_name, f"{rep.region.name}{rep.run.year}年度目标考核报告.{ext}"


def _disposition(kind: str, rep, ext: str) -> str:
    ascii_name, name = _filename(rep, ext)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@require_GET
@portal_permission_required(VIEW, EXPORT)
def export_xlsx(request):
    from .report_exports import attainment_xlsx

    rep, refusal = _export_report(request)
    if refusal is not None:
        return refusal
    content = attainment_xlsx(rep)
    _audit(request, rep, "xlsx")
    resp = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp["Content-Disposition"] = _disposition("attachment", rep, "xlsx")
    resp["Cache-Control"] = "private, no-store"
    return resp


@require_GET
@portal_permission_required(VIEW, EXPORT)
def export_print(request):
    from .report_exports import document_context

    rep, refusal = _export_report(request)
    if refusal is not None:
        return refusal
    context = document_context(rep, pdf=False)
    context["pdf_url"] = reverse("assessments:report_pdf") + _query(rep.run.year, rep.region)
    context["back_url"] = reverse("assessments:reports") + _query(rep.run.year, rep.region)
    _audit(request, rep, "html")
    resp = HttpResponse(render_to_string("assessments/reports/document.html", context, request=request))
    resp["Cache-Control"] = "private, no-store"
    return resp


@require_GET
@portal_permission_required(VIEW, EXPORT)
def export_pdf(request):
    from eldercare.workflow.documents import PDF_UNAVAILABLE

    from .report_exports import document_context, render_pdf

    rep, refusal = _export_report(request)
    if refusal is not None:
        return refusal
    context = document_context(rep, pdf=True)
    html = render_to_string("assessments/reports/document.html", context, request=request)
    try:
        content = render_pdf(html, request.build_absolute_uri("/"))
    except (ImportError, OSError) as exc:  # WeasyPrint absent, or Pango/fontconfig missing
        log.warning("PDF rendering unavailable: %s", exc)
        context.update(
            pdf=False,
            unavailable=PDF_UNAVAILABLE,
            pdf_url=reverse("assessments:report_pdf") + _query(rep.run.year, rep.region),
            back_url=reverse("assessments:reports") + _query(rep.run.year, rep.region),
        )
        return HttpResponse(
            render_to_string("assessments/reports/document.html", context, request=request), status=503
        )
    _audit(request, rep, "pdf")
    resp = HttpResponse(content, content_type="application/pdf")
    resp["Content-Disposition"] = _disposition("inline", rep, "pdf")
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Cache-Control"] = "private, no-store"
    return resp
