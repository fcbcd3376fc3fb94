"""Export of the filtered registry list: formula-neutralised (the shared helper), audited."""

from django.utils import timezone

from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.core.exports import rows_to_csv, rows_to_xlsx

from . import enums

COLUMNS = [
    ("系统编号", lambda i: i.portal_no),
    ("机构名称", lambda i: i.name),
    ("统一社会信用代码", lambda i: i.credit_code),
    ("机构大类", lambda i: i.get_family_display()),
    ("机构类型", lambda i: i.get_type_display()),
    ("所属区划代码", lambda i: i.region_id),
    ("所属区划", lambda i: i.region.name),
    ("举办性质", lambda i: enums.OWNERSHIP_LABELS.get(i.family, {}).get(i.ownership, "")),
    ("状态", lambda i: i.get_status_display()),
    ("成立日期", lambda i: i.opened_on.isoformat() if i.opened_on else ""),
    ("核定医疗床位数", lambda i: i.beds_medical),
    ("核定养老床位数", lambda i: i.beds_eldercare),
    ("护理型床位数", lambda i: i.beds_nursing),
    ("地址", lambda i: i.address),
]


def export_institutions(*, actor, queryset, fmt: str):
    rows = [[get(i) for _h, get in COLUMNS] for i in queryset]
    header = [h for h, _g in COLUMNS]
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    if fmt == "csv":
        content, ctype, name = (
            rows_to_csv(header, rows),
            "text/csv; charset=utf-8",
            f"institutions-{stamp}.csv",
        )
    else:
        fmt = "xlsx"
        content = rows_to_xlsx(header, rows, title="机构名录")
        ctype, name = (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"institutions-{stamp}.xlsx",
        )
    record(
        actor,
        Action.EXPORT,
        object_type="institutions.institution",
        object_repr=f"机构名录 {fmt}",
        detail={"rows": len(rows), "format": fmt},
    )
    return content, ctype, name
