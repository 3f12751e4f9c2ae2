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


def _clean(value: Any) -> Any:
    """PostgreSQL cannot store U+0000 in text or jsonb: a NUL anywhere (say, in an export's
    query string) would make the audit write, and with it the request, fail. Replace it."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def audit_record(
    *, action: str, actor: Any = None, actor_label: str = "", object_type: str = "",
    object_id: object = "", request: HttpRequest | None = None, data: dict[str, Any] | None = None,
) -> AuditEvent:
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    label = actor_label or (getattr(actor, "username", "") if actor_id else "") or str(actor or "")
    return AuditEvent.objects.create(
        actor_id=actor_id, actor=_clean(label)[:150], action=action, object_type=_clean(object_type),
        object_id=_clean(str(object_id))[:64], ip=client_ip(request), data=_clean(data or {}),
    )
