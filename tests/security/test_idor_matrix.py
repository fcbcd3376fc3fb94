"""The IDOR matrix (issue 8, SECURITY.md "Access"): every object the API and the pages expose,
one of each in 丝绸路街道 (A, 370306001000), in 北郊镇 (B, 370306100000, the same county) and in
the neighbouring county (C, 370307001000).

- A township-A user reads, edits, deletes, exports and moves through the workflow B's and C's
  objects, and a county-370306 user (of each role that works on that object) C's objects, on
  every page and API path that names an object: the answer is 404, the same as for an id that
  does not exist, and the object is left exactly as it was. 403 is accepted only where the role
  lacks the permission for that path altogether — then a missing id and the caller's own object
  are 403 too (no answer tells "exists" from "does not"), and the case is listed in
  LACKS_PERMISSION with its reason.
- Lists, search (`?q=`), filters naming the other region, exports and the region switcher never
  include the other region's objects.

The matrix is generated: ROUTES must name every URL pattern that takes an object's id or code
(walked with get_resolver()), and WORLD every model a registered API viewset serves — a new one
fails test_the_matrix_covers_every_object_route until it is added here. Out of the walk, each for
a stated reason: the Django admin site under /system/ (admin role only: every other role is 403
there, tests/functional/test_review_fixes.py::test_admin_site_is_403_not_a_redirect_loop_for_other_roles),
NOT_OBJECTS (URL parameters that are not objects) and GLOBAL (catalogues shared by every region,
whose region-bearing arguments are tested in test_region_arguments_outside_scope_are_refused).

The data are built once for the module in a transaction rolled back at its end; every test runs
in a savepoint of its own, so writes that wrongly succeeded cannot leak into the next one.
"""

from __future__ import annotations

import datetime
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from tests.factories import FILING_FIXTURES, PASSWORD, current_code, login, totp_device

pytestmark = pytest.mark.django_db
D = datetime.date

A, B, C = "370306001000", "370306100000", "370307001000"
COUNTY, OTHER_COUNTY = "370306000000", "370307000000"
PLACE = {A: "甲街IDOR", B: "乙镇IDOR", C: "丙县IDOR"}  # every object's name carries its place
LABEL = {A: "A", B: "B", C: "C"}
COUNTY_ROLES = ("health", "civil", "finance", "admin", "security", "auditor")
MISSING_INT, MISSING_CODE = 987654321, "370306999000"


# -- the world ----------------------------------------------------------------------------------
@dataclass
class World:
    objects: dict = field(default_factory=dict)  # model key -> {place: object}
    users: dict = field(default_factory=dict)  # actor key -> User
    tokens: dict = field(default_factory=dict)  # actor key -> API token

    def add(self, key, place, obj):
        self.objects.setdefault(key, {})[place] = obj
        return obj

    def get(self, key, place):
        obj = self.objects[key][place]
        return type(obj).objects.get(pk=obj.pk)  # fresh: an earlier test's savepoint is gone


def credit(seed: int, lead: str) -> str:
    from institutions.credit_code import check_character

    body = f"{lead}370306{seed:0>9}"[:17]
    return body + check_character(body)


