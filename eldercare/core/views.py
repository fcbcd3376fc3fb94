"""Home page and the region switcher."""

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eldercare.accounts.scope import region_in_scope

from . import regionview


def add_service_errors(form, exc) -> None:
    """Show a service's ValidationError/PermissionDenied on the form: field errors on their
    fields, the rest at the top."""
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        for msg in getattr(exc, "messages", [str(exc)]):
            form.add_error(None, msg)


class PortalPermissionMixin(AccessMixin):
    """Login, then `core.access_portal` plus the view's own `permission_required` (a string or
    a tuple). Logged-in users without it get 403, not a login loop."""

    permission_required: str | tuple = ()

    def get_permissions(self):
        perms = self.permission_required
        if isinstance(perms, str):
            perms = (perms,)
        return ("core.access_portal", *perms)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.has_perms(self.get_permissions()):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def portal_permission_required(*perms):
    """Decorator twin of PortalPermissionMixin for function views."""

    def deco(view):
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not request.user.has_perms(("core.access_portal", *perms)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        wrapped.portal_permissions = ("core.access_portal", *perms)
        return wrapped

    return deco


@portal_permission_required()
def home(request):
    from .selectors import home_cards

    region = regionview.view_region(request)
    cards = home_cards(request.user, region)
    if request.user.has_perm("sheets.accept_importbatch"):
        cards.append(_pending_uploads_card(request.user, region))
    return render(request, "core/home.html", {"cards": cards, "region": region})


def _pending_uploads_card(user, region) -> dict:
    """Township uploads in view that this user may accept (not their own). Counted on every
    request (one COUNT): import batches are outside the data version (dataversion.DATA_APPS), so
    a cached count would miss a new upload."""
    from django.urls import reverse

    from eldercare.accounts.scope import for_user
    from eldercare.sheets.models import ImportBatch

    count = (
        for_user(ImportBatch, user, region=region)
        .filter(status=ImportBatch.Status.PENDING, region__isnull=False)
        .exclude(created_by=user)
        .count()
    )
    return {
        "label": _("Township uploads awaiting acceptance"),
        "value": count,
        "icon": "inbox",
        "link": reverse("sheets:list") + "#pending",
    }


@require_POST
@portal_permission_required("core.switch_region")
def switch_region(request):
    from eldercare.regions.models import Region

    code = (request.POST.get("region") or "").strip()
    nxt = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        nxt = "/"
    if not code or code == request.user.region_id:
        request.session.pop(regionview.SESSION_KEY, None)
    elif region_in_scope(request.user, code) and Region.objects.filter(code=code).exists():
        request.session[regionview.SESSION_KEY] = code
    else:
        messages.error(request, _("That region is outside your scope."))
    return HttpResponseRedirect(nxt)


@portal_permission_required()
def notifications(request):
    from django.core.paginator import Paginator

    from .services import notifications_mark_read

    if request.method == "POST":
        notifications_mark_read(actor=request.user)
        return HttpResponseRedirect(request.path)
    page = Paginator(request.user.notifications.all(), 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


def page_not_found(request, exception=None):
    """404 (handler404): the portal's page, except under /api/, where a path no route matches
    (`/api/v1/contracts/1.5/`) answers in the API's JSON shape like a missing object does."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse
        from rest_framework.exceptions import NotFound

        return JsonResponse(
            {"detail": str(NotFound.default_detail)}, status=404, json_dumps_params={"ensure_ascii": False}
        )
    from django.views.defaults import page_not_found as default

    return default(request, exception)
