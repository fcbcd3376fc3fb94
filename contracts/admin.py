"""The services checklist and (read-only) contracts on the admin site; every write audited."""

from django.contrib import admin

from eldercare.core.admin import AuditedAdminMixin

from .models import Contract, ServiceItem


@admin.register(ServiceItem)
class ServiceItemAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code", "order", "active")
    list_editable = ("order", "active")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()  # contracts store the code

    def has_delete_permission(self, request, obj=None):
        return False  # contracts keep their codes; retire an item with `active`


@admin.register(Contract)
class ContractAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Read-only here: contracts are written through the pages, API and imports (services)."""

    list_display = (
        "agreement_no",
        "medical",
        "eldercare",
        "mode",
        "start",
        "end",
        "terminated_on",
        "filed_on",
    )
    list_filter = ("mode", "visit_frequency")
    search_fields = ("agreement_no", "medical__name", "eldercare__name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from eldercare.accounts.scope import for_user

        return for_user(super().get_queryset(request), request.user).select_related("medical", "eldercare")
