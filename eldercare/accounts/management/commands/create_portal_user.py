"""create_portal_user USERNAME --role ROLE --region CODE --password PW (CONTRACT.md).

Idempotent: an existing user (case-insensitive username) is updated. Runs as the system actor
and is audited as such. Users it creates are exempt from the role-enforced second factor
(CONTRACT.md) unless the deployment enforces two-factor for all; the security administrator
can clear the exemption ("reset second factor")."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from eldercare.accounts import roles as role_defs
from eldercare.accounts import services
from eldercare.accounts.scope import SYSTEM


class Command(BaseCommand):
    help = "Create or update a portal user with one role and a region scope."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=role_defs.ROLE_CODES)
        parser.add_argument("--region", required=True, help="12-digit region code")
        parser.add_argument("--password", required=True)
        parser.add_argument("--full-name", default=None)
        parser.add_argument("--email", default=None)

    def handle(self, username, role, region, password, full_name, email, **options):
        from eldercare.accounts.models import User

        creating = not User.objects.filter(username__iexact=username.strip()).exists()
        try:
            with transaction.atomic():
                user = services.user_save(
                    actor=SYSTEM,
                    username=username,
                    region=region,
                    password=password,
                    full_name=full_name,
                    email=email,
                    is_active=True,
                    # Only a new account is exempt: re-running the command must not undo a
                    # security administrator's "reset second factor".
                    otp_exempt=True if creating else None,
                )
                services.user_set_roles(actor=SYSTEM, user=user, roles={role})
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc
        self.stdout.write(f"{user.username} role={role} region={user.region_id}")