def id_number(region6: str, birth: str, serial: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    body = f"{region6}{birth}{serial}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def build_world() -> World:
    from assessments.models import ReportRun, Target, TownshipReport
    from contracts import services as contracts
    from eldercare.accounts.scope import SYSTEM
    from eldercare.regions.models import Region
    from eldercare.sheets import engine
    from eldercare.workflow import services as wf
    from subsidies import occupancy, payments
    from subsidies import services as subsidies
    from subsidies.models import Application, Decision
    from tests.factories import (
        ensure_assessment_catalogue,
        ensure_filing_types,
        make_home,
        make_hospital,
        make_tree,
        make_user,
        ready_filing,
    )

    make_tree()
    ensure_filing_types()
    ensure_assessment_catalogue()
    w = World()
    for role in COUNTY_ROLES:
        w.users[role] = make_user(f"idor_{role}", role, COUNTY, full_name=f"县级{role}")
    w.users["township"] = make_user("idor_town_a", "township", A, full_name=f"{PLACE[A]}乡镇用户")
    towns = {A: w.users["township"]}
    towns[B] = make_user("idor_town_b", "township", B, full_name=f"{PLACE[B]}乡镇用户")
    towns[C] = make_user("idor_town_c", "township", C, full_name=f"{PLACE[C]}乡镇用户")
    w.users["town_c"] = towns[C]
    civil = {A: w.users["civil"], B: w.users["civil"], C: make_user("idor_civil_c", "civil", OTHER_COUNTY)}
    finance = {A: w.users["finance"], B: w.users["finance"]}
    finance[C] = make_user("idor_finance_c", "finance", OTHER_COUNTY)
    seeds = {A: 100, B: 200, C: 300}
    for place, mark in PLACE.items():
        seed = seeds[place]
        w.add(
            "user",
            place,
            make_user(f"idor_colleague_{LABEL[place]}", "township", place, full_name=f"{mark}同事"),
        )
        w.add("region", place, Region.objects.get(code=place))
        hosp = w.add(
            "hospital",
            place,
            make_hospital(
                name=f"{mark}卫生院",
                region=place,
                credit_code=credit(seed + 1, "12"),
                opened_on=D(2010, 1, 1),
            ),
        )
        home = w.add(
            "institution",
            place,
            make_home(
                name=f"{mark}敬老院",
                region=place,
                credit_code=credit(seed + 2, "52"),
                beds_eldercare=80,
                opened_on=D(2020, 1, 1),
            ),
        )
        # a filing, submitted and accepted (so it has an attachment and a document)
        payload = {"name": f"{mark}新建养老院", "type": "community_center", "beds_eldercare": 30}
        filing = ready_filing(
            towns[place], "eldercare", None, {**payload, "credit_code": credit(seed + 3, "52")}
        )
        wf.filing_transition(actor=towns[place], filing=filing, action="submit")
        filing = wf.filing_transition(actor=civil[place], filing=filing.pk, action="accept")
        w.add("filing", place, filing)
        w.add("attachment", place, filing.files.first())
        w.add("document", place, filing.documents.first())
        # a contract with a visit
        contract = contracts.contract_create(
            actor=SYSTEM,
            facts={
                "medical": hosp,
                "eldercare": home,
                "agreement_no": f"{mark}-XY-1",
                "mode": "agreement",
                "start": D(2026, 1, 1),
                "end": D(2027, 12, 31),
            },
        )
        w.add("contract", place, contract)
        w.add("visit", place, contracts.visit_record(actor=SYSTEM, contract=contract, date=D(2026, 3, 2)))
        # an import batch (a township's dry run with an error row: it has an annotated sheet)
        csv = f"区划代码,年度,60岁以上常住老年人数\n{place},2026,1200\n{place},2026,很多\n".encode()
        w.add(
            "import",
            place,
            engine.start_import(
                actor=towns[place],
                kind="township_reports",
                data=csv,
                filename=f"{mark}.csv",
                dry_run=True,
                inline=True,
            ),
        )
        # a subsidy application submitted by the township; an approved one with an installment paid
        app = subsidies.application_create(actor=towns[place], institution=home, rule="operation", year=2025)
        wf.filing_transition(actor=towns[place], filing=app.filing_id, action="submit")
        w.add("application", place, app)
        paid = Application.objects.create(
            institution=home, rule="construction_new_rented", application_date=D(2025, 3, 1), beds=10
        )
        decision = Decision.objects.create(
            application=paid,
            eligible=True,
            amount=Decimal("50000.00"),
            schedule=[{"due_year": 2025 + i, "amount": "10000.00"} for i in range(5)],
            checks=[{"code": "test", "passed": True, "message": "", "clause": "三(一)"}],
        )
        first, second, *_ = payments.schedule_installments(decision=decision)
        w.add("installment", place, second)
        w.add(
            "payment",
            place,
            payments.payment_record(
                actor=finance[place],
                installment=first,
                paid_on=D(2026, 3, 1),
                amount=first.amount,
                voucher_no=f"{LABEL[place]}-PZ-1",
                payee_account="6228480000000000001",
                funding_source="county",
            ),
        )
        w.add(
            "resident",
            place,
            occupancy.resident_record(
                SYSTEM,
                home,
                name=f"{mark}老人",
                id_number=id_number(place[:6], "19450102", f"{seed:03d}"),
                ability_level=1,
                admitted_on=D(2025, 1, 5),
            ),
        )
        w.add(
            "township_report",
            place,
            TownshipReport.objects.create(
                region_id=place, year=2025, values={"pop60": 1000, "fd_signed60": 800}, status="draft"
            ),
        )
        w.add(
            "target",
            place,
            Target.objects.create(indicator_id="YL_BEDS", region_id=place, year=2025, value=Decimal("100")),
        )
        w.add(
            "report_run",
            place,
            ReportRun.objects.create(year=2025, root_id=place, evaluated_on=D(2025, 12, 31)),
        )
    return w


def token_for(user) -> str:
    extra = {}
    if user.otp_required:
        totp_device(user)
        extra["otp"] = current_code()
    resp = Client().post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": PASSWORD, **extra},
        content_type="application/json",
    )
    assert resp.status_code == 200, (user.username, resp.content)
    return resp.json()["token"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with ExitStack() as stack:
        stack.enter_context(django_db_blocker.unblock())
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        from django.conf import settings

        mp.setattr(settings, "PORTAL_UPLOAD_ROOT", str(tmp_path_factory.mktemp("uploads")))
        mp.setattr(settings, "PORTAL_API_TOKEN_HOURS", 24)
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            w = build_world()
            w.tokens = {key: token_for(u) for key, u in w.users.items()}
            yield w
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _uploads():
    """The module's upload root (set with the world) stays: its files are the world's."""


@pytest.fixture
def pages(world):
    """A signed-in page client per actor (CSRF not enforced: the token is another test's)."""
    made = {}

    def get(actor):
        if actor not in made:
            made[actor] = login(Client(enforce_csrf_checks=False), world.users[actor])
        return made[actor]

    return get


@pytest.fixture
def api(world):
    made = {}

    def get(actor):
        if actor not in made:
            c = Client()
            c.defaults["HTTP_AUTHORIZATION"] = f"Token {world.tokens[actor]}"
            made[actor] = c
        return made[actor]

    return get


# -- the routes ---------------------------------------------------------------------------------
def pdf_upload():
    return SimpleUploadedFile("application.pdf", (FILING_FIXTURES / "application.pdf").read_bytes())


GET, POST, PATCH, DELETE = "get", "post", "patch", "delete"


@dataclass(frozen=True)
class Route:
    name: str  # the URL pattern's name
    model: str  # the WORLD key of the object it names
    kwargs: object  # (object, world) -> the URL's kwargs
    calls: tuple  # ((method, data or a callable making it), ...)
    county: tuple = ("civil",)  # the county roles that try the other county's object
    api: bool = False
    variant: str = ""  # "parent": the caller's own parent object, the other region's child

    @property
    def key(self) -> str:
        return self.name + (f"#{self.variant}" if self.variant else "")


def pk(o, w):
    return {"pk": o.pk}


def code(o, w):
    return {"code": o.code}


def tr(o, w):
    return {"code": o.region_id, "year": o.year}


def own(key):
    """The caller-independent 'own' parent: A's object (in the township user's and the county
    user's scope alike)."""
    return lambda w: w.objects[key][A]


ROUTES = [
    # accounts
    Route("accounts:user_detail", "user", pk, ((GET, None),), county=("security", "admin", "auditor")),
    Route(
        "accounts:user_edit",
        "user",
        pk,
        ((GET, None), (POST, {"full_name": "改名", "email": ""})),
        county=("admin",),
    ),
    Route(
        "accounts:user_roles", "user", pk, ((GET, None), (POST, {"roles": ["civil"]})), county=("security",)
    ),
    Route("accounts:user_unlock", "user", pk, ((POST, None),), county=("security",)),
    Route("accounts:user_reset_otp", "user", pk, ((POST, None),), county=("security",)),
    Route("user-detail", "user", pk, ((GET, None),), county=("security", "admin", "auditor"), api=True),
    # regions
    Route("regions:detail", "region", code, ((GET, None),), county=("civil", "finance", "security")),
    Route("region-detail", "region", code, ((GET, None),), county=("civil", "finance", "security"), api=True),
    # institutions
    Route("institutions:detail", "institution", pk, ((GET, None),), county=("civil", "health", "finance")),
    Route(
        "institutions:edit",
        "institution",
        pk,
        ((GET, None), (POST, {"name": "改名", "effective": "2026-06-01", "beds_eldercare": "90"})),
        county=("civil",),
    ),
    Route(
        "institutions:status",
        "institution",
        pk,
        ((GET, None), (POST, {"status": "suspended", "effective": "2026-06-01"})),
        county=("civil",),
    ),
    Route("institution-detail", "institution", pk, ((GET, None),), county=("civil", "health"), api=True),
    # imports
    Route("sheets:detail", "import", pk, ((GET, None),), county=("civil", "health")),
    Route("sheets:progress", "import", pk, ((GET, None),), county=("civil",)),
    Route("sheets:annotated", "import", pk, ((GET, None),), county=("civil",)),
    *[
        Route(
            "sheets:action",
            "import",
            lambda o, w, a=action: {"pk": o.pk, "action": a},
            ((POST, {"comment": "退回", "confirm": "yes"}),),
            county=("civil",),
            variant=action,
        )
        for action in ("confirm", "accept", "reject", "abandon", "revert", "revalidate")
    ],
    Route("import-detail", "import", pk, ((GET, None),), county=("civil",), api=True),
    *[
        Route(f"import-{a}", "import", pk, ((POST, {"comment": "退回"}),), county=("civil",), api=True)
        for a in ("confirm", "accept", "reject", "revert")
    ],
    # filings
    Route("workflow:detail", "filing", pk, ((GET, None),), county=("civil", "health")),
    Route(
        "workflow:edit",
        "filing",
        pk,
        ((GET, None), (POST, {"name": "改名", "beds_eldercare": "31"})),
        county=("civil",),
    ),
    Route(
        "workflow:transition",
        "filing",
        pk,
        ((POST, {"action": "approve", "comment": "同意"}), (POST, {"action": "withdraw"})),
        county=("civil",),
    ),
    Route(
        "workflow:attachment_upload",
        "filing",
        pk,
        ((POST, lambda: {"requirement": "application", "file": pdf_upload()}),),
        county=("civil",),
    ),
    Route(
        "workflow:attachment",
        "attachment",
        lambda o, w: {"pk": o.filing_id, "att": o.pk},
        ((GET, None),),
        county=("civil",),
    ),
    Route(
        "workflow:attachment",
        "attachment",
        lambda o, w: {"pk": own("filing")(w).pk, "att": o.pk},
        ((GET, None),),
        county=("civil",),
        variant="parent",
    ),
    Route(
        "workflow:attachment_delete",
        "attachment",
        lambda o, w: {"pk": o.filing_id, "att": o.pk},
        ((POST, None),),
        county=("civil",),
    ),
    Route(
        "workflow:attachment_delete",
        "attachment",
        lambda o, w: {"pk": own("filing")(w).pk, "att": o.pk},
        ((POST, None),),
        county=("civil",),
        variant="parent",
    ),
    Route(
        "workflow:document",
        "document",
        lambda o, w: {"pk": o.filing_id, "doc": o.pk},
        ((GET, None),),
        county=("civil",),
    ),
    Route(
        "workflow:document",
        "document",
        lambda o, w: {"pk": own("filing")(w).pk, "doc": o.pk},
        ((GET, None),),
        county=("civil",),
        variant="parent",
    ),
    Route(
        "workflow:document_pdf",
        "document",
        lambda o, w: {"pk": o.filing_id, "doc": o.pk},
        ((GET, None),),
        county=("civil",),
    ),
    Route(
        "filing-detail",
        "filing",
        pk,
        ((GET, None), (PATCH, {"payload": {"beds_eldercare": 31}})),
        county=("civil", "health"),
        api=True,
    ),
    Route(
        "filing-attachments",
        "filing",
        pk,
        ((POST, lambda: {"requirement": "application", "file": pdf_upload()}),),
        county=("civil",),
        api=True,
    ),
    Route(
        "filing-transitions",
        "filing",
        pk,
        ((POST, {"action": "approve", "comment": "同意"}), (POST, {"action": "withdraw"})),
        county=("civil", "health"),
        api=True,
    ),
    # contracts
    Route("contracts:detail", "contract", pk, ((GET, None),), county=("civil", "health", "finance")),
    Route(
        "contracts:edit",
        "contract",
        pk,
        (
            (GET, None),
            (POST, {"agreement_no": "改号", "mode": "agreement", "start": "2026-01-01", "end": "2028-12-31"}),
        ),
        county=("civil", "health"),
    ),
    Route(
        "contracts:terminate",
        "contract",
        pk,
        ((POST, {"terminated_on": "2026-06-01", "reason": "解除"}),),
        county=("civil",),
    ),
    Route(
        "contracts:visit_add",
        "contract",
        pk,
        ((POST, {"date": "2026-05-06", "persons": "3"}),),
        county=("civil",),
    ),
    Route("contracts:file", "contract", pk, ((POST, None),), county=("civil",)),
    Route(
        "contract-detail",
        "contract",
        pk,
        ((GET, None), (PATCH, {"end": "2028-12-31"})),
        county=("civil", "health"),
        api=True,
    ),
    Route(
        "contract-terminate",
        "contract",
        pk,
        ((POST, {"terminated_on": "2026-06-01", "reason": "解除"}),),
        api=True,
    ),
    Route("contract-visits", "contract", pk, ((POST, {"date": "2026-05-06", "persons": 3}),), api=True),
    Route("contract-file", "contract", pk, ((POST, None),), api=True),
    # subsidies
    Route("subsidies:application_detail", "application", pk, ((GET, None),), county=("civil", "finance")),
    Route(
        "subsidies:application_transition",
        "application",
        pk,
        ((POST, {"action": "accept"}), (POST, {"action": "withdraw"})),
        county=("civil",),
    ),
    Route("subsidies:application_rejudge", "application", pk, ((POST, None),), county=("civil",)),
    Route(
        "subsidies:application_correct", "application", pk, ((POST, {"reason": "更正"}),), county=("civil",)
    ),
    Route("subsidies:application_reconcile", "application", pk, ((POST, None),), county=("finance",)),
    Route("subsidies:application_form", "application", pk, ((GET, None),), county=("civil",)),
    Route("subsidies:application_form_pdf", "application", pk, ((GET, None),), county=("civil",)),
    Route(
        "subsidies:installment_pay",
        "installment",
        lambda o, w: {"pk": o.application_id, "installment": o.pk},
        (
            (
                POST,
                {
                    "paid_on": "2026-06-01",
                    "amount": "10000.00",
                    "voucher_no": "IDOR-1",
                    "payee_account": "6228480000000000001",
                    "funding_source": "county",
                },
            ),
        ),
        county=("finance",),
    ),
    Route(
        "subsidies:installment_pay",
        "installment",
        lambda o, w: {"pk": w.objects["installment"][A].application_id, "installment": o.pk},
        (
            (
                POST,
                {
                    "paid_on": "2026-06-01",
                    "amount": "10000.00",
                    "voucher_no": "IDOR-2",
                    "funding_source": "county",
                },
            ),
        ),
        county=("finance",),
        variant="parent",
    ),
    Route(
        "subsidies:payment_reverse",
        "payment",
        lambda o, w: {"pk": o.installment.application_id, "payment": o.pk},
        ((POST, {"on": "2026-06-01", "voucher_no": "IDOR-R", "reason": "冲正"}),),
        county=("finance",),
    ),
    Route(
        "subsidies:payment_reverse",
        "payment",
        lambda o, w: {"pk": w.objects["installment"][A].application_id, "payment": o.pk},
        ((POST, {"on": "2026-06-01", "voucher_no": "IDOR-R2", "reason": "冲正"}),),
        county=("finance",),
        variant="parent",
    ),
    Route(
        "subsidies:occupancy_entry",
        "institution",
        lambda o, w: {"pk": o.pk, "year": 2026, "month": 5},
        ((GET, None), (POST, {"self_care": "10", "disabled": "5"})),
        county=("civil",),
    ),
    Route(
        "subsidies:resident_unmask",
        "resident",
        pk,
        ((POST, {"reason": "核对补助申请材料"}),),
        county=("civil",),
    ),
    Route(
        "subsidy-application-detail", "application", pk, ((GET, None),), county=("civil", "finance"), api=True
    ),
    Route("subsidy-application-rejudge", "application", pk, ((POST, None),), api=True),
    Route(
        "subsidy-application-transitions",
        "application",
        pk,
        ((POST, {"action": "accept"}), (POST, {"action": "withdraw"})),
        api=True,
    ),
    # township reports
    Route(
        "assessments:township_report",
        "township_report",
        tr,
        ((GET, None), (POST, {"pop60": "1200"})),
        county=("civil", "health"),
    ),
    Route("assessments:township_report_submit", "township_report", tr, ((POST, None),), county=("civil",)),
    Route(
        "assessments:township_report_accept",
        "township_report",
        tr,
        ((POST, None),),
        county=("civil", "health"),
    ),
    Route(
        "assessments:township_report_reopen",
        "township_report",
        tr,
        ((POST, {"reason": "更正"}),),
        county=("health",),
    ),
    Route(
        "township-report-detail",
        "township_report",
        pk,
        ((GET, None), (PATCH, {"values": {"pop60": 1200}})),
        county=("civil", "health"),
        api=True,
    ),
    Route(
        "township-report-transitions",
        "township_report",
        pk,
        (
            (POST, {"action": "submit"}),
            (POST, {"action": "accept"}),
            (POST, {"action": "reopen", "comment": "更正"}),
        ),
        county=("health",),
        api=True,
    ),
    # targets and reports
    Route("assessments:target_delete", "target", pk, ((POST, None),), county=("health",)),
    Route(
        "target-detail",
        "target",
        pk,
        ((GET, None), (PATCH, {"value": "120"}), (DELETE, None)),
        county=("health", "civil"),
        api=True,
    ),
    Route("assessments:report_progress", "report_run", pk, ((GET, None),), county=("health", "civil")),
    Route(
        "assessments:report_drill",
        "region",
        lambda o, w: {"year": 2025, "code": o.code, "indicator": "YL_BEDS"},
        ((GET, None),),
        county=("health", "civil"),
    ),
]
ROUTE_NAMES = {r.name for r in ROUTES}

# URL parameters that are not objects, each with what it is.
NOT_OBJECTS = {
    "sheets:upload": "kind: an import type (institutions, contracts, …) — the upload form",
    "sheets:template": "kind: an import type — the blank template",
}
# Catalogues every region shares (no region of their own): readable by every role that reads
# reports; writes are the health bureau's or the admin's. Their region-bearing arguments (apply
# a template to a region) are tested in test_region_arguments_outside_scope_are_refused.
GLOBAL = {
    "indicator-detail": "assessments.Indicator — the indicator catalogue",
    "target-template-detail": "assessments.TargetTemplate — the five seed documents' targets",
    "target-template-apply": "assessments.TargetTemplate — apply to a region: region argument tested",
    "assessments:template_apply": "assessments.TargetTemplate — apply to a region: region argument tested",
}
EXCLUDED_PREFIXES = {"system/": "the Django admin site: admin role only, 403 for every other role"}

# The models each registered API viewset serves -> the WORLD key building one in A, B and C.
VIEWSET_MODELS = {
    "regions.Region": "region",
    "accounts.User": "user",
    "institutions.Institution": "institution",
    "sheets.ImportBatch": "import",
    "workflow.Filing": "filing",
    "contracts.Contract": "contract",
    "subsidies.Application": "application",
    "assessments.TownshipReport": "township_report",
    "assessments.ReportRow": "report_run",  # rows of a report version (ReportRun): by region argument
    "assessments.Indicator": None,  # GLOBAL
    "assessments.Target": "target",
    "assessments.TargetTemplate": None,  # GLOBAL
}

# (route key, method, role) -> why a 403 is the right answer (the role may never do this, to its
# own objects either; a missing id is 403 as well, so the answer tells nothing).
_ACCOUNTS = (
    "account maintenance is the admin's (accounts.change_user), roles and unlocking the security admin's"
)
_MONEY = "payments, reversals and reconciliation are finance's (subsidies.record_payment)"
LACKS_PERMISSION: dict = {
    ("accounts:user_edit", GET, "township"): _ACCOUNTS,
    ("accounts:user_edit", POST, "township"): _ACCOUNTS,
    ("accounts:user_roles", GET, "township"): _ACCOUNTS,
    ("accounts:user_roles", POST, "township"): _ACCOUNTS,
    ("accounts:user_unlock", POST, "township"): _ACCOUNTS,
    ("accounts:user_reset_otp", POST, "township"): _ACCOUNTS,
    (
        "subsidies:resident_unmask",
        POST,
        "township",
    ): "a full ID number is civil affairs' (subsidies.unmask_resident)",
    ("subsidies:installment_pay", POST, "township"): _MONEY,
    ("subsidies:installment_pay#parent", POST, "township"): _MONEY,
    ("subsidies:payment_reverse", POST, "township"): _MONEY,
    ("subsidies:payment_reverse#parent", POST, "township"): _MONEY,
    ("subsidies:application_reconcile", POST, "township"): _MONEY,
    (
        "subsidies:application_correct",
        POST,
        "township",
    ): "correcting a decision is civil affairs' (change_application)",
    (
        "assessments:township_report_accept",
        POST,
        "township",
    ): "accepting is the county's (accept_townshipreport)",
    (
        "assessments:township_report_reopen",
        POST,
        "township",
    ): "reopening is the county's (accept_townshipreport)",
    ("assessments:target_delete", POST, "township"): "targets are the health bureau's (delete_target)",
    ("target-detail", PATCH, "township"): "targets are the health bureau's (change_target)",
    ("target-detail", DELETE, "township"): "targets are the health bureau's (delete_target)",
    ("target-detail", PATCH, "civil"): "targets are the health bureau's (change_target)",
    ("target-detail", DELETE, "civil"): "targets are the health bureau's (delete_target)",
}


# -- the walk -----------------------------------------------------------------------------------
def _params_of(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return [n for n in pattern.regex.groupindex if n != "format"]


def object_routes() -> dict[str, str]:
    """Every named URL pattern that takes a parameter (other than a format suffix), by its
    name (namespace:name), with its route."""
    found = {}

    def walk(patterns, prefix="", namespace=None):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                walk(p.url_patterns, route, f"{namespace}:{p.namespace}" if namespace and p.namespace else ns)
            elif isinstance(p, URLPattern) and _params_of(p.pattern) and p.name:
                if any(route.startswith(x) for x in EXCLUDED_PREFIXES):
                    continue
                found[f"{namespace}:{p.name}" if namespace else p.name] = route

    walk(get_resolver().url_patterns)
    return found


def test_the_matrix_covers_every_object_route():
    routes = object_routes()
    assert len(routes) > 60, routes  # the walk found the portal
    unknown = sorted(set(routes) - ROUTE_NAMES - set(NOT_OBJECTS) - set(GLOBAL))
    assert not unknown, f"URL patterns naming an object with no row in the IDOR matrix: {unknown}"
    stale = sorted((ROUTE_NAMES | set(NOT_OBJECTS) | set(GLOBAL)) - set(routes))
    assert not stale, f"matrix rows for URL names that no longer exist: {stale}"


def test_the_matrix_builds_every_model_the_api_serves(world):
    from eldercare.urls import router

    served = {
        vs.queryset.model._meta.label
        if vs.queryset is not None
        else vs.serializer_class.Meta.model._meta.label
        for _prefix, vs, _basename in router.registry
    }
    missing = sorted(served - set(VIEWSET_MODELS))
    assert not missing, f"API viewsets serving models the matrix builds nothing of: {missing}"
    for label, key in VIEWSET_MODELS.items():
        if key is not None:
            assert set(world.objects[key]) == {A, B, C}, label
    for r in ROUTES:
        assert set(world.objects[r.model]) == {A, B, C}, r.key


# -- one row of the matrix ----------------------------------------------------------------------
def _cases():
    out = []
    for r in ROUTES:
        for i, (method, _data) in enumerate(r.calls):
            for place in (B, C):
                out.append(
                    pytest.param(r, i, "township", place, id=f"{r.key}:{method}{i}:township->{LABEL[place]}")
                )
            for role in r.county:
                out.append(pytest.param(r, i, role, C, id=f"{r.key}:{method}{i}:{role}->C"))
    return out


def _missing(kwargs: dict) -> dict:
    out = {}
    for k, v in kwargs.items():
        if k in ("year", "month", "action", "indicator"):
            out[k] = v
        elif isinstance(v, int):
            out[k] = MISSING_INT
        else:
            out[k] = MISSING_CODE
    return out


def request(client, r: Route, kwargs: dict, method: str, data):
    url = reverse(r.name, kwargs=kwargs)
    data = data() if callable(data) else data
    if method == GET:
        return client.get(url)
    if r.api:
        multipart = isinstance(data, dict) and any(hasattr(v, "read") for v in data.values())
        if multipart:
            return getattr(client, method)(url, data)
        return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")
    return getattr(client, method)(url, data or {})


def snapshot(obj) -> dict:
    """The object's row and how many rows hang off it (visits, steps, files, payments …)."""
    model = type(obj)
    row = model.objects.filter(pk=obj.pk).values().first()
    related = {}
    for rel in model._meta.related_objects:
        if rel.one_to_many or rel.one_to_one:
            related[rel.name] = rel.related_model._default_manager.filter(**{rel.field.name: obj.pk}).count()
    return {"row": row, "related": related}


RESULTS: dict = {}  # (route key, method, role, place) -> status


@pytest.fixture(scope="module", autouse=True)
def _matrix_table():
    """IDOR_MATRIX_JSON=path: the statuses seen, for docs/security.md."""
    yield
    import os

    if os.environ.get("IDOR_MATRIX_JSON"):
        rows = [[*key, status] for key, status in sorted(RESULTS.items())]
        with open(os.environ["IDOR_MATRIX_JSON"], "w") as fh:
            json.dump(rows, fh, ensure_ascii=False, indent=0)


@pytest.mark.parametrize("route,i,role,place", _cases())
def test_another_regions_object_is_404(world, pages, api, route, i, role, place):
    method, data = route.calls[i]
    client = (api if route.api else pages)(role)
    obj = world.get(route.model, place)
    kwargs = route.kwargs(obj, world)
    before = snapshot(obj)
    resp = request(client, route, kwargs, method, data)
    after = snapshot(obj)
    assert after == before, f"{route.key} {method} changed the other region's object"
    RESULTS[(route.key, method, role, LABEL[place])] = resp.status_code
    if resp.status_code == 404:
        # The control: the same request on the caller's own object (A's, in the township's and
        # the county's scope alike) is not a 404 — the route and its arguments are right.
        mine = request(client, route, route.kwargs(world.get(route.model, A), world), method, data)
        assert mine.status_code != 404, f"{route.key} {method} as {role}: 404 on its own object too"
        return
    # Not 404: only acceptable as the role's permission failing for every object alike.
    missing = request(client, route, _missing(kwargs), method, data)
    mine = request(client, route, route.kwargs(world.get(route.model, A), world), method, data)
    assert (resp.status_code, missing.status_code, mine.status_code) == (403, 403, 403), (
        f"{route.key} {method} as {role} on {LABEL[place]}'s object: {resp.status_code} "
        f"(missing id: {missing.status_code}, own object: {mine.status_code}) — "
        f"{resp.content[:300].decode(errors='replace')}"
    )
    assert (route.key, method, role) in LACKS_PERMISSION, (
        f"{route.key} {method} is 403 for {role} on every object: list it in LACKS_PERMISSION with the reason"
    )


# -- lists, search, filters, exports ------------------------------------------------------------
def foreign_places(role) -> tuple:
    return (B, C) if role == "township" else (C,)


def markers(world, places) -> list[str]:
    """What would show that another region's objects were listed: their names (every object's
    carries its place), the places' codes, the contracts' numbers, the payment vouchers."""
    out = []
    for p in places:
        out += [PLACE[p], p, world.objects["contract"][p].agreement_no, f"{LABEL[p]}-PZ-1"]
        out.append(world.objects["institution"][p].credit_code)
        if p == C:
            out.append(OTHER_COUNTY)
    return out


def text_of(resp) -> str:
    ctype = resp.get("Content-Type", "")
    body = b"".join(resp.streaming_content) if getattr(resp, "streaming", False) else resp.content
    if "spreadsheetml" in ctype:
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(v)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for v in row
            if v is not None
        )
    if "pdf" in ctype:
        return ""  # the PDF's text is the print page's (tested there)
    if "json" in ctype:
        return json.dumps(resp.json(), ensure_ascii=False)
    return body.decode("utf-8", errors="replace")


def assert_hides(world, resp, role, what, echoed=()):
    """`echoed`: the values the request itself sent (a search box shows what was searched)."""
    assert resp.status_code in (200, 302, 400, 403, 404), (what, role, resp.status_code)
    if resp.status_code != 200:
        return
    text = text_of(resp)
    for value in sorted((*echoed, *STATIC_TEXT), key=len, reverse=True):
        text = text.replace(value, "<asked>")
    leaked = [m for m in markers(world, foreign_places(role)) if m in text]
    assert not leaked, f"{what} as {role} shows another region's {leaked}"


# Fixed text that happens to contain a place's code (the import page's example of a township code).
STATIC_TEXT = ("如 370306100000",)
LIST_ROLES = ("township", "civil", "health", "finance", "admin", "security", "auditor")
PAGE_LISTS = [
    "/",
    "/notifications/",
    "/users/",
    "/users/?q=IDOR",
    "/regions/",
    "/regions/?q=IDOR",
    "/institutions/",
    "/institutions/?q=IDOR",
    "/institutions/?q={mark}",
    "/institutions/?region={code}",
    "/imports/",
    "/filings/",
    "/filings/?q={mark}",
    "/filings/?township={code}",
    "/filings/stats/",
    "/contracts/",
    "/contracts/?q={mark}",
    "/contracts/?township={code}",
    "/contracts/coverage/",
    "/contracts/performance/",
    "/subsidies/applications/",
    "/subsidies/applications/?q={mark}",
    "/subsidies/applications/?township={code}",
    "/subsidies/occupancy/",
    "/subsidies/residents/",
    "/subsidies/residents/?q={mark}",
    "/subsidies/duplicates/",
    "/subsidies/liabilities/",
    "/reports/township/",
    "/reports/township/?region={code}",
    "/reports/targets/",
    "/reports/targets/templates/",
    "/reports/",
    "/reports/?year=2025",
]
API_LISTS = [
    "/api/v1/regions/?page_size=500",
    "/api/v1/regions/?under={code}",
    "/api/v1/regions/?parent={code}",
    "/api/v1/users/?page_size=500",
    "/api/v1/institutions/?page_size=500",
    "/api/v1/institutions/?region={code}",
    "/api/v1/institutions/?credit_code={credit}",
    "/api/v1/imports/?page_size=500",
    "/api/v1/filings/?page_size=500",
    "/api/v1/filings/?region={code}",
    "/api/v1/contracts/?page_size=500",
    "/api/v1/contracts/?q={mark}",
    "/api/v1/contracts/?township={code}",
    "/api/v1/contracts/coverage/?page_size=500",
    "/api/v1/subsidies/applications/?page_size=500",
    "/api/v1/township-reports/?page_size=500",
    "/api/v1/township-reports/?region={code}",
    "/api/v1/targets/?page_size=500",
    "/api/v1/targets/?region={code}",
    "/api/v1/reports/attainment/?year=2025&region={code}",
    "/api/v1/targets/resolved/?region={code}",
]


def _fill(url, world, place) -> str:
    return url.format(**_values(world, place))


def _values(world, place) -> dict:
    return {"mark": PLACE[place], "code": place, "credit": world.objects["institution"][place].credit_code}


def _echoed(url, world, place) -> list[str]:
    return [v for k, v in _values(world, place).items() if "{" + k + "}" in url]


@pytest.mark.parametrize("url", PAGE_LISTS)
def test_page_lists_and_search_never_show_another_regions_objects(world, pages, url):
    for role in LIST_ROLES:
        for place in foreign_places(role):
            resp = pages(role).get(_fill(url, world, place))
            assert_hides(world, resp, role, url, _echoed(url, world, place))


@pytest.mark.parametrize("url", API_LISTS)
def test_api_lists_and_filters_never_show_another_regions_objects(world, api, url):
    for role in LIST_ROLES:
        for place in foreign_places(role):
            resp = api(role).get(_fill(url, world, place))
            assert_hides(world, resp, role, url, _echoed(url, world, place))
            if "reports/attainment" in url or "resolved" in url:  # a region outside scope: 404
                perm = "assessments.view_report" if "attainment" in url else "assessments.view_target"
                expected = 404 if world.users[role].has_perm(perm) else 403
                assert resp.status_code == expected, (url, role, resp.status_code)


EXPORTS = [
    ("/institutions/?export=csv&region={code}", ("township", "civil", "health")),
    ("/institutions/?export=xlsx&q={mark}", ("civil", "health")),
    ("/api/v1/institutions/export/?format=csv&region={code}", ("township", "civil", "health")),
    ("/api/v1/institutions/export/?format=xlsx&credit_code={credit}", ("civil",)),
    ("/contracts/export/?format=csv&township={code}", ("township", "civil", "health")),
    ("/contracts/export/?format=xlsx&q={mark}", ("civil",)),
    ("/subsidies/liabilities/export/", ("finance",)),
    ("/reports/export/xlsx/?year=2025&region={code}", ("township", "civil", "health")),
    ("/reports/export/print/?year=2025&region={code}", ("township", "civil", "health")),
    ("/reports/export/pdf/?year=2025&region={code}", ("township", "health")),
    ("/imports/template/institutions.xlsx", ("township", "civil")),
]


@pytest.mark.parametrize("url,roles", EXPORTS)
def test_exports_pointing_at_another_region_leak_nothing(world, pages, api, url, roles):
    for role in roles:
        client = (api if url.startswith("/api/") else pages)(role)
        for place in foreign_places(role):
            resp = client.get(_fill(url, world, place))
            assert_hides(world, resp, role, url, _echoed(url, world, place))
            if "region=" in url and "/reports/" in url:
                if role == "township":  # exporting a report is the county's (export_report)
                    own = client.get(_fill(url, world, A)).status_code
                    assert (resp.status_code, own) == (403, 403), (url, resp.status_code, own)
                else:
                    assert resp.status_code == 404, (url, role, resp.status_code)


def test_the_region_switcher_refuses_another_county_and_views_stay_in_scope(world, pages):
    for role in ("civil", "health", "finance"):
        c = pages(role)
        for code in (C, OTHER_COUNTY, MISSING_CODE):
            resp = c.post("/region/switch/", {"region": code, "next": "/institutions/"})
            assert resp.status_code == 302
            assert "view_region" not in c.session, (role, code)
        # even a session that somehow names the other county is re-checked on every view
        session = c.session
        session["view_region"] = OTHER_COUNTY
        session.save()
        for url in ("/institutions/", "/contracts/", "/subsidies/liabilities/", "/reports/"):
            assert_hides(world, c.get(url), role, url)
        assert_hides(world, c.get("/subsidies/liabilities/export/"), role, "liabilities export")


def _same_refusal(foreign, missing, foreign_ref, missing_ref):
    """The answer naming another region's object is the answer naming one that does not
    exist (the reference itself aside)."""
    assert foreign.status_code == missing.status_code, (foreign.status_code, missing.status_code)
    assert foreign.status_code in (302, 400, 403, 404), foreign.status_code
    f = text_of(foreign).replace(foreign_ref, "<ref>")
    m = text_of(missing).replace(missing_ref, "<ref>")
    assert f == m


def test_region_arguments_outside_scope_are_refused_as_if_missing(world, api, pages):
    from assessments.models import Target, TargetTemplate, TownshipReport
    from contracts.models import Contract
    from eldercare.workflow.models import Filing
    from subsidies.models import Application

    template = TargetTemplate.objects.first()
    counts = lambda: (  # noqa: E731
        Target.objects.count(),
        TownshipReport.objects.count(),
        Contract.objects.count(),
        Filing.objects.count(),
        Application.objects.count(),
    )
    before = counts()
    for role in ("township", "health", "civil"):
        a, p = api(role), pages(role)
        for place in foreign_places(role):
            home, hosp = world.objects["institution"][place], world.objects["hospital"][place]
            own_home = world.objects["institution"][A]
            calls = [
                # (client, method, url, data with {ref}, the foreign reference, a missing one)
                (
                    a,
                    "post",
                    "/api/v1/township-reports/",
                    {"region": "{ref}", "year": 2024},
                    place,
                    MISSING_CODE,
                ),
                (
                    a,
                    "post",
                    "/api/v1/targets/",
                    {"indicator": "YL_BEDS", "region": "{ref}", "year": 2024, "value": "5"},
                    place,
                    MISSING_CODE,
                ),
                (
                    a,
                    "post",
                    f"/api/v1/target-templates/{template.pk}/apply/",
                    {"region": "{ref}", "dry_run": True},
                    place,
                    MISSING_CODE,
                ),
                (
                    a,
                    "post",
                    "/api/v1/filings/",
                    {"type": "internal_medical", "institution": "{ref}"},
                    home.credit_code,
                    "52370306MJD6009999",
                ),
                (
                    a,
                    "post",
                    "/api/v1/subsidies/applications/",
                    {"institution": "{ref}", "rule": "operation", "year": 2025},
                    home.credit_code,
                    "52370306MJD6009999",
                ),
                (
                    a,
                    "post",
                    "/api/v1/contracts/",
                    {
                        "agreement_no": "X-1",
                        "eldercare": "{ref}",
                        "medical": hosp.credit_code,
                        "mode": "agreement",
                        "start": "2026-01-01",
                        "end": "2026-12-31",
                    },
                    home.credit_code,
                    "52370306MJD6009999",
                ),
                (
                    a,
                    "post",
                    "/api/v1/contracts/",
                    {
                        "agreement_no": "X-1",
                        "eldercare": own_home.credit_code,
                        "medical": "{ref}",
                        "mode": "agreement",
                        "start": "2026-01-01",
                        "end": "2026-12-31",
                    },
                    hosp.credit_code if place == C else "skip",
                    "12370306MB28573999",
                ),
                (p, "get", "/regions/?parent={ref}", None, place, MISSING_CODE),
                (p, "get", "/reports/targets/?region={ref}", None, place, MISSING_CODE),
                (
                    p,
                    "post",
                    "/reports/targets/set/",
                    {"region": "{ref}", "indicator": "YL_BEDS", "year": "2024", "value": "5"},
                    place,
                    MISSING_CODE,
                ),
                (
                    p,
                    "post",
                    f"/reports/targets/templates/{template.pk}/apply/",
                    {"region": "{ref}"},
                    place,
                    MISSING_CODE,
                ),
                (p, "get", "/reports/?year=2025&region={ref}", None, place, MISSING_CODE),
            ]
            for client, method, url, data, ref, missing_ref in calls:
                if ref == "skip":  # the medical party may be anywhere in the home's county (CONTRACT.md)
                    continue
                resps = []
                for r in (ref, missing_ref):
                    u = url.replace("{ref}", r)
                    d = json.loads(json.dumps(data).replace("{ref}", r)) if data is not None else None
                    if method == "get":
                        resps.append(client.get(u))
                    elif client is a:
                        resps.append(client.post(u, json.dumps(d), content_type="application/json"))
                    else:
                        resps.append(client.post(u, d))
                _same_refusal(*resps, ref, missing_ref)
    assert counts() == before


def test_bulk_actions_skip_another_regions_objects(world, pages):
    """受理 and 审核 several at once: another county's submitted filing and report are left as
    they are, and the filing is reported exactly as an id that does not exist."""
    from django.contrib.messages import get_messages

    from assessments import township_reports
    from assessments.models import TownshipReport
    from eldercare.workflow import services as wf
    from eldercare.workflow.models import Filing
    from tests.factories import ready_filing

    town_c = world.users["town_c"]
    payload = {"name": f"{PLACE[C]}批量", "type": "community_center", "beds_eldercare": 20}
    filing = ready_filing(town_c, "eldercare", None, {**payload, "credit_code": credit(399, "52")})
    filing = wf.filing_transition(actor=town_c, filing=filing, action="submit")
    report = world.get("township_report", C)
    township_reports.report_submit(actor=town_c, report=report)
    for role in ("civil", "health"):
        said = []
        for pk in (filing.pk, MISSING_INT):
            resp = login(Client(), world.users[role]).post("/filings/bulk-accept/", {"ids": [pk]})
            assert resp.status_code == 302
            said.append([str(m).replace(str(pk), "<id>") for m in get_messages(resp.wsgi_request)])
        assert said[0] == said[1], said
        assert (
            pages(role).post("/reports/township/accept/", {"year": "2025", "report": [report.pk]}).status_code
            == 302
        )
    assert Filing.objects.get(pk=filing.pk).status == "submitted"
    assert TownshipReport.objects.get(pk=report.pk).status == "submitted"


def test_the_audit_trail_is_the_auditors_only(world, pages):
    """The one list not scoped by region, by decision (docs/adr/0005-audit-storage.md: "an auditor
    sees every event of the deployment"): every other role is refused it."""
    for role in ("township", "health", "civil", "finance", "admin", "security"):
        assert pages(role).get("/audit/").status_code == 403, role
    assert PLACE[C] in text_of(pages("auditor").get("/audit/?object=IDOR"))


def test_the_markers_show_what_is_in_scope(world, pages, api):
    """The control of the list tests: the same markers do show the caller's own region's objects
    (so their absence above means something)."""
    checks = [
        ("township", pages, "/institutions/", PLACE[A]),
        ("township", pages, "/contracts/", world.objects["contract"][A].agreement_no),
        ("township", pages, "/filings/", PLACE[A]),
        ("township", pages, "/subsidies/applications/", PLACE[A]),
        ("township", pages, "/subsidies/residents/", PLACE[A]),
        ("township", pages, "/users/", PLACE[A]),
        ("township", pages, "/imports/", PLACE[A]),
        ("civil", pages, "/institutions/?q=IDOR", PLACE[B]),
        ("civil", pages, "/contracts/", world.objects["contract"][B].agreement_no),
        ("finance", pages, "/subsidies/applications/", PLACE[B]),
        ("township", api, "/api/v1/institutions/?page_size=500", world.objects["institution"][A].credit_code),
        ("township", api, "/api/v1/contracts/", world.objects["contract"][A].agreement_no),
        ("township", api, "/api/v1/township-reports/", A),
        ("township", api, "/api/v1/targets/", A),
        ("civil", api, "/api/v1/filings/?page_size=500", PLACE[B]),
        ("civil", api, "/api/v1/regions/?page_size=500", B),
        ("civil", pages, "/institutions/?export=csv", PLACE[B]),
        ("civil", pages, "/contracts/export/?format=xlsx", PLACE[B]),
    ]
    for role, client, url, marker in checks:
        resp = client(role).get(url)
        assert resp.status_code == 200 and marker in text_of(resp), (role, url, resp.status_code)


def _import_sheets(world, place) -> dict[str, str]:
    """One row per kind naming `place`'s objects (or, for None, objects that do not exist)."""
    W = world.objects
    home = W["institution"][place].credit_code if place else "52370306MJD6009999"
    hosp = W["hospital"][place].credit_code if place else "12370306MB28573999"
    agreement = W["contract"][place].agreement_no if place else "NO-1"
    return {
        "contracts": "协议编号,医疗机构信用代码,养老机构信用代码,合作方式,开始日期,结束日期\n"
        f"IDOR-9,{W['hospital'][A].credit_code},{home},签约合作,2026-01-01,2026-12-31\n",
        "occupancy": f"养老机构信用代码,年月,自理入住床位数,失能入住床位数\n{home},2026-05,3,2\n",
        "residents": f"养老机构信用代码,姓名,身份证号,能力等级,入住日期\n{home},王五,370306194501021237,轻度失能,2026-01-05\n",
        "visits": f"医疗机构信用代码,协议编号,巡诊日期,服务人次\n{hosp},{agreement},2026-05-06,3\n",
    }, (home, hosp)


# The deliberate exception (contracts/sheet_kind.py: "another township's home is 'outside your
# scope' while one of another county is simply not found"; tests/integration/test_contract_import.py
# and test_subsidy_imports.py hold it): a township's sheet naming a home of another township of
# its own county is told so — the county's registry is looked up by exact code, as the medical
# party of a contract is (CONTRACT.md). Nothing of the home (name, figures) is shown.
IN_COUNTY_MESSAGE = {
    "contracts": "该养老机构不在您的管辖范围内，不能导入其签约协议。",
    "occupancy": "该养老机构不在您的管辖范围内。",
    "residents": "该养老机构不在您的管辖范围内。",
    "visits": "该协议的养老机构不在您的管辖范围内，不能导入其巡诊记录。",
}


def test_import_lookups_see_only_the_uploaders_scope(world):
    """SECURITY.md: import lookups are scoped. Another county's objects are refused exactly as
    ones that do not exist; another township's (same county) with IN_COUNTY_MESSAGE only; a
    registered credit code is never re-registered elsewhere (the unique key's own refusal, the
    same wherever it is registered)."""
    from eldercare.sheets import engine

    def run(actor, kind, text, refs):
        batch = engine.start_import(
            actor=actor, kind=kind, data=text.encode(), filename="c.csv", dry_run=True, inline=True
        )
        messages = [e["message"] for e in batch.get_report()["errors"]]
        for ref in refs:  # the reference itself, and as the residents sheet masks it
            messages = [
                m.replace(ref, "<ref>").replace(ref[:4] + "*" * 10 + ref[-4:], "<ref>") for m in messages
            ]
        return batch.status, batch.created + batch.updated, messages

    for actor, places in ((world.users["township"], (B, C)), (world.users["civil"], (C,))):
        missing_sheets, missing_refs = _import_sheets(world, None)
        for place in places:
            sheets, refs = _import_sheets(world, place)
            for kind, text in sheets.items():
                got = run(actor, kind, text, refs)
                if place == B:
                    assert got == ("invalid", 0, [IN_COUNTY_MESSAGE[kind]]), (kind, got)
                else:
                    assert got == run(actor, kind, missing_sheets[kind], missing_refs), (actor, kind, got)
    registered = []
    for place in (B, C):
        code = world.objects["institution"][place].credit_code
        sheet = f"机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码\n新名字,{code},养老服务机构,养老院,{A}\n"
        registered.append(run(world.users["township"], "institutions", sheet, [code]))
    assert registered[0] == registered[1] and registered[0][0] == "invalid", registered
    assert not any(PLACE[p] in m for p in (B, C) for m in registered[0][2])
