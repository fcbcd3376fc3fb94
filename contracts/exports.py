"""Export of the filtered contract list: the `contracts` sheet's columns (CONTRACT.md) first, so
an export can be edited and imported back, then the derived status, the filing date and the
parties' names. Institutions are referenced by credit code, or the portal's 系统编号 for those
without one (a village 幸福院). Formula-neutralised (the shared helper) and audited."""

from __future__ import annotations

from django.utils import timezone

from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.core.exports import rows_to_csv, rows_to_xlsx

from . import rules
from .models import Frequency, Mode, ServiceItem
from .page_selectors import code_of

SHEET_COLUMNS = [
    "协议编号",
    "医疗机构信用代码",
    "养老机构信用代码",
    "合作方式",
    "服务内容",
    "巡诊频次",
    "开始日期",
    "结束日期",
    "终止日期",
]
EXTRA_COLUMNS = ["状态", "已备案日期", "医疗机构名称", "养老机构名称"]
HEADER = SHEET_COLUMNS + EXTRA_COLUMNS


def _iso(day) -> str:
    return day.isoformat() if day else ""


def export_contracts(*, actor, queryset, fmt: str, today=None):
    today = today or timezone.localdate()
    names = dict(ServiceItem.objects.values_list("code", "name"))
    modes, freqs = dict(Mode.choices), dict(Frequency.choices)
    rows = [
        [
            c.agreement_no,
            code_of(c.medical),
            code_of(c.eldercare),
            modes.get(c.mode, c.mode),
            "、".join(names.get(s, s) for s in c.services or []),
            freqs.get(c.visit_frequency, ""),
            _iso(c.start),
            _iso(c.end),
            _iso(c.terminated_on),
            rules.STATUS_LABELS[c.status_on(today)],
            _iso(c.filed_on),
            c.medical.name,
            c.eldercare.name,
        ]
        for c in queryset
    ]
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    if fmt == "csv":
        content, ctype, name = rows_to_csv(HEADER, rows), "text/csv; charset=utf-8", f"contracts-{stamp}.csv"
    else:
        fmt = "xlsx"
        content = rows_to_xlsx(HEADER, rows, title="医养签约协议")
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name = f"contracts-{stamp}.xlsx"
    record(
        actor,
        Action.EXPORT,
        object_type="contracts.contract",
        object_repr=f"医养签约协议 {fmt}",
        detail={"rows": len(rows), "format": fmt},
    )
    return content, ctype, name
