"""List pages run a constant number of queries whatever the number of rows (no N+1)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eldercare.accounts.scope import SYSTEM
from institutions import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_versioned_cache")]


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def add_institutions(n, start):
    for i in range(start, start + n):
        services.institution_create(
            actor=SYSTEM,
            family="eldercare",
            facts={"name": f"幸福院{i}", "type": "rural_happiness_home", "region": "370306100201"},
        )


def add_users(make_user, n, start):
    for i in range(start, start + n):
        make_user(f"user{i}", "township", "370306001000")


@pytest.mark.parametrize("url", ["/institutions/", "/users/", "/regions/?q=村", "/audit/"])
def test_list_queries_do_not_grow_with_rows(url, make_user, login):
    admin = login(Client(), make_user("adm", "admin"))
    civil = login(Client(), make_user("civ", "civil"))
    auditor = login(Client(), make_user("aud", "auditor"))
    client = {"/institutions/": civil, "/users/": admin, "/regions/?q=村": civil, "/audit/": auditor}[url]
    add_institutions(2, 0)
    add_users(make_user, 2, 0)
    queries(client, url)  # warm-up: the first request also refreshes the session
    few = queries(client, url)
    add_institutions(20, 10)
    add_users(make_user, 20, 10)
    assert queries(client, url) == few


# -- every list page and API list (issue 8): N rows, then 3N, the same number of queries ------------
# Each case: the URL, who reads it (role, region), and a builder that adds `n` rows the reader sees
# and returns a marker of each (asserted in the response, so a constant count is not the constant
# of an empty list). Reports recompute is switched off: the builders' writes must not queue runs.
N = 4
COUNTY = "370306000000"
TOWN = "370306100000"


@pytest.fixture(autouse=True)
def _no_recompute(settings):
    settings.PORTAL_REPORTS_AUTO_RECOMPUTE = False


def _code(seed: int, lead: str = "52") -> str:
    from institutions.credit_code import check_character

    body = f"{lead}370306{seed:0>9}"[:17]
    return body + check_character(body)


def _homes(n, start):
    from tests.factories import make_home

    return [
        make_home(name=f"测试养老院{i}", region=TOWN, credit_code=_code(1000 + i), beds_eldercare=40)
        for i in range(start, start + n)
    ]


def _hospital():
    from institutions.models import Institution
    from tests.factories import make_hospital

    return Institution.objects.filter(name="北郊镇卫生院").first() or make_hospital()


def build_institutions(n, start, viewer):
    add_institutions(n, start)
    return [f"幸福院{i}" for i in range(start, start + n)]


def build_contracts(n, start, viewer):
    import datetime

    from contracts import services as contracts

    medical = _hospital()
    out = []
    for i, home in enumerate(_homes(n, start)):
        no = f"QC-{start + i:03d}"
        contracts.contract_create(
            actor=SYSTEM,
            facts={
                "medical": medical,
                "eldercare": home,
                "agreement_no": no,
                "mode": "agreement",
                "start": datetime.date(2026, 1, 1),
                "end": datetime.date(2027, 12, 31),
            },
        )
        out.append(no)
    return out


def build_filings(n, start, viewer):
    from eldercare.workflow import services as wf
    from eldercare.workflow.models import FilingType
    from tests.factories import ensure_filing_types

    ensure_filing_types()
    ftype = FilingType.objects.get(code="eldercare")
    out = []
    for home in _homes(n, start):
        wf.filing_create(actor=viewer, type=ftype, institution=home, payload={}, title=f"备案{home.name}")
        out.append(f"备案{home.name}")
    return out


def build_applications(n, start, viewer):
    from subsidies import services as subsidies

    out = []
    for home in _homes(n, start):
        subsidies.application_create(actor=viewer, institution=home, rule="operation", year=2025)
        out.append(home.name)
    return out


def _townships(n, start):
    from tests.factories import RegionFactory

    return [
        RegionFactory(code=f"370306{300 + i:03d}000", name=f"测试镇{i}", parent_id=COUNTY)
        for i in range(start, start + n)
    ]


def build_township_reports(n, start, viewer):
    from assessments.models import TownshipReport

    out = []
    for town in _townships(n, start):
        values = {"pop60": 1000 + start, "fd_signed60": 500}
        TownshipReport.objects.create(
            region=town, year=2025, values=values, accepted_values=values, status="accepted", acceptances=1
        )
        out.append(town.name)
    return out


def build_targets(n, start, viewer):
    from decimal import Decimal

    from assessments.models import Indicator, Target

    indicators = list(Indicator.objects.filter(active=True).order_by("order", "code"))
    out = []
    for i in range(start, start + n):
        ind = indicators[i % len(indicators)]
        Target.objects.create(
            indicator=ind, region_id=COUNTY, year=2000 + i, value=Decimal("50"), clause=f"目标条款{i}"
        )
        out.append(f"目标条款{i}")
    return out


def build_imports(n, start, viewer):
    import datetime

    from eldercare.sheets.models import ImportBatch

    out = []
    for i in range(start, start + n):
        ImportBatch.objects.create(
            kind="institutions",
            status=ImportBatch.Status.INVALID,
            created_by=viewer,
            username=viewer.username,
            region_id=viewer.region_id,
            file_name=f"导入{i}.xlsx",
            file_sha256=f"{i:064d}",
            as_of=datetime.date(2026, 11, 30),
            dry_run=True,
        )
        out.append(f"导入{i}.xlsx")
    return out


def build_users(n, start, viewer):
    from tests.factories import make_user

    add_users(make_user, n, start)
    return [f"user{i}" for i in range(start, start + n)]


def build_notifications(n, start, viewer):
    from eldercare.core.models import Notification

    for i in range(start, start + n):
        Notification.objects.create(user=viewer, title=f"通知{i}", body="正文", link="/")
    return [f"通知{i}" for i in range(start, start + n)]


def build_report(n, start, viewer):
    """Townships with an elder-care home each, then a fresh report run over the whole tree: the
    dashboard's matrix has a row per township."""
    from django.utils import timezone

    from assessments import compute
    from assessments.models import ReportRun
    from tests.factories import make_home

    towns = _townships(n, start)
    for i, town in enumerate(towns):
        make_home(name=f"{town.name}敬老院", region=town.code, credit_code=_code(2000 + start + i))
    year = timezone.localdate().year
    compute.run_inline(
        ReportRun.objects.create(
            year=year, root_id=None, evaluated_on=compute.evaluation_day(year), reason="test"
        )
    )
    return [town.name for town in towns]


