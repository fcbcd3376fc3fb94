"""import_sheet KIND FILE --user USERNAME [--as-of YYYY-MM-DD] [--dry-run] [--json]

The same import as the 批量导入 page and `POST /api/v1/imports/` (eldercare.sheets.engine), as
that user, with that user's scope and approval rules; it always runs in this process and waits.
Exit codes (CONTRACT.md): 0 valid (and committed unless --dry-run, or staged for a county user);
1 the file or a row is invalid, or unreadable — nothing written; 2 bad arguments, unknown user
or kind (or a kind whose module has not landed yet)."""

import datetime
import json
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand

from eldercare.accounts.scope import SYSTEM
from eldercare.sheets import kinds


class Command(BaseCommand):
    help = "Import a spreadsheet of one kind, as a user, with that user's scope."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("file")
        parser.add_argument("--user", dest="username")
        parser.add_argument("--as-of", dest="as_of")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def _fail(self, message: str, code: int = 2):
        self.stderr.write(message)
        sys.exit(code)

    def handle(self, kind, file, username, as_of, dry_run, as_json, **options):
        from eldercare.regions.models import Region
        from eldercare.sheets.engine import start_import

        if kind not in kinds.ALL_KINDS:
            self._fail(f"未知的导入类型：{kind}（可选：{'、'.join(kinds.ALL_KINDS)}）")
        if kind not in kinds.available():
            self._fail(f"导入类型 {kind} 尚未提供（随对应业务模块上线）。")
        day = None
        if as_of:
            try:
                day = datetime.date.fromisoformat(as_of)
            except ValueError:
                self._fail("--as-of 须为 YYYY-MM-DD 格式的日期。")
        path = Path(file)
        if not path.is_file():
            self._fail(f"文件不存在：{file}")
        if username:
            actor = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
            if actor is None:
                self._fail(f"未知或已停用的用户：{username}")
        else:
            if kind != "regions" or Region.objects.exists():
                self._fail("须以 --user 指定导入用户（仅在数据库为空时可不指定用户导入区划）。")
            actor = SYSTEM
        try:
            batch = start_import(
                actor=actor,
                kind=kind,
                data=path.read_bytes(),
                filename=path.name,
                as_of=day,
                dry_run=dry_run,
                inline=True,
            )
        except PermissionDenied as exc:
            self._fail(str(exc))
        data = batch.summary()
        if batch.status in (batch.Status.FAILED, batch.Status.STALE) and not data["errors"]:
            data["errors"] = [{"row": None, "column": None, "message": batch.message}]
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            for e in data["errors"]:
                self.stdout.write(f"第{e['row'] or '-'}行 {e['column'] or ''}：{e['message']}")
            state = (
                "已提交，待县级审核"
                if data["pending_acceptance"]
                else "已提交"
                if data["committed"]
                else "未提交"
            )
            self.stdout.write(
                f"批次 {batch.pk}｜共 {data['rows_total']} 行：新增 {data['created']}，更新 {data['updated']}，"
                f"未变 {data['unchanged']}，跳过 {data['skipped']}；{state}"
            )
        if data["errors"]:
            sys.exit(1)
