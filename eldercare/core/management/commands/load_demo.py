"""load_demo: the demo county's regions and one user per role (CONTRACT.md). Idempotent.
Grows with each capability. Refuses to run under production settings: production has no
shared or default users (SECURITY.md)."""

import base64
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from eldercare.accounts import services
from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action
from eldercare.audit.services import record_bulk
from eldercare.core.demo import regions as demo_regions
from eldercare.regions import codes
from eldercare.regions.models import Region

DEMO_PASSWORD = "Yiyang@2026"  # noqa: S105  # nosec B105  # published demo password, refused outside DEBUG
# Fixed TOTP secret for the demo administrators only, so a tester can sign in (20 bytes).
DEMO_TOTP_HEX = "3132333435363738393031323334353637383930"
TOWNSHIP_CODE = "370306001000"

DEMO_USERS = [
    ("health01", "health", demo_regions.COUNTY[0], "卫健局 王建华"),
    ("civil01", "civil", demo_regions.COUNTY[0], "民政局 李秀英"),
    ("township01", "township", TOWNSHIP_CODE, "丝绸路街道 张敏"),
    ("township02", "township", "370306100000", "北郊镇 刘强"),
    ("finance01", "finance", demo_regions.COUNTY[0], "财政局 陈静"),
    ("admin01", "admin", demo_regions.COUNTY[0], "系统管理员 赵磊"),
    ("security01", "security", demo_regions.COUNTY[0], "安全管理员 孙伟"),
    ("auditor01", "auditor", demo_regions.COUNTY[0], "审计管理员 周丽"),
]


class Command(BaseCommand):
    help = "Load the demo county (regions, one user per role). Idempotent; not for production."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, quiet_logins=False, **options):
        # Demo users have a published password and TOTP secret: only on a DEBUG (development)
        # deployment, or where an operator says so explicitly for a demonstration server.
        if not (settings.DEBUG or os.environ.get("PORTAL_ALLOW_DEMO") == "1"):
            raise CommandError("load_demo is for development and demonstration databases only.")
        # The demo computes its reports once at the end; its own writes must not each ask for one.
        auto, settings.PORTAL_REPORTS_AUTO_RECOMPUTE = settings.PORTAL_REPORTS_AUTO_RECOMPUTE, False
        try:
            self._load(quiet_logins)
        finally:
            settings.PORTAL_REPORTS_AUTO_RECOMPUTE = auto

    def _load(self, quiet_logins):
        with transaction.atomic():
            created = self._regions()
            self._users()
            new_institutions = self._institutions()
            from eldercare.core.demo import contracts as demo_contracts
            from eldercare.core.demo import filings as demo_filings

            filings = demo_filings.load()
            contracts = demo_contracts.load()
            from eldercare.core.demo import subsidies as demo_subsidies

            applications = demo_subsidies.load()
            from eldercare.core.demo import assessments as demo_assessments

            township_reports = demo_assessments.load()
        from assessments.models import ReportRun, RunStatus

        if not ReportRun.objects.filter(status=RunStatus.COMPLETE).exists():
            runs = demo_assessments.compute()
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo attainment reports: "
                    + ", ".join(f"{r.year} (#{r.pk}, {r.runtime_ms} ms)" for r in runs)
                    + "."
                )
            )
        from institutions.models import Institution

        self.stdout.write(self.style.SUCCESS(f"Demo regions: {Region.objects.count()} ({created} new)."))
        self.stdout.write(
            self.style.SUCCESS(f"Demo institutions: {Institution.objects.count()} ({new_institutions} new).")
        )
        if filings:
            self.stdout.write(self.style.SUCCESS(f"Demo filings: {filings}."))
        if contracts:
            self.stdout.write(self.style.SUCCESS(f"Demo contracts: {contracts}."))
        if applications:
            self.stdout.write(self.style.SUCCESS(f"Demo subsidy applications: {applications}."))
        if township_reports:
            self.stdout.write(self.style.SUCCESS(f"Demo township reports: {township_reports}."))
        if not quiet_logins:
            self._print_logins()

    def _regions(self) -> int:
        existing = set(Region.objects.values_list("code", flat=True))
        new = [
            Region(code=code, name=name, level=codes.level_of(code), parent_id=parent)
            for code, name, parent in demo_regions.tree()
            if code not in existing
        ]
        Region.objects.bulk_create(new, batch_size=500)
        if new:
            record_bulk(SYSTEM, Region, count=len(new), action=Action.CREATE, detail={"source": "load_demo"})
        return len(new)

    def _users(self):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for username, role, region, full_name in DEMO_USERS:
            user = services.user_save(
                actor=SYSTEM,
                username=username,
                region=region,
                full_name=full_name,
                is_active=True,
                password=DEMO_PASSWORD if not self._has_usable_password(username) else None,
            )
            if user.roles != {role}:
                services.user_set_roles(actor=SYSTEM, user=user, roles={role})
            if (
                role in settings.PORTAL_OTP_REQUIRED_ROLES
                and not TOTPDevice.objects.filter(user=user).exists()
            ):
                TOTPDevice.objects.create(user=user, name="演示认证器", key=DEMO_TOTP_HEX, confirmed=True)

    def _institutions(self) -> int:
        """Idempotent: an institution already present (by code or by village + name) is left alone."""
        from eldercare.core.demo import institutions as demo
        from institutions import services as inst_services
        from institutions.models import Institution

        existing = set(Institution.objects.values_list("name", flat=True))
        new = 0
        for item in demo.medical():
            if item["name"] in existing:
                continue
            item = dict(item)
            no_code = item.pop("no_code", False)
            dept, cat = item.pop("code_dept", "1"), item.pop("code_cat", "2")
            code = "" if no_code else demo.credit_code(item["name"], dept, cat)
            inst_services.institution_create(
                actor=SYSTEM,
                family="medical",
                credit_code=code,
                facts={**item, "status": "operating", "opened_on": demo.OPENED},
            )
            new += 1
        by_name = {i.name: i for i in Institution.objects.filter(family="medical")}
        for name, type_, suffix, ownership, beds, nursing, unit, run_by in demo.ELDERCARE:
            if name in existing:
                continue
            inst_services.institution_create(
                actor=SYSTEM,
                family="eldercare",
                credit_code=by_name[run_by].credit_code if run_by else demo.credit_code(name, "5", "2"),
                facts={
                    "name": name,
                    "type": type_,
                    "region": f"370306{suffix}000",
                    "ownership": ownership,
                    "beds_eldercare": beds,
                    "beds_nursing": nursing,
                    "internal_unit": unit,
                    "run_by": by_name[run_by].pk if run_by else None,
                    "status": "operating",
                    "opened_on": demo.OPENED,
                    "caregivers": max(beds // 8, 2),
                    "nurses": 2 if unit != "none" else 0,
                },
            )
            new += 1
        inst_services.refresh_warning_codes()
        return new

    @staticmethod
    def _has_usable_password(username):
        from eldercare.accounts.models import User

        user = User.objects.filter(username__iexact=username).first()
        return bool(user and user.has_usable_password())

    def _print_logins(self):
        secret = base64.b32encode(bytes.fromhex(DEMO_TOTP_HEX)).decode()
        self.stdout.write("")
        self.stdout.write(f"演示账号 / Demo logins (password 密码: {DEMO_PASSWORD})")
        for username, role, region, full_name in DEMO_USERS:
            self.stdout.write(f"  {username:<12} {role:<9} {region}  {full_name}")
        self.stdout.write(
            f"admin01 / security01 / auditor01 需要动态口令 (TOTP secret {secret}); "
            "当前口令 current code: python manage.py demo_otp_code"
        )
