"""The holiday calendar and the filing types on the admin site (admin role; audited like every
admin-site write). A filing type's lifecycle, time limits and attachment list are JSON the
admin edits here (machine.Definition.from_config reads it)."""

from django.contrib import admin

from eldercare.core.admin import AuditedAdminMixin

from .models import CalendarDay, CalendarYear, FilingType


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("year", "source", "updated_at")


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    date_hierarchy = "date"


@admin.register(FilingType)
class FilingTypeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code", "decider_role", "effect", "active", "updated_at")
    list_filter = ("decider_role", "active")
    readonly_fields = ("code", "effect", "updated_at")

    def has_add_permission(self, request):
        return False  # a type's effect is code (eldercare/workflow/effects.py); types ship as data

    def has_delete_permission(self, request, obj=None):
        return False
