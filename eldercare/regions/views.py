from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render

from eldercare.accounts.scope import get_for_user
from eldercare.core.views import portal_permission_required

from .models import Region


@portal_permission_required("regions.view_region")
def region_list(request):
    """Browse the tree: the children of a region in scope (default: the user's own region)."""
    scoped = Region.objects.for_user(request.user)
    parent_code = request.GET.get("parent") or request.user.region_id
    parent = get_for_user(Region, request.user, code=parent_code) if parent_code else None
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = scoped.filter(Q(name__icontains=q) | Q(code__startswith=q))
    else:
        qs = scoped.filter(parent=parent)
    qs = qs.annotate(child_count=Count("children")).order_by("code")
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    breadcrumbs = [
        a for a in (parent.ancestors() if parent else []) if a.code.startswith(request.user.region.prefix)
    ]
    return render(
        request,
        "regions/region_list.html",
        {"page": page, "parent": parent, "q": q, "breadcrumbs": breadcrumbs},
    )


@portal_permission_required("regions.view_region")
def region_detail(request, code):
    region = get_for_user(Region.objects.select_related("parent", "successor"), request.user, code=code)
    children = Region.objects.for_user(request.user).filter(parent=region).order_by("code")
    return render(request, "regions/region_detail.html", {"obj": region, "children": children})
