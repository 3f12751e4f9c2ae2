"""Writing the audit log. Call `audit_record` inside the transaction of the change it records,
so an event is never kept for a change that rolled back (and never lost for one that committed)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *, action: str, actor: Any = None, actor_label: str = "", object_type: str = "",
    object_id: object = "", request: HttpRequest | None = None, data: dict[str, Any] | None = None,
) -> AuditEvent:
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    label = actor_label or (getattr(actor, "username", "") if actor_id else "") or str(actor or "")
    return AuditEvent.objects.create(
        actor_id=actor_id, actor=label[:150], action=action, object_type=object_type,
        object_id=str(object_id)[:64], ip=client_ip(request), data=data or {},
    )
