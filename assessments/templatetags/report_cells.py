"""The 目标考核 dashboard's repeated fragments (a matrix cell, a value, a target), built in Python:
a county's matrix is townships × indicators cells, and rendering each through `{% include %}`
would dominate the page's time. The figures are page_selectors.decorate's (evaluate.shown)."""

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


def _value(r) -> str:
    if r.value_text is None:
        return '<span class="text-muted">—</span>'
    return f'<span class="fw-semibold" data-col="value">{escape(r.value_text)}</span>{escape(r.suffix)}'


def _target(r) -> str:
    if r.target_text is None:
        return '<span class="text-muted">无目标</span>'
    out = f'<span data-col="target">{escape(r.target_text)}</span>{escape(r.suffix)}'
    if r.target_inherited:
        title = f"继承上级区划的目标（{r.target_region}，{r.target_year}年起）"
        out += f' <span class="badge text-bg-light border" title="{escape(title)}" data-testid="inherited">继承</span>'
    return out


@register.simple_tag
def report_value(r):
    return mark_safe(_value(r))  # noqa: S308  # nosec B308 B703  # every interpolated value is escaped (or an int)


@register.simple_tag
def report_target(r):
    return mark_safe(_target(r))  # noqa: S308  # nosec B308 B703  # every interpolated value is escaped (or an int)


@register.simple_tag
def report_cell(r, year):
    """A matrix cell: value, status and rank, target (继承), gap, completeness, 有修订; coloured
    by status (达标 green, 未达标 red, 数据不足 grey, 无目标 neutral)."""
    url = reverse("assessments:report_drill", args=[year, r.region_id, r.indicator_id])
    lines = [f'<a class="text-reset text-decoration-none" href="{escape(url)}">{_value(r)}</a>']
    rank = f" · 第{r.rank}名" if r.rank else ""
    lines.append(f'<div class="text-muted">{escape(r.status_label)}{rank}</div>')
    if r.target_text is not None:
        inherited = '<span class="text-muted">（继承）</span>' if r.target_inherited else ""
        lines.append(f"<div>目标 {escape(r.target_text)}{inherited}</div>")
    if r.gap_text is not None:
        lines.append(f'<div>差距 <span data-col="gap">{escape(r.gap_text)}</span></div>')
    changed = ' <span class="badge text-bg-warning" data-testid="changed">有修订</span>' if r.changed else ""
    lines.append(
        f'<div class="text-muted" title="数据完整性：有数据的 / 应有的">{r.complete_n}/{r.complete_m}{changed}</div>'
    )
    return mark_safe(  # noqa: S308  # nosec B308 B703  # every interpolated value is escaped (or an int)
        f'<td class="{escape(r.css)} small text-nowrap" data-cell="{escape(r.region_id)}:{escape(r.indicator_id)}"'
        f' data-status="{escape(r.status)}">' + "".join(lines) + "</td>"
    )


@register.simple_tag
def report_rank_row(r, year):
    """A ranking line: rank, region (to its drill-down), value, status."""
    url = reverse("assessments:report_drill", args=[year, r.region_id, r.indicator_id])
    rank = "—" if r.rank is None else str(r.rank)
    return mark_safe(  # noqa: S308  # nosec B308 B703  # every interpolated value is escaped (or an int)
        f'<tr data-region="{escape(r.region_id)}"><td class="text-end">{rank}</td>'
        f'<td><a href="{escape(url)}">{escape(r.region.name)}</a></td>'
        f'<td class="text-end">{_value(r)}</td>'
        f'<td><span class="badge {escape(r.badge)}">{escape(r.status_label)}</span></td></tr>'
    )
