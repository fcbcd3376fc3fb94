"""The holiday calendar on the admin site (admin role; audited like every admin-site write)."""

from django.contrib import admin

from eldercare.core.admin import AuditedAdminMixin

from .models import CalendarDay, CalendarYear


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("year", "source", "updated_at")


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    date_hierarchy = "date"
