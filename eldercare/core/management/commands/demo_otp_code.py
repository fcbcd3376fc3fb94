"""Print the current TOTP code of the demo administrators' shared demo secret. Works only for
the demo secret, so it reveals nothing about real users' devices."""

from django.core.management.base import BaseCommand
from django_otp.oath import totp

from .load_demo import DEMO_TOTP_HEX


class Command(BaseCommand):
    help = "Current TOTP code for the demo admin01/security01/auditor01 accounts."

    def handle(self, **options):
        self.stdout.write(f"{totp(bytes.fromhex(DEMO_TOTP_HEX)):06d}")
