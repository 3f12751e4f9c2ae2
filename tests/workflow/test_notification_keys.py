"""A notification with an event key is written once, even when two writers race."""

from __future__ import annotations

import pytest

from workflow.models import Notification

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


@pytest.fixture
def phone_alert(make_alert):
    return make_alert(title=f"举报人电话{PHONE}反映问题")


def test_a_keyed_notification_written_concurrently_is_skipped_not_fatal(people, phone_alert):
    from workflow.notify import _insert_skipping_duplicates

    Notification.objects.create(recipient=people.kunshan_verifier, alert=phone_alert, kind="overdue",
                                title="t", body="", key="order-1-overdue", created_at=phone_alert.created_at)
    dup = Notification(recipient=people.kunshan_verifier, alert=phone_alert, kind="overdue", title="t", body="",
                       key="order-1-overdue", created_at=phone_alert.created_at)
    other = Notification(recipient=people.kunshan_verifier, alert=phone_alert, kind="overdue", title="u", body="",
                         key="", created_at=phone_alert.created_at)
    notes, owners = _insert_skipping_duplicates([dup, other], ["a", "b"])
    assert notes == [other] and owners == ["b"]
    assert Notification.objects.filter(key="order-1-overdue").count() == 1
