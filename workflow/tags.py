"""Tagging an alert: scoped and locked like every change to an alert."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert
from alerts.policy import may_tag
from alerts.selectors import alert_for_update
from alerts.tags import clean_tags
from core.errors import Forbidden


def alert_tags_set(*, alert_id: int, by: User, tags: Any) -> Alert:
    """Replace the alert's tags. Out of scope → NotFound; verifiers → Forbidden; bad tags → 400."""
    cleaned = clean_tags(tags)
    with transaction.atomic():
        alert = alert_for_update(user=by, alert_id=alert_id)
        if not may_tag(by):
            raise Forbidden(_("Only supervisors, leaders and administrators may tag alerts."))
        alert.tags = cleaned
        alert.save(update_fields=["tags", "updated_at"])
    return alert
