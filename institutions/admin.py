"""Admin-site pages of the registry: the per-region compliance thresholds (admin role). A change
is audited (AuditedAdminMixin) and re-judges the stored warnings of the region's institutions."""

from django.contrib import admin

from eldercare.core.admin import AuditedAdminMixin

from .models import ComplianceSetting


@admin.register(ComplianceSetting)
class ComplianceSettingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("region", "big_home_beds", "hospital_option_beds", "source", "updated_at")
    search_fields = ("region__code", "region__name")
    raw_id_fields = ("region",)

    def get_queryset(self, request):
        from eldercare.accounts.scope import scope_queryset

        return scope_queryset(super().get_queryset(request), request.user)

    def _refresh(self, region_code: str) -> None:
        from eldercare.regions.codes import prefix_of

        from .models import Institution
        from .services import refresh_warning_codes

        refresh_warning_codes(Institution.objects.filter(region__code__startswith=prefix_of(region_code)))

    def save_model(self, request, obj, form, change):
        from django.core.exceptions import PermissionDenied

        from eldercare.accounts.scope import region_in_scope

        if not region_in_scope(request.user, obj.region_id):
            raise PermissionDenied
        super().save_model(request, obj, form, change)
        self._refresh(obj.region_id)

    def delete_model(self, request, obj):
        region = obj.region_id
        super().delete_model(request, obj)
        self._refresh(region)
