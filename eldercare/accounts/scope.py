"""The one scoping mechanism (docs/adr/0003-scope-mechanism.md).

Every reader — page, API view, export, import lookup, report — narrows its queryset with
`scope_queryset(qs, actor)` (models expose it as `Model.objects.for_user(actor)`), and fetches
single objects with `get_for_user(Model, actor, **lookup)`, which raises Http404 for "missing"
and "not yours" alike. A model says where its region code lives with `scope_field`, a lookup
path ending at the region code ("code" on Region, "region__code" elsewhere); because the
region's primary key is the code, Django trims the join and the filter is an indexed
`LIKE 'prefix%'` on the model's own column.

Fail closed: an anonymous or inactive actor, or a user without a region, sees nothing.
"""

from __future__ import annotations

from django.http import Http404

from eldercare.regions import codes


class _System:
    """The actor for work the system does on its own account (installing the region tree into
    an empty database, beat tasks). Audited as 'system'; sees everything."""

    pk = None
    id = None
    username = "system"
    is_authenticated = True
    is_active = True
    roles = frozenset()
    primary_role = "system"

    def __str__(self):
        return "system"


SYSTEM = _System()


def actor_prefix(actor, region=None) -> str | None:
    """The code prefix the actor may see, optionally narrowed to `region` (a Region or code)
    that lies within the actor's scope. None means 'everything' (the system actor)."""
    if actor is SYSTEM:
        base = None
    else:
        if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
            raise PermissionError("no actor")
        if not actor.region_id:
            raise PermissionError("no scope")
        base = codes.prefix_of(actor.region_id)
    if region is not None:
        code = getattr(region, "code", region)
        if base is not None and not code.startswith(base):
            raise PermissionError("outside scope")
        return codes.prefix_of(code)
    return base


def scope_queryset(qs, actor, *, field: str | None = None, region=None):
    field = field or getattr(qs.model, "scope_field", None)
    if field is None:
        raise TypeError(f"{qs.model.__name__} declares no scope_field")
    try:
        prefix = actor_prefix(actor, region)
    except PermissionError:
        return qs.none()
    if prefix is None:
        return qs
    if field == "region":
        field = "region__code"
    qs = qs.filter(**{f"{field}__startswith": prefix})
    # A model may narrow further what a user sees inside their region (a filing's draft is its
    # applicant side's only): `scope_visible(qs, actor)`, applied here so every reader gets it.
    visible = getattr(qs.model, "scope_visible", None)
    return visible(qs, actor) if visible is not None else qs


def for_user(model_or_qs, actor, *, region=None):
    qs = (
        model_or_qs
        if hasattr(model_or_qs, "model") and hasattr(model_or_qs, "filter")
        else model_or_qs._default_manager.all()
    )
    return scope_queryset(qs, actor, region=region)


def get_for_user(model_or_qs, actor, **lookup):
    """Fetch-and-authorize in one call: Http404 for missing and out-of-scope alike."""
    try:
        return for_user(model_or_qs, actor).get(**lookup)
    except (model_or_qs.model if hasattr(model_or_qs, "model") else model_or_qs).DoesNotExist as exc:
        raise Http404 from exc


def region_in_scope(actor, region) -> bool:
    try:
        actor_prefix(actor, region)
    except PermissionError:
        return False
    return True


def users_covering(region_code: str):
    """Active users whose scope covers `region_code` (their region is it or an ancestor): who
    is told about a township's upload or filing."""
    from django.contrib.auth import get_user_model

    level = codes.level_of(region_code)
    ancestors = {region_code[: codes.PREFIX_LEN[lv]].ljust(12, "0") for lv in codes.PREFIX_LEN if lv <= level}
    return get_user_model().objects.filter(is_active=True, region_id__in=ancestors)
