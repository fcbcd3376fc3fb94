"""Demo target attainment (issue 7): 周村区 adopts its own plan's targets (周政办字〔2017〕109号,
seed 000) and the national nursing-bed target, the townships report last year's figures
(most accepted, one submitted and waiting, one not yet reported, one accepted then reopened
and corrected), and the reports of last year and this year are computed — all through the
services, once (only when no township report exists yet)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from eldercare.accounts.models import User
from eldercare.core.demo import regions as demo_regions

COUNTY = demo_regions.COUNTY[0]
TEMPLATES = ("周政办字〔2017〕109号", "国发〔2021〕35号")

# township suffix → (pop60, signed60, pop65, managed65, villages, with centre, satisfaction)
FIGURES = {
    "001": (5200, 3900, 3600, 2800, 8, 6, 92.5),
    "002": (4800, 3200, 3300, 2500, 7, 5, 90.0),
    "003": (4100, 3000, 2900, 2300, 6, 4, 88.0),
    "004": (3900, 2600, 2700, 2000, 5, 4, 91.0),
    "005": (3600, 2700, 2500, 1900, 6, 3, 87.5),
    "100": (6100, 4300, 4300, 3300, 18, 13, 89.0),
    "101": (5800, 3800, 4100, 3000, 16, 10, 86.0),
    "102": (6400, 4100, 4500, 3200, 20, 12, 85.5),
    "103": (4300, 2500, 3000, 2100, 14, 8, 84.0),
}
SUBMITTED_ONLY = "103"  # waiting for the county's acceptance
NOT_REPORTED = "102"  # nothing yet: on the "not yet reported" list
REOPENED = "005"  # accepted, reopened for a correction, corrected and accepted again
KEYS = (
    "pop60",
    "fd_signed60",
    "pop65",
    "health_managed65",
    "villages",
    "villages_with_center",
    "satisfaction",
)


def _values(suffix: str) -> dict:
    return dict(zip(KEYS, FIGURES[suffix], strict=True))


def load() -> int:
    from assessments import target_services, township_reports
    from assessments.models import TargetTemplate, TownshipReport
    from eldercare.regions.models import Region

    if TownshipReport.objects.exists():
        return 0
    health = User.objects.get(username="health01")
    civil = User.objects.get(username="civil01")
    county = Region.objects.get(code=COUNTY)
    for doc_no in TEMPLATES:
        template = TargetTemplate.objects.filter(doc_no=doc_no).first()
        if template is not None:
            target_services.template_apply(actor=health, template=template, region=county)
    year = timezone.localdate().year - 1
    reports = []
    # The demo townships' own staff file their reports; the others' are entered by the county.
    filers = {u.region_id: u for u in User.objects.filter(username__in=("township01", "township02"))}
    for suffix in FIGURES:
        if suffix == NOT_REPORTED:
            continue
        code = f"370306{suffix}000"
        region = Region.objects.get(code=code)
        filer = filers.get(code, civil)
        report = township_reports.report_save(actor=filer, region=region, year=year, values=_values(suffix))
        report = township_reports.report_submit(actor=filer, report=report)
        if suffix != SUBMITTED_ONLY:
            reports.append(report)
    township_reports.report_accept(actor=civil, reports=reports)
    corrected = TownshipReport.objects.get(region_id=f"370306{REOPENED}000", year=year)
    township_reports.report_reopen(actor=civil, report=corrected, reason="签约人数含外县户籍老人，需核减")
    corrected.refresh_from_db()
    township_reports.report_save(
        actor=civil, region=corrected.region, year=year, values={**_values(REOPENED), "fd_signed60": 2400}
    )
    corrected.refresh_from_db()
    township_reports.report_submit(actor=civil, report=corrected)
    corrected.refresh_from_db()
    township_reports.report_accept(actor=civil, reports=[corrected])
    return len(FIGURES) - 1


def compute() -> list:
    """Last year's and this year's reports for the demo county, computed in this process."""
    from assessments import compute as engine
    from assessments.models import ReportRun

    today = timezone.localdate()
    runs = []
    for year in (today.year - 1, today.year):
        run = ReportRun.objects.create(
            year=year, root_id=None, evaluated_on=engine.evaluation_day(year), reason="demo"
        )
        runs.append(engine.run_inline(run))
    return runs


__all__ = ["load", "compute", "datetime"]
