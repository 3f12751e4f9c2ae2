"""On the real PostgreSQL: with the roles of `setup_db_roles`, the application's role can write
and read the audit log but cannot UPDATE, DELETE, TRUNCATE it or disable its triggers; and even
the owner (or the superuser) cannot TRUNCATE it while the trigger stands."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.backends.postgresql.operations import DatabaseOperations

from accounts.models import OrgUnit
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table


@pytest.fixture
def roles():
    """Owner and app roles made by the command, inside the test's transaction (so they vanish
    with it); unique names, since roles are shared by the whole PostgreSQL server."""
    assert connection.vendor == "postgresql"
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"hy_test_owner_{suffix}", f"hy_test_app_{suffix}"
    out = io.StringIO()
    call_command("setup_db_roles", owner=owner, app=app, stdout=out)
    assert app in out.getvalue()
    yield owner, app
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def _as(role: str, sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(role)}")
        cursor.execute(sql)


def _refused(role: str, sql: str) -> str:
    with pytest.raises(DatabaseError) as caught:
        _as(role, sql)
    return str(caught.value)


def test_the_app_role_cannot_update_delete_truncate_or_disable_the_trigger(roles):
    _owner, app = roles
    event = AuditEvent.objects.create(action="login", actor="x")
    for sql in (
        f"UPDATE {TABLE} SET actor = 'someone else' WHERE id = {event.pk}",
        f"DELETE FROM {TABLE} WHERE id = {event.pk}",
        f"TRUNCATE {TABLE}",
        f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_event_append_only",
        f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL",
        f"DROP TRIGGER audit_event_no_truncate ON {TABLE}",
        f"DROP TABLE {TABLE}",
    ):
        message = _refused(app, sql)
        assert "permission denied" in message or "must be owner" in message, (sql, message)
    event.refresh_from_db()
    assert event.actor == "x"


def test_the_app_role_can_still_write_and_read_the_audit_log_and_other_tables(roles):
    _owner, app = roles
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(app)}")
        event = audit_record(action=AuditEvent.Action.LOGIN, actor_label="as-app")
        assert AuditEvent.objects.filter(pk=event.pk).exists()
        unit = OrgUnit.objects.create(code="as-app", name="x", level="county", path="as-app/")
        OrgUnit.objects.filter(pk=unit.pk).update(name="y")
        OrgUnit.objects.filter(pk=unit.pk).delete()


def test_the_owner_cannot_truncate_the_audit_log_while_the_trigger_stands(roles):
    owner, _app = roles
    AuditEvent.objects.create(action="login", actor="x")
    assert "append-only" in _refused(owner, f"TRUNCATE {TABLE}")
    assert "append-only" in _refused(owner, f"UPDATE {TABLE} SET actor = 'y'")


def test_truncate_is_refused_even_for_the_superuser():
    AuditEvent.objects.create(action="login", actor="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.exists()


def test_manage_py_flush_cannot_empty_the_audit_log(monkeypatch):
    # The suite's own flush between tests turns triggers off for itself (tests/conftest.py);
    # here `flush` runs as it does in production.
    monkeypatch.setattr(DatabaseOperations, "execute_sql_flush", DatabaseOperations.execute_sql_flush.original)
    AuditEvent.objects.create(action="login", actor="x")
    with pytest.raises(CommandError, match="couldn't be flushed") as caught:
        call_command("flush", interactive=False, verbosity=0)
    assert "append-only" in str(caught.value.__cause__)
    assert AuditEvent.objects.filter(actor="x").exists()


def test_the_command_prints_its_sql_in_a_dry_run():
    out = io.StringIO()
    call_command("setup_db_roles", owner="hy_owner_dry", app="hy_app_dry", dry_run=True, app_password="secret",
                 stdout=out)
    text = out.getvalue()
    assert f'GRANT SELECT, INSERT ON "public"."{TABLE}" TO "hy_app_dry"' in text
    assert "secret" not in text
