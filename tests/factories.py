"""Test data builders (factory_boy) and login helpers."""

from pathlib import Path

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from eldercare.accounts import services
from eldercare.accounts.models import User
from eldercare.accounts.scope import SYSTEM
from eldercare.regions import codes
from eldercare.regions.models import Region

PASSWORD = "Yiyang@2026"
TOTP_HEX = "3132333435363738393031323334353637383930"

TREE = [
    ("370000000000", "山东省", None),
    ("370300000000", "淄博市", "370000000000"),
    ("370306000000", "周村区", "370300000000"),
    ("370306001000", "丝绸路街道", "370306000000"),
    ("370306001001", "银子社区", "370306001000"),
    ("370306001002", "绣花社区", "370306001000"),
    ("370306100000", "北郊镇", "370306000000"),
    ("370306100201", "李家村", "370306100000"),
    ("370306100202", "王家村", "370306100000"),
    ("370307000000", "邻县", "370300000000"),
    ("370307001000", "邻县城关街道", "370307000000"),
]


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"3799{n:02d}000000")
    name = factory.Sequence(lambda n: f"测试区划{n}")
    level = factory.LazyAttribute(lambda o: codes.level_of(o.code))


def make_tree() -> dict[str, Region]:
    out = {}
    for code, name, parent in TREE:
        out[code] = RegionFactory(code=code, name=name, parent_id=parent)
    return out


def make_user(
    username: str, role: str | None, region: str = "370306000000", *, password: str = PASSWORD, **kw
) -> User:
    user = services.user_save(
        actor=SYSTEM, username=username, region=region, password=password, is_active=True, **kw
    )
    if role:
        services.user_set_roles(actor=SYSTEM, user=user, roles={role})
    user.refresh_from_db()
    return user


def totp_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test", key=TOTP_HEX, confirmed=True)


def current_code(device=None) -> str:
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(TOTP_HEX)):06d}"


def login(client, user):
    """Signed in as `user`, with the second factor verified where it is required."""
    client.force_login(user)
    if user.otp_required:
        device = totp_device(user)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


# The keys of `import_sheet --json` and of the API's summary (CONTRACT.md).
IMPORT_SUMMARY_KEYS = {
    "kind",
    "rows_total",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "committed",
    "pending_acceptance",
    "errors",
    "warnings",
}


# -- filings (issue 4) ----------------------------------------------------------------------------
FILING_FIXTURES = Path(__file__).parent / "fixtures" / "filings"


def make_hospital(name="北郊镇卫生院", region="370306100000", credit_code="12370306MB2857321M", **extra):
    from eldercare.accounts.scope import SYSTEM
    from institutions import services as registry

    facts = {"name": name, "type": "township_hc", "region": region, "ownership": "public", "beds_medical": 60}
    return registry.institution_create(
        actor=SYSTEM, family="medical", credit_code=credit_code, facts={**facts, **extra}
    )


def make_home(name="北郊镇敬老院", region="370306100000", credit_code="52370306MJD600087D", **extra):
    from eldercare.accounts.scope import SYSTEM
    from institutions import services as registry

    facts = {
        "name": name,
        "type": "elder_home",
        "region": region,
        "ownership": "public",
        "beds_eldercare": 80,
    }
    return registry.institution_create(
        actor=SYSTEM, family="eldercare", credit_code=credit_code, facts={**facts, **extra}
    )


def upload(name: str, content_name: str | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(content_name or name, (FILING_FIXTURES / name).read_bytes())


RUN_BY_PAYLOAD = {
    "mode": "establish",
    "name": "北郊镇卫生院医养中心",
    "type": "care_home",
    "beds_eldercare": 40,
}


def ensure_filing_types():
    """The shipped filing types (data migration 0003): a transaction=True test's flush removes
    them, so such tests (threads, the browser) put them back."""
    import importlib

    from eldercare.workflow.models import FilingType

    shipped = importlib.import_module("eldercare.workflow.migrations.0003_filing_types").TYPES
    for t in shipped:
        FilingType.objects.get_or_create(code=t["code"], defaults={k: v for k, v in t.items() if k != "code"})


def ensure_assessment_catalogue():
    """The shipped indicator catalogue and target templates (data migrations 0002, 0003): put
    back after a transaction=True test's flush (idempotent)."""
    from assessments import catalogue, templates_data

    catalogue.install()
    templates_data.install()


def ready_filing(actor, type_code: str, institution=None, payload=None, region=None):
    """A draft with its payload and every required attachment: ready to submit."""
    from eldercare.workflow import services as wf
    from eldercare.workflow.models import FilingType

    ensure_filing_types()
    ftype = FilingType.objects.get(code=type_code)
    filing = wf.filing_create(
        actor=actor, type=ftype, institution=institution, payload=payload or {}, region=region
    )
    for req in ftype.attachments:
        if req.get("required"):
            wf.attachment_add(
                actor=actor, filing=filing, requirement=req["code"], uploaded=upload("application.pdf")
            )
    return filing


def at(monkeypatch, day, hour: int = 10):
    """Freeze the portal's idea of now (services, pages, the live server: one process) at `hour`
    o'clock Asia/Shanghai on `day`."""
    import datetime

    import django.utils.timezone as tz

    moment = tz.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))
    monkeypatch.setattr(tz, "now", lambda: moment)


def csrf_client(user):
    """A signed-in test client that enforces CSRF like a browser."""
    from django.test import Client

    return login(Client(enforce_csrf_checks=True), user)


def page_token(resp) -> str:
    import re

    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', resp.content.decode())
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_form(client, page_url, url, data=None, follow=False):
    """GET the page (as a browser would), then POST its form with the page's CSRF token."""
    page = client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": page_token(page)}, follow=follow)
