"""The ceiling of the load benchmark (issue 8): a trivial DB-backed view rendering 20 rows.

It runs behind the same middleware as every portal page (the client sends its session cookie,
so the session and the user are loaded, idle expiry and the account policy run), then one
query for 20 institutions and a small Django template. Everything a real page does beyond this
is the page's own work, which is why the benchmark reports each page as a ratio to it.
Bench-only: wired in by bench/load/urls.py, never by the portal's URLconf."""

from django.http import HttpResponse
from django.template import engines

from institutions.models import Institution

TEMPLATE = engines["django"].from_string(
    '<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><title>ceiling</title></head>'
    "<body><table>{% for pk, name, status in rows %}"
    "<tr><td>{{ pk }}</td><td>{{ name }}</td><td>{{ status }}</td></tr>{% endfor %}</table></body></html>"
)


def ceiling(request):
    rows = list(Institution.objects.order_by("pk").values_list("pk", "name", "status")[:20])
    # No request: a plain Context, so the portal's context processors (navigation, region
    # switcher, notification count) do not run — they are page work, not the floor.
    return HttpResponse(TEMPLATE.render({"rows": rows}))
