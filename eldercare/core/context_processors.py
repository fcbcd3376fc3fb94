import functools

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from . import nav
from .regionview import view_region

UNREAD_SECONDS = 60  # the unread badge; dropped at once when the user's notifications change


def _outbox_pending() -> int:
    """The "tasks waiting for the queue" notice: cached for a few seconds (eldercare.core.outbox);
    counted on every page while the cache (Redis) is down, which is when it matters."""
    from .outbox import pending_count_cached

    return pending_count_cached()


def _unread(user) -> int:
    from .dataversion import cache_get, cache_set
    from .models import unread_key

    key = unread_key(user.pk)
    count = cache_get(key)
    if count is None:
        count = user.notifications.filter(read_at__isnull=True).count()
        cache_set(key, count, UNREAD_SECONDS)
    return count


def _region_choices(user) -> list:
    """The user's own region and the townships (or counties) one or two levels below, as
    (code, name, level) rows; the same for every user of a region and data version."""
    from eldercare.regions.models import Region

    from .dataversion import cached_value

    def compute():
        return [
            {"code": r.code, "name": r.name, "level": r.level}
            for r in Region.objects.for_user(user)
            .filter(level__lte=min(user.region.level + 2, 4), active=True)
            .only("code", "name", "level")
        ]

    return cached_value("region_choices", (user.region_id, user.region.level), compute)


@functools.lru_cache(maxsize=512)
def _nav_html(language: str, items: tuple, sidebar: bool) -> str:
    """The navigation links for one set of items (by role) and active item, rendered once per
    process: the same for every user with those permissions on that section."""
    keys = ("url", "label", "icon", "active", "name")
    with translation.override(language):
        return render_to_string(
            "includes/nav_links.html",
            {"nav_items": [dict(zip(keys, item, strict=True)) for item in items], "sidebar": sidebar},
        ).strip()


@functools.lru_cache(maxsize=512)
def _region_options_html(choices: tuple, selected: str, own_level: int) -> str:
    keys = ("code", "name", "level")
    return render_to_string(
        "includes/region_options.html",
        {
            "region_choices": [dict(zip(keys, c, strict=True)) for c in choices],
            "selected": selected,
            "own_level": own_level,
        },
    ).strip()


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
    region = view_region(request)
    region_options = ""
    if user.region_id and user.has_perm("core.switch_region"):
        region_choices = _region_choices(user)
        region_options = _region_options_html(
            tuple((r["code"], r["name"], r["level"]) for r in region_choices),
            region.code if region is not None else "",
            user.region.level,
        )
    items = nav.items_for(user, request.path)
    language = translation.get_language() or ""
    item_key = tuple((i["url"], str(i["label"]), i["icon"], i["active"], i["name"]) for i in items)
    return {
        "outbox_pending": _outbox_pending(),
        "region_choices": region_choices,
        "region_options_html": mark_safe(region_options),  # noqa: S308  # nosec B308 B703  # our template, escaped there
        "nav_items": items,
        "nav_sidebar_html": mark_safe(_nav_html(language, item_key, True)),  # noqa: S308  # nosec B308 B703  # likewise
        "nav_mobile_html": mark_safe(_nav_html(language, item_key, False)),  # noqa: S308  # nosec B308 B703  # likewise
        "view_region": region,
        "unread_notifications": _unread(user),
    }
