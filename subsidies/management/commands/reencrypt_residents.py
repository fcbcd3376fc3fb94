"""reencrypt_residents [--dry-run] [--batch-size N]

After rotating `PORTAL_ID_ENCRYPTION_KEY` and/or `PORTAL_ID_HASH_KEY` (docs/operations.md
"Personal data keys"): every resident's ID number is decrypted with the old key, encrypted with
the current one, and its lookup hash recomputed with the current hash key. The old values come
from the environment, never from the command line (it would land in the shell history):

    PORTAL_ID_ENCRYPTION_KEY_OLD   the previous PORTAL_ID_ENCRYPTION_KEY (if it was unset:
                                   the previous SECRET_KEY)
    PORTAL_ID_HASH_KEY_OLD         the previous PORTAL_ID_HASH_KEY (likewise)

At least one must be set. Rows that already open with the current key (a run that was
interrupted, then restarted) are re-hashed only; a row that opens with neither key is reported
by id and left alone (exit 1). Each batch is its own transaction, rows locked; the run is
audited as one bulk event with counts — never an ID number. Idempotent: run it again until it
reports 0 failures."""

import os
import sys

from django.core.management.base import BaseCommand
from django.db import transaction

from eldercare.accounts.scope import SYSTEM
from eldercare.audit.services import record_bulk
from subsidies import idcard
from subsidies.models import Resident

OLD_ENCRYPTION = "PORTAL_ID_ENCRYPTION_KEY_OLD"
OLD_HASH = "PORTAL_ID_HASH_KEY_OLD"


class Command(BaseCommand):
    help = (
        "Re-encrypt and re-hash residents' ID numbers after a key rotation (old keys from the environment)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="check every row opens; write nothing")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run=False, batch_size=500, **options):
        old_key = os.environ.get(OLD_ENCRYPTION) or None
        old_hash = os.environ.get(OLD_HASH) or None
        if old_key is None and old_hash is None:
            self.stderr.write(f"请在环境变量 {OLD_ENCRYPTION} 和/或 {OLD_HASH} 中提供更换前的密钥。")
            sys.exit(2)
        counts = {"rows": 0, "reencrypted": 0, "rehashed": 0, "unchanged": 0, "failed": 0}
        failed_ids: list[int] = []
        last = 0
        while True:
            with transaction.atomic():
                rows = list(
                    Resident.objects.select_for_update()
                    .filter(pk__gt=last)
                    .order_by("pk")
                    .only("pk", "id_cipher", "id_hash")[:batch_size]
                )
                if not rows:
                    break
                last = rows[-1].pk
                changed = []
                for r in rows:
                    counts["rows"] += 1
                    outcome = self._rotate(r, old_key, old_hash)
                    if outcome is None:
                        counts["failed"] += 1
                        failed_ids.append(r.pk)
                        continue
                    cipher, id_hash = outcome
                    if cipher == r.id_cipher and id_hash == r.id_hash:
                        counts["unchanged"] += 1
                        continue
                    counts["reencrypted"] += cipher != r.id_cipher
                    counts["rehashed"] += id_hash != r.id_hash
                    r.id_cipher, r.id_hash = cipher, id_hash
                    changed.append(r)
                if changed and not dry_run:
                    # Not updated_at: the stay did not change, and imports' undo compares it.
                    Resident.objects.bulk_update(changed, ["id_cipher", "id_hash"])
        if not dry_run:
            record_bulk(
                SYSTEM,
                Resident,
                count=counts["reencrypted"] + counts["rehashed"],
                detail={"step": "reencrypt_residents", **counts, "failed_ids": failed_ids[:200]},
            )
        verb = "将" if dry_run else "已"
        self.stdout.write(
            f"共 {counts['rows']} 条入住记录：{verb}重新加密 {counts['reencrypted']} 条，{verb}重算查询哈希 "
            f"{counts['rehashed']} 条，无需处理 {counts['unchanged']} 条，无法解密 {counts['failed']} 条。"
        )
        if failed_ids:
            shown = "、".join(str(pk) for pk in failed_ids[:50])
            self.stderr.write(f"以下记录用新旧密钥都无法解密（编号）：{shown}")
            sys.exit(1)

    @staticmethod
    def _rotate(r: Resident, old_key: str | None, old_hash: str | None) -> tuple[str, str] | None:
        """(cipher under the current key, hash under the current key), or None if the row opens
        with neither key. A cipher that already opens with the current key is kept as it is."""
        try:
            number = idcard.decrypt(r.id_cipher)
            cipher = r.id_cipher
        except idcard.DecryptError:
            if old_key is None:
                return None
            try:
                number = idcard.decrypt(r.id_cipher, old_key)
            except idcard.DecryptError:
                return None
            cipher = idcard.encrypt(number)
        expected = {idcard.lookup_hash(number)}
        if old_hash is not None:
            expected.add(idcard.lookup_hash(number, old_hash))
        if r.id_hash not in expected:
            return None  # the cipher and the hash disagree: leave it for a person to look at
        return cipher, idcard.lookup_hash(number)
