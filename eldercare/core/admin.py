"""Django's admin site ("系统设置") is for the admin role only, after the second factor; it
shows the same scoped data and makes no business writes of its own: users and regions change
through the portal's pages (services, audit), the admin site handles schedules (beat)."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

from eldercare.regions.models import Region


def _has_permission(request):
    user = request.user
    return bool(
        user.is_authenticated
        and user.is_active
        and user.has_role("admin")
        and (not user.otp_required or user.is_verified())
    )


def _login(request, extra_context=None):
    return redirect_to_login(request.get_full_path(), reverse("accounts:login"))


admin.site.has_permission = _has_permission
admin.site.login = _login

# Not the admin role's business: second-factor devices belong to the security role's pages.
for _model_path in ("django_otp.plugins.otp_totp.models.TOTPDevice", "django_otp.plugins.otp_static.models.StaticDevice"):
    module, _name = _model_path.rsplit(".", 1)
    try:
        import importlib

        admin.site.unregister(getattr(importlib.import_module(module), _name))
    except (admin.sites.NotRegistered, ImportError):
        pass


class ReadOnlyScopedAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.for_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyScopedAdmin):
    list_display = ("code", "name", "level", "parent", "active")
    list_filter = ("level", "active")
    search_fields = ("code", "name")
