"""import_sheet KIND FILE --user USERNAME [--as-of YYYY-MM-DD] [--dry-run] [--json]

Exit codes (CONTRACT.md): 0 valid (and committed unless --dry-run); 1 file or a row invalid,
nothing written; 2 bad arguments, unknown user or kind. Only the `regions` kind exists yet; the
other kinds arrive with the spreadsheet engine (the registry issue) and are refused with exit
code 2 and a message saying so."""

import datetime
import json
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand

from eldercare.accounts.scope import SYSTEM

KINDS = ("regions", "institutions", "contracts", "occupancy", "township_reports", "residents", "visits")
AVAILABLE = {"regions"}


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
        from eldercare.regions.services import import_regions

        if kind not in KINDS:
            self._fail(f"未知的导入类型：{kind}（可选：{'、'.join(KINDS)}）")
        if kind not in AVAILABLE:
            self._fail(f"导入类型 {kind} 尚未提供（随电子表格引擎上线）。")
        if as_of:
            try:
                datetime.date.fromisoformat(as_of)
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
            summary = import_regions(actor=actor, path=path, dry_run=dry_run)
        except PermissionDenied as exc:
            self._fail(str(exc))
        data = summary.as_dict()
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            for e in data["errors"]:
                self.stdout.write(f"第{e['row'] or '-'}行 {e['column'] or ''}：{e['message']}")
            self.stdout.write(
                f"共 {data['rows_total']} 行：新增 {data['created']}，更新 {data['updated']}，"
                f"未变 {data['unchanged']}，跳过 {data['skipped']}；{'已提交' if data['committed'] else '未提交'}"
            )
        if data["errors"]:
            sys.exit(1)
