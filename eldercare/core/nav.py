"""Navigation by role: an item shows when the user holds its permission."""

import functools

from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

NAV_ITEMS = [
    # (url name, label, icon, permission)
    ("core:home", _("Home"), "house", "core.access_portal"),
    ("institutions:list", _("Institutions"), "hospital", "institutions.view_institution"),
    # The filing pages are Chinese-only for now (like their templates).
    ("workflow:list", "备案审批", "clipboard-check", "workflow.view_filing"),
    ("contracts:list", "医养签约", "journal-medical", "contracts.view_contract"),
    ("subsidies:application_list", "床位补贴", "cash-stack", "subsidies.view_application"),
    ("subsidies:liabilities", "补助资金", "cash-coin", "subsidies.view_budget"),
    ("assessments:township_reports", "乡镇年报", "clipboard-data", "assessments.view_townshipreport"),
    ("assessments:reports", "目标考核", "graph-up-arrow", "assessments.view_report"),
    ("assessments:targets", _("Indicators and targets"), "bullseye", "assessments.view_target"),
    ("sheets:list", _("Bulk import"), "file-earmark-arrow-up", "sheets.view_importbatch"),
    ("regions:list", _("Regions"), "diagram-3", "regions.view_region"),
    ("accounts:user_list", _("Users"), "people", "accounts.view_user"),
    ("audit:list", _("Audit trail"), "journal-text", "audit.view_auditevent"),
    ("api-docs", _("API"), "braces", "core.access_portal"),
    ("admin:index", _("System settings"), "gear", "accounts.change_user"),
]


@functools.cache
def _url(name: str, prefix: str) -> str:
    return reverse(name)


def items_for(user, current_path: str = ""):
    out = []
    prefix = get_script_prefix()
    for name, label, icon, perm in NAV_ITEMS:
        if user.has_perm(perm):
            url = _url(name, prefix)
            active = current_path == url if url == "/" else current_path.startswith(url)
            out.append({"url": url, "label": label, "icon": icon, "active": active, "name": name})
    # Nested sections (/reports/ and /reports/targets/): only the longest match is active.
    matches = [item for item in out if item["active"]]
    if len(matches) > 1:
        longest = max(matches, key=lambda item: len(item["url"]))
        for item in matches:
            item["active"] = item is longest
    return out
