"""Test data builders (factory_boy) and login helpers."""

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
