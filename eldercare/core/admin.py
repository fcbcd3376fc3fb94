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
    # A signed-in user without the admin role gets 403, not a redirect loop via the login page.
    if request.user.is_authenticated:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    return redirect_to_login(request.GET.get("next") or request.get_full_path(), reverse("accounts:login"))


admin.site.has_permission = _has_permission
admin.site.login = _login

# Not the admin role's business: second-factor devices belong to the security role's pages.
for _model_path in (
    "django_otp.plugins.otp_totp.models.TOTPDevice",
    "django_otp.plugins.otp_static.models.StaticDevice",
):
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


class AuditedAdminMixin:
    """Admin-site writes (the beat schedules) go into the audit trail like every other write."""

    audited_fields: tuple = ()

    def _values(self, obj):
        from eldercare.audit.services import snapshot

        names = [f.name for f in obj._meta.concrete_fields]
        return snapshot(obj, names)

    def save_model(self, request, obj, form, change):
        from eldercare.audit.models import Action
        from eldercare.audit.services import diff, record

        before = self._values(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
        super().save_model(request, obj, form, change)
        record(
            request.user,
            Action.UPDATE if change else Action.CREATE,
            obj,
            changes=diff(before, self._values(obj)),
            detail={"via": "admin"},
        )

    def save_formset(self, request, form, formset, change):
        """Inline rows (a policy document's rules) are audited like the parent."""
        from eldercare.audit.models import Action
        from eldercare.audit.services import diff, record

        before = {
            f.instance.pk: self._values(type(f.instance).objects.get(pk=f.instance.pk))
            for f in formset.forms
            if f.instance.pk and f.has_changed()
        }
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            record(
                request.user, Action.CREATE, obj, changes=diff({}, self._values(obj)), detail={"via": "admin"}
            )
        for obj, _fields in formset.changed_objects:
            record(
                request.user,
                Action.UPDATE,
                obj,
                changes=diff(before.get(obj.pk, {}), self._values(obj)),
                detail={"via": "admin"},
            )
        for obj in formset.deleted_objects:
            record(request.user, Action.DELETE, obj, detail={"via": "admin"})

    def delete_model(self, request, obj):
        from eldercare.audit.models import Action
        from eldercare.audit.services import record

        values = self._values(obj)
        record(
            request.user,
            Action.DELETE,
            obj,
            changes={k: [v, None] for k, v in values.items()},
            detail={"via": "admin"},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def _audit_registered_admins(app_label: str) -> None:
    for model, model_admin in list(admin.site._registry.items()):
        if model._meta.app_label != app_label or isinstance(model_admin, AuditedAdminMixin):
            continue
        audited = type(f"Audited{type(model_admin).__name__}", (AuditedAdminMixin, type(model_admin)), {})
        admin.site.unregister(model)
        admin.site.register(model, audited)


_audit_registered_admins("django_celery_beat")
