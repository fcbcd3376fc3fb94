"""Home of the filing/approval workflow engine (issue 4). So far: the working-day calendar
table that deadlines read before the `chinese-calendar` package (eldercare/workflow/workdays.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    """A year whose official holiday arrangement has been entered in full (its holidays and
    make-up workdays as CalendarDay rows): deadlines in it are no longer provisional."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source document"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("holiday arrangement year")
        verbose_name_plural = _("holiday arrangement years")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class CalendarDay(models.Model):
    """One day that is not what Monday–Friday says: a holiday on a weekday or a 调休 workday
    on a weekend. Checked before the chinese-calendar package."""

    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date} {'workday' if self.is_workday else 'holiday'}"


def load_calendar(start=None, end=None):
    """The table as a workdays.Calendar (a few dozen rows a year)."""
    from .workdays import Calendar

    days = CalendarDay.objects.all()
    if start is not None:
        days = days.filter(date__gte=start)
    if end is not None:
        days = days.filter(date__lte=end)
    return Calendar(
        days=dict(days.values_list("date", "is_workday")),
        years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
    )
