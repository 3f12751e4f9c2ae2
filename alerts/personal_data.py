"""Reading an alert with its personal data: the one use case that both the API and the screens
call before they show an alert, its timeline, comments or findings.

Full ID and phone numbers are shown only to those `alerts.policy.may_view_full_pii` allows, and
only when something shown actually holds one; every time they are, one `pii_view` audit entry
records who saw which alert, from where. Everyone else gets the texts through `core.masking`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from accounts.models import User
from alerts.models import Alert, Subject
from alerts.policy import may_view_full_pii
from audit.models import AuditEvent
from audit.services import audit_record
from core.masking import contains_pii


def full_pii_shown(
    *, user: User, alert: Alert, values: Iterable[Any], request: HttpRequest | None = None,
) -> bool:
    """True when `values` (what is about to be shown of `alert`) go out unmasked to `user`;
    audited when they do. False means: mask them."""
    if not may_view_full_pii(user, alert):
        return False
    if not any(contains_pii(v) or (v and v == alert.subject_id_number) for v in values):
        return False  # nothing personal in what is shown: nothing to audit
    audit_record(
        action=AuditEvent.Action.PII_VIEW, actor=user, request=request, object_type="alert",
        object_id=alert.pk, data={"path": request.path if request is not None else ""},
    )
    return True


def alert_shown_values(alert: Alert) -> list[Any]:
    """The alert's own fields a detail shows that may hold personal data."""
    return [alert.subject_id_number, alert.subject_name, alert.title, alert.details]


def subject_full_pii_shown(*, user: User, subject: Subject, request: HttpRequest | None = None) -> bool:
    """A subject file's own page shows the full ID number and name to those who may see them,
    with one `pii_view` audit entry; lists of subjects are always masked."""
    if not may_view_full_pii(user) or not (subject.id_number or contains_pii(subject.name)):
        return False
    audit_record(
        action=AuditEvent.Action.PII_VIEW, actor=user, request=request, object_type="subject",
        object_id=subject.pk, data={"path": request.path if request is not None else ""},
    )
    return True
