"""The region switcher: county-level users narrow what they look at to a region under their
scope. It narrows views only; the security boundary stays the user's own scope, and every
selection is re-checked against it."""

from eldercare.accounts.scope import region_in_scope

SESSION_KEY = "view_region"


def view_region(request):
    """The Region the user is looking at: the chosen one if still in scope, else their own."""
    from eldercare.regions.models import Region

    user = request.user
    cached = getattr(request, "_view_region", None)
    if cached is not None:
        return cached
    region = None
    code = request.session.get(SESSION_KEY)
    if code and user.has_perm("core.switch_region") and region_in_scope(user, code):
        region = Region.objects.filter(code=code).first()
    if region is None:
        region = user.region
    request._view_region = region
    return region
