import pytest
from django.db import connection, transaction

from eldercare.audit.models import Action, AuditEvent
from eldercare.audit.services import record, record_bulk
from eldercare.regions.models import Region

pytestmark = pytest.mark.django_db


def test_audit_is_append_only_in_the_application(make_user):
    u = make_user("u", "health")
    ev = record(u, Action.EXPORT, u, detail={"rows": 3})
    ev.object_repr = "changed"
    with pytest.raises(PermissionError):
        ev.save()
    with pytest.raises(PermissionError):
        ev.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=ev.pk).update(object_repr="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's")
def test_database_refuses_update_and_delete_of_audit_rows(make_user):
    from django.db.utils import InternalError

    u = make_user("u", "health")
    ev = record(u, Action.EXPORT, u)
    for sql in (
        "UPDATE audit_auditevent SET username='x' WHERE id=%s",
        "DELETE FROM audit_auditevent WHERE id=%s",
    ):
        with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [ev.pk])
    assert AuditEvent.objects.get(pk=ev.pk).username == "u"


def test_record_scrubs_secrets_and_keeps_role(make_user):
    u = make_user("u", "civil")
    ev = record(
        u, Action.UPDATE, u, changes={"password": ["a", "b"], "name": ["x", "y"]}, detail={"token": "abc"}
    )
    assert ev.changes["password"] == "***" and ev.detail["token"] == "***"
    assert ev.changes["name"] == ["x", "y"] and ev.role == "civil"


def test_bulk_writes_logged_explicitly(make_user):
    u = make_user("u", "admin")
    record_bulk(u, Region, count=120, detail={"source": "test"})
    ev = AuditEvent.objects.get(action=Action.BULK)
    assert ev.detail["count"] == 120 and ev.object_type == "regions.region"
