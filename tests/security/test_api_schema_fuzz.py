"""schemathesis against `/api/schema/`, once per role (issue 8, SECURITY.md "security gates").

The portal's own OpenAPI description, fuzzed against the Django app in process (WSGI: every
request sees the test database's transaction) with each role's token from
`POST /api/v1/auth/token/` (and the second factor for admin, security and auditor), over a small
seeded county: the region tree, institutions in two townships and the neighbouring county,
contracts, filings, subsidy applications, township reports, targets, a computed report and an
import batch. One test item per operation and role.

Every answer must be: not a 5xx, a status code the schema documents for that operation, in the
documented content type, with a body matching the documented response schema. A mismatch is a
bug of the API or of its annotations — fixed there, never excluded here.

How it is bounded (the file runs in a few minutes on two cores): 10 examples per operation and
role (valid and invalid data), a fixed seed, derandomized, no example database; schemathesis's
coverage phase and stateful links are off. Half of the generated path parameters and body
references are swapped for real ids and codes (hooks below), or nearly every detail, write and
workflow call would only meet a 404. Writes and DELETE are fuzzed like the rest: each test item
runs in a savepoint of the module's seeded transaction, rolled back after it.

The schema is built at collection (drf-spectacular's generator, as SpectacularAPIView calls it)
rather than through `schemathesis.pytest.from_fixture`: the lazy loader of schemathesis 4.32
reads pytest's `Node._nodeid`, which pytest 9.2 no longer has. test_the_served_schema_is_the_one_fuzzed
loads `/api/schema/` with `schemathesis.openapi.from_wsgi` for every role and proves it is the
same document.
"""

from __future__ import annotations

import datetime
import json
from contextlib import ExitStack

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import PASSWORD, current_code, totp_device

D = datetime.date

