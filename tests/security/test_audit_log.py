from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from tests.api.helpers import transition_url
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_every_state_change_is_audited_with_its_actor(api, people, make_alert):
    alert = make_alert()
    api(people.kunshan_supervisor).post(transition_url(alert, "dismiss"), {"reason": "duplicate"}, format="json")
    event = AuditEvent.objects.get(action="state_change", object_id=str(alert.pk))
    assert event.actor == "kunshan_supervisor" and event.data == {
        "transition": "dismiss", "from": "warning", "to": "closed"}


def test_a_refused_transition_leaves_no_audit_entry(api, people, make_alert):
    alert = make_alert()
    api(people.kunshan_verifier).post(transition_url(alert, "dismiss"), {"reason": "duplicate"}, format="json")
    assert not AuditEvent.objects.filter(action="state_change").exists()


def test_logins_and_failed_logins_are_audited(client, people):
    assert client.login(username="kunshan_verifier", password=PASSWORD)
    assert not client.login(username="kunshan_verifier", password="wrong")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor"))
    assert ("login", "kunshan_verifier") in actions and ("login_failed", "kunshan_verifier") in actions
    assert not AuditEvent.objects.filter(data__icontains="wrong").exists()


def test_the_database_refuses_to_update_or_delete_audit_rows(people):
    assert connection.vendor == "postgresql"
    event = AuditEvent.objects.create(action="login", actor="x")
    for attempt in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(actor="someone else"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    with connection.cursor() as cursor, pytest.raises(DatabaseError), transaction.atomic():
        cursor.execute("UPDATE audit_auditevent SET actor = 'raw' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.actor == "x"


def test_permission_changes_in_the_admin_are_audited(client, people, org):
    from accounts.services import user_upsert

    root = user_upsert(username="root", password="x-pass-123", role="admin", org_unit=org.city, is_superuser=True)
    client.force_login(root)
    target = people.kunshan_verifier
    r = client.post(f"/admin/accounts/user/{target.pk}/change/", {
        "username": target.username, "full_name": target.full_name, "role": "supervisor",
        "org_unit": org.kunshan.pk, "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    event = AuditEvent.objects.get(action="permission_change", object_id=str(target.pk))
    assert event.actor == "root" and event.data["changes"] == {"role": "supervisor"}
