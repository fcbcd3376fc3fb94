"""The admin-editable calendar table feeds the deadline arithmetic."""

import datetime

import pytest

from eldercare.workflow.models import CalendarDay, CalendarYear, load_calendar
from eldercare.workflow.workdays import add_working_days

pytestmark = pytest.mark.django_db


def test_entering_2027_makes_its_deadlines_firm(make_user, login):
    from django.test import Client

    start = datetime.date(2026, 12, 21)
    assert add_working_days(start, 10, load_calendar()).provisional
    c = login(Client(), make_user("adm", "admin"))
    assert (
        c.post(
            "/system/workflow/calendaryear/add/",
            {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知"},
        ).status_code
        == 302
    )
    CalendarDay.objects.create(date=datetime.date(2027, 1, 1), is_workday=False, note="元旦")
    due = add_working_days(start, 10, load_calendar())
    assert not due.provisional and due.due == datetime.date(2027, 1, 5)
    assert CalendarYear.objects.get().source.startswith("国务院")
    from eldercare.audit.models import AuditEvent

    assert AuditEvent.objects.filter(object_type="workflow.calendaryear").exists()