# role -> the region its user is scoped to (a township user in 丝绸路街道, the rest county-level)
ROLES = {
    "health": "370306000000",
    "civil": "370306000000",
    "township": "370306001000",
    "finance": "370306000000",
    "admin": "370306000000",
    "auditor": "370306000000",
    "security": "370306000000",
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 10
SEED = 20260601


def seed_county():
    """The hand-checked county of the report tests (tests/report_fixtures.py) and, around it,
    one of every other object the API serves, some of them outside the township user's scope
    (北郊镇) or every county user's (邻县)."""
    from assessments import compute
    from assessments.models import ReportRun
    from eldercare.sheets import engine
    from eldercare.workflow import services as wf
    from subsidies import services as subsidies
    from tests.factories import (
        RUN_BY_PAYLOAD,
        ensure_assessment_catalogue,
        ensure_filing_types,
        make_home,
        make_tree,
        make_user,
        ready_filing,
    )
    from tests.report_fixtures import build_county, code

    make_tree()
    ensure_filing_types()
    ensure_assessment_catalogue()
    with pytest.MonkeyPatch.context() as mp:
        homes = build_county(mp)  # freezes "today" at 2026-06-01 while it builds
    make_home(name="邻县敬老院", region="370307001000", credit_code=code("99"), opened_on=D(2020, 1, 1))
    users = {
        role: make_user(f"fuzz_{role}", role, region, full_name=f"{role} 用户")
        for role, region in ROLES.items()
    }
    town, town_b = users["township"], make_user("fuzz_town_b", "township", "370306100000")
    # filings: the township's draft, and 北郊镇's submitted one
    ready_filing(town, "eldercare", institution=homes["h1"], payload={})
    hospital = type(homes["h1"]).objects.filter(family="medical", region_id="370306100000").first()
    submitted = ready_filing(town_b, "medical_runs_eldercare", institution=hospital, payload=RUN_BY_PAYLOAD)
    wf.filing_transition(actor=town_b, filing=submitted, action="submit")
    # subsidy applications: the township's draft and submitted ones, and civil affairs' own
    subsidies.application_create(actor=town, institution=homes["h1"], rule="operation", year=2025)
    app = subsidies.application_create(actor=town, institution=homes["h2"], rule="operation", year=2025)
    wf.filing_transition(actor=town, filing=app.filing_id, action="submit")
    subsidies.application_create(
        actor=users["civil"], institution=homes["h2"], rule="construction_conversion", beds=10
    )
    # an import batch: the township's dry run
    csv = "区划代码,年度,60岁以上常住老年人数\n370306001000,2026,1200\n".encode()
    engine.start_import(
        actor=town, kind="township_reports", data=csv, filename="年报.csv", dry_run=True, inline=True
    )
    # a computed report for 2025
    r = ReportRun.objects.create(year=2025, root_id="370306000000", evaluated_on=compute.evaluation_day(2025))
    compute.run_inline(r)
    return users


def token_of(user) -> str:
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
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """One seeded county for the whole module, in a transaction rolled back at its end (each
    role's run nests in it, as a savepoint of its own)."""
    with ExitStack() as stack:
        stack.enter_context(django_db_blocker.unblock())
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        from django.conf import settings

        mp.setattr(settings, "PORTAL_UPLOAD_ROOT", str(tmp_path_factory.mktemp("uploads")))
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            users = seed_county()
            remember_known()
            yield {role: token_of(u) for role, u in users.items()}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(params=list(ROLES))
def role(request):
    return request.param


@pytest.fixture
def in_process_wsgi():
    """Django's WSGI handler closes the database connection after each request (as a server
    must); the test client does not, and neither may this one: the test's transaction lives on
    that connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schema.app
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def served_schema() -> dict:
    """What `/api/schema/` serves (drf-spectacular's generator, as SpectacularAPIView calls it),
    built at collection so schemathesis can make one test item per operation; the test below
    proves the served document is this one, for every role."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    spec = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(spec, renderer_context={}))


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
SPEC = served_schema()
schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)
schema.app = get_wsgi_application()


# -- reaching real objects --------------------------------------------------------------------
# Random ids and codes almost never name a seeded object, so every detail, write and workflow
# operation would only ever meet 404s and 400s. Half of the generated path parameters and of the
# references in request bodies are swapped for real ones (in the caller's scope and outside it),
# drawn from what the seed created.
KNOWN: dict[str, list] = {}
RESOURCES = {  # path prefix under /api/v1/ -> (model, the path parameter's field)
    "regions": ("regions.Region", "code"),
    "users": ("accounts.User", "pk"),
    "institutions": ("institutions.Institution", "pk"),
    "imports": ("sheets.ImportBatch", "pk"),
    "filings": ("workflow.Filing", "pk"),
    "contracts": ("contracts.Contract", "pk"),
    "subsidies": ("subsidies.Application", "pk"),
    "township-reports": ("assessments.TownshipReport", "pk"),
    "indicators": ("assessments.Indicator", "code"),
    "targets": ("assessments.Target", "pk"),
    "target-templates": ("assessments.TargetTemplate", "pk"),
}
BODY_REFS = {  # body field -> what real values it takes
    "institution": "credit_codes",
    "eldercare": "credit_codes",
    "medical": "credit_codes",
    "region": "region_codes",
    "indicator": "indicator_codes",
    "type": "filing_types",
}


def remember_known():
    from django.apps import apps

    for prefix, (label, field) in RESOURCES.items():
        KNOWN[prefix] = list(apps.get_model(label).objects.order_by(field).values_list(field, flat=True)[:30])
    Institution = apps.get_model("institutions.Institution")
    KNOWN["credit_codes"] = sorted(c for c in Institution.objects.values_list("credit_code", flat=True) if c)
    KNOWN["region_codes"] = KNOWN["regions"]
    KNOWN["indicator_codes"] = KNOWN["indicators"]
    KNOWN["filing_types"] = sorted(
        apps.get_model("workflow.FilingType").objects.values_list("code", flat=True)
    )


def _resource(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/")[0]


@schema.hook
def before_generate_path_parameters(context, strategy):
    from hypothesis import strategies as st

    prefix, names = _resource(context.operation.path), context.operation.path_parameters
    name = next((p.name for p in names), None)
    if prefix not in RESOURCES or name is None:
        return strategy

    def real():
        values = KNOWN.get(prefix) or []
        return st.sampled_from([{name: v} for v in values]) if values else strategy

    return st.one_of(strategy, st.deferred(real))


@schema.hook
def before_generate_body(context, strategy):
    from hypothesis import strategies as st

    def swap(body):
        if not isinstance(body, dict):
            return st.just(body)
        keys = [k for k in body if k in BODY_REFS and KNOWN.get(BODY_REFS[k])]
        if not keys:
            return st.just(body)
        return st.fixed_dictionaries({k: st.sampled_from(KNOWN[BODY_REFS[k]]) for k in keys}).map(
            lambda real: {**body, **real}
        )

    return st.one_of(strategy, strategy.flatmap(swap))


@pytest.fixture
def auth(seeded, role, db, in_process_wsgi) -> dict:
    return {"Authorization": f"Token {seeded[role]}"}


def test_the_served_schema_is_the_one_fuzzed(seeded, role, db, in_process_wsgi):
    loaded = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", in_process_wsgi, headers={"Authorization": f"Token {seeded[role]}"}
    )
    assert loaded.raw_schema == SPEC
    assert len(list(loaded.get_all_operations())) > 40


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_answers_as_documented(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)