# (url, reader role, reader region, builder)
CASES = {
    "api institutions": ("/api/v1/institutions/", "civil", COUNTY, build_institutions),
    "contracts": ("/contracts/", "civil", COUNTY, build_contracts),
    "api contracts": ("/api/v1/contracts/", "civil", COUNTY, build_contracts),
    "filings": ("/filings/", "township", TOWN, build_filings),
    "api filings": ("/api/v1/filings/", "township", TOWN, build_filings),
    "subsidy applications": ("/subsidies/applications/", "township", TOWN, build_applications),
    "api subsidy applications": ("/api/v1/subsidies/applications/", "township", TOWN, build_applications),
    "township reports": ("/reports/township/?year=2025", "health", COUNTY, build_township_reports),
    "api township reports": ("/api/v1/township-reports/?year=2025", "health", COUNTY, build_township_reports),
    "targets": ("/reports/targets/", "health", COUNTY, build_targets),
    "api targets": ("/api/v1/targets/", "health", COUNTY, build_targets),
    "imports": ("/imports/", "civil", COUNTY, build_imports),
    "api imports": ("/api/v1/imports/", "civil", COUNTY, build_imports),
    "api users": ("/api/v1/users/", "admin", COUNTY, build_users),
    "notifications": ("/notifications/", "civil", COUNTY, build_notifications),
    "reports dashboard": ("/reports/", "health", COUNTY, build_report),
    "api attainment": ("/api/v1/reports/attainment/", "health", COUNTY, build_report),
}


def counted(client, url):
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return len(ctx.captured_queries), resp.content.decode()


# Known N+1s (none left: the subsidy applications API prefetches every row's current decision
# with its policy rule and document). A case listed here is expected to fail, strictly.
KNOWN_N_PLUS_ONE: dict[str, str] = {}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_N_PLUS_ONE[c]))
        if c in KNOWN_N_PLUS_ONE
        else c
        for c in CASES
    ],
)
def test_every_list_runs_the_same_queries_for_n_and_3n_rows(case, make_user, login):
    url, role, region, build = CASES[case]
    reader = make_user("reader", role, region)
    client = login(Client(), reader)
    markers = build(N, 0, reader)
    counted(client, url)  # warm-up: the first request also refreshes the session
    few, body = counted(client, url)
    assert all(m in body for m in markers), (case, [m for m in markers if m not in body])
    markers = build(2 * N, 100, reader)
    many, body = counted(client, url)
    assert all(m in body for m in markers), (case, [m for m in markers if m not in body])
    assert many == few, f"{case}: {few} queries with {N} rows, {many} with {3 * N}"
