"""`compute_reports --year YYYY [--region CODE]` (CONTRACT.md): the same run the Celery tasks
compute, waited for. With a worker (REDIS_URL set) the run is queued and polled; `--inline`
(or no REDIS_URL) computes it in this process."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessments import compute, services
from assessments.models import ReportRow, ReportRun, RunStatus
from eldercare.regions import codes
from eldercare.regions.models import Region


class Command(BaseCommand):
    help = "Compute target attainment for a year for every region under CODE (default: all) and wait."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--region", default=None)
        parser.add_argument(
            "--inline", action="store_true", help="compute in this process instead of the workers"
        )
        parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for the workers")

    def handle(self, *args, year, region, inline, timeout, **options):
        if region:
            try:
                region = codes.normalise(region)
            except codes.RegionCodeError as exc:
                raise CommandError(f"区划代码无效：{exc}") from exc
            if not Region.objects.filter(code=region).exists():
                raise CommandError(f"区划 {region} 不存在。")
        try:
            compute.evaluation_day(year)
        except compute.ComputeError as exc:
            raise CommandError(str(exc)) from exc
        if inline or settings.CELERY_TASK_ALWAYS_EAGER:
            run = ReportRun.objects.create(
                year=year,
                root_id=services._root(region),
                evaluated_on=compute.evaluation_day(year),
                reason="command",
            )
            run = compute.run_inline(run)
        else:
            run = services.request_run(year, root_code=region, actor=None, reason="command")
            deadline = time.monotonic() + timeout
            while True:
                run.refresh_from_db()
                if run.status in (RunStatus.COMPLETE, RunStatus.FAILED):
                    break
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"等待超时：报表版本 #{run.pk} 仍在计算（{run.progress}%），请确认 Celery worker 已启动。"
                    )
                time.sleep(0.5)
        if run.status == RunStatus.FAILED:
            raise CommandError(f"计算失败：{run.error}")
        rows = ReportRow.objects.filter(run=run).count()
        from django.utils import timezone

        scope = run.root_id or "全部区划"
        if region and run.root_id and run.root_id != region:
            scope = f"{run.root_id}（{region} 所在县，报表按县计算）"
        self.stdout.write(
            f"报表版本 #{run.pk}：{year} 年，{scope}，评估日 {run.evaluated_on}，"
            f"数据截至 {timezone.localtime(run.data_as_of):%Y-%m-%d %H:%M:%S}（北京时间），{rows} 行，"
            f"用时 {run.runtime_ms} ms，输入指纹 {run.fingerprint[:12]}"
        )
