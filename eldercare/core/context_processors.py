from . import nav
from .regionview import view_region


def portal(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    try:
        verified = user.is_verified()
    except AttributeError:
        verified = False
    if user.otp_required and not verified:
        return {"nav_items": []}
    region_choices = []
    if user.region_id and user.has_perm("core.switch_region"):
        from eldercare.regions.models import Region

        # The user's own region and the townships (or counties) one or two levels below.
        region_choices = list(
            Region.objects.for_user(user)
            .filter(level__lte=min(user.region.level + 2, 4), active=True)
            .only("code", "name", "level")
        )
    from .outbox import pending_count

    return {
        "outbox_pending": pending_count(),
        "region_choices": region_choices,
        "nav_items": nav.items_for(user, request.path),
        "view_region": view_region(request),
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
    }
