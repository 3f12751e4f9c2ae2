"""Notifications: the in-app inbox, and the outbox of emails and webhook POSTs.

`notify(...)` is called inside the transaction of the change it reports: it writes the inbox rows
and the `Delivery` rows (outbox) and registers an after-commit hook that asks a Celery task to send
them. If that enqueue fails (Redis down), nothing is lost: the rows are committed and the sweep
sends whatever is still pending after a grace period, with exponential backoff on failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import OrgUnit, Role, User
from alerts.models import Alert
from core.masking import mask_text
from core.outbound import post_json
from workflow.models import Delivery, Notification, OrgUnitWebhook

logger = logging.getLogger(__name__)


@dataclass
class Message:
    recipients: Sequence[User]
    kind: str
    title: str
    body: str = ""
    alert: Alert | None = None
    key: str = ""
    event: dict[str, Any] | None = None  # extra fields for the webhook payload
    link: str = ""  # where opening it goes when it is not about an alert (a path of this site)


def role_holders_for(unit: OrgUnit, role: str) -> list[User]:
    """Active users with `role` in the nearest unit at or above `unit` that has any."""
    prefixes = [unit.path[: i + 1] for i, ch in enumerate(unit.path) if ch == "/"]
    users = list(
        User.objects.filter(role=role, is_active=True, org_unit__path__in=prefixes).select_related("org_unit")
    )
    if not users:
        return []
    deepest = max(u.org_unit.path.count("/") for u in users)
    return [u for u in users if u.org_unit.path.count("/") == deepest]


class RoleDirectory:
    """`role_holders_for` memoised per (unit, role), for a sweep batch touching many alerts."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, str], list[User]] = {}

    def preload(self, units: Iterable[OrgUnit], roles: Sequence[str] = (Role.SUPERVISOR, Role.LEADER)) -> None:
        """Fill the memo for many units with one query."""
        units = [u for u in {u.pk: u for u in units}.values()]
        prefixes = {u.path[: i + 1] for u in units for i, ch in enumerate(u.path) if ch == "/"}
        users = list(
            User.objects.filter(role__in=roles, is_active=True, org_unit__path__in=prefixes)
            .select_related("org_unit")
        )
        for unit in units:
            for role in roles:
                mine = [u for u in users if u.role == role and unit.path.startswith(u.org_unit.path)]
                deepest = max((u.org_unit.path.count("/") for u in mine), default=0)
                self._memo[(unit.pk, role)] = [u for u in mine if u.org_unit.path.count("/") == deepest]

    def get(self, unit: OrgUnit, role: str) -> list[User]:
        key = (unit.pk, role)
        if key not in self._memo:
            self._memo[key] = role_holders_for(unit, role)
        return self._memo[key]

    def supervisors(self, unit: OrgUnit) -> list[User]:
        return self.get(unit, Role.SUPERVISOR)

    def leaders(self, unit: OrgUnit) -> list[User]:
        return self.get(unit, Role.LEADER)


def inbox_texts(msg: Message) -> tuple[str, str]:
    """(title, body) as stored in the inbox and sent by email. Masked: the text leaves the case
    file (mail logs, other systems) and reaches people who may not handle the case."""
    return mask_text(str(msg.title))[:255], mask_text(str(msg.body))


def webhook_payload(msg: Message, *, now: datetime) -> dict[str, Any]:
    """The JSON a unit's webhook receives for a message about an alert (masked like the inbox)."""
    alert = msg.alert
    assert alert is not None  # noqa: S101 - only alert messages go to webhooks
    return {
        "event": msg.kind, "title": mask_text(str(msg.title)), "body": mask_text(str(msg.body)),
        "alert": {
            "id": alert.pk, "title": mask_text(alert.title), "status": alert.status,
            "risk_level": alert.risk_level, "unit": alert.org_unit.code,
            "due_at": alert.due_at.isoformat() if alert.due_at else None,
            "escalation_level": alert.escalation_level, "supervised": alert.supervised,
        },
        "recipients": sorted({u.username for u in msg.recipients}),
        "at": now.isoformat(),
        **(msg.event or {}),
    }


def unique_recipients(msg: Message) -> list[User]:
    """The message's recipients, each once, in order."""
    seen: set[int] = set()
    out: list[User] = []
    for user in msg.recipients:
        if user.pk not in seen:
            seen.add(user.pk)
            out.append(user)
    return out


def webhooks_for(units: Iterable[OrgUnit]) -> dict[int, OrgUnitWebhook]:
    """The nearest active webhook at or above each unit, by unit id."""
    units = list(units)
    prefixes = {u.path[: i + 1] for u in units for i, ch in enumerate(u.path) if ch == "/"}
    hooks = {
        h.org_unit.path: h
        for h in OrgUnitWebhook.objects.filter(is_active=True, org_unit__path__in=prefixes).select_related("org_unit")
    }
    found: dict[int, OrgUnitWebhook] = {}
    for unit in units:
        for i in range(len(unit.path) - 1, -1, -1):
            if unit.path[i] == "/" and unit.path[: i + 1] in hooks:
                found[unit.pk] = hooks[unit.path[: i + 1]]
                break
    return found


def notify_many(messages: Sequence[Message], *, now: datetime | None = None) -> list[int]:
    """Write inbox rows and outbox deliveries for `messages` (inside the caller's transaction);
    schedule sending after commit. Returns the delivery ids."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.HUOYAN_DELIVERY_GRACE_SECONDS)
    notes: list[Notification] = []
    owners: list[Message] = []
    for msg in messages:
        title, body = inbox_texts(msg)
        for user in unique_recipients(msg):
            notes.append(
                Notification(
                    recipient=user, alert=msg.alert, kind=msg.kind, title=title, body=body, key=msg.key,
                    link=msg.link, created_at=now,
                )
            )
            owners.append(msg)
    if any(n.key for n in notes):
        # Keyed notifications are idempotent: skip the ones already in the inbox.
        existing = set(
            Notification.objects.filter(key__in={n.key for n in notes if n.key}).values_list("recipient_id", "key")
        )
        keep = [
            (n, m) for n, m in zip(notes, owners, strict=True)
            if not n.key or (n.recipient_id, n.key) not in existing
        ]
        notes = [n for n, _ in keep]
        owners = [m for _, m in keep]
    if not notes:
        return []
    notes, owners = _insert_skipping_duplicates(notes, owners)
    if not notes:
        return []
    deliveries: list[Delivery] = []
    for note in notes:
        if note.recipient.email:
            deliveries.append(
                Delivery(
                    channel=Delivery.Channel.EMAIL, notification=note, address=note.recipient.email,
                    payload={"subject": note.title, "body": note.body}, created_at=now,
                    next_attempt_at=now + grace,
                )
            )
    kept = {id(m) for m in owners}
    alert_messages = [m for m in messages if m.alert is not None and id(m) in kept]
    hooks = webhooks_for({m.alert.org_unit_id: m.alert.org_unit for m in alert_messages}.values())
    for msg in alert_messages:
        hook = hooks.get(msg.alert.org_unit_id)
        if hook is None:
            continue
        payload = webhook_payload(msg, now=now)
        deliveries.append(
            Delivery(
                channel=Delivery.Channel.WEBHOOK, webhook=hook, address=hook.url, payload=payload,
                created_at=now, next_attempt_at=now + grace,
            )
        )
    Delivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in deliveries]
    if ids:
        transaction.on_commit(lambda: enqueue_deliveries(ids))
    return ids


def _insert_skipping_duplicates(
    notes: list[Notification], owners: list[Message]
) -> tuple[list[Notification], list[Message]]:
    """Insert the notifications; a keyed one that a concurrent sweep inserted first (the unique
    key check above cannot see uncommitted rows) is skipped instead of failing the whole sweep."""
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(notes)
        return notes, owners
    except IntegrityError:
        kept: list[tuple[Notification, Message]] = []
        for note, owner in zip(notes, owners, strict=True):
            try:
                with transaction.atomic():
                    note.save()
            except IntegrityError:
                continue
            kept.append((note, owner))
        return [n for n, _ in kept], [m for _, m in kept]


def enqueue_deliveries(ids: list[int]) -> None:
    """After commit: hand the deliveries to a worker. Never raises: if the broker is down the
    rows stay pending and the sweep sends them."""
    try:
        send_deliveries.apply_async(args=[ids], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the outbox row is the source of truth
        logger.warning("could not enqueue %d deliveries; the sweep will send them", len(ids), exc_info=True)


# ----- sending -----

def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _send_one(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        send_mail(
            subject=delivery.payload.get("subject", ""), message=delivery.payload.get("body", ""),
            from_email=None, recipient_list=[delivery.address], fail_silently=False,
        )
        return
    hook = delivery.webhook
    if hook is None or not hook.is_active:
        raise RuntimeError("webhook removed or disabled")
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    # core.outbound: https only, the resolved address checked (no private, loopback, link-local
    # or metadata address) and connected to directly, no redirects, short timeouts.
    status = post_json(
        hook.url, body, timeout=settings.HUOYAN_WEBHOOK_TIMEOUT_SECONDS,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Huoyan-Signature": sign(hook.secret, body),
            "X-Huoyan-Delivery": str(delivery.pk),
            "User-Agent": "Huoyan-Webhook/1",
        },
    )
    if not 200 <= status < 300:
        # A 3xx is a failure too: redirects are never followed.
        raise RuntimeError(f"HTTP {status}")


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 1 hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


# A claimed delivery is not picked up again for this long (the sender holds a lease, not a lock).
LEASE = timedelta(minutes=5)


def _claim_deliveries(
    *, ids: Sequence[int] | None, now: datetime, limit: int, tried: set[int],
) -> list[Delivery]:
    """Claim up to `limit` pending rows: SKIP LOCKED, then count the attempt and push
    `next_attempt_at` out by the lease, and commit — so no transaction stays open while mail or
    HTTP is slow, and neither the after-commit task nor a concurrent sweep takes the same row."""
    with transaction.atomic():
        qs = Delivery.objects.filter(state=Delivery.State.PENDING)
        if ids is not None:
            # A fresh row (never tried) any time; a tried one only once its lease/backoff is over.
            qs = qs.filter(pk__in=list(ids)).filter(Q(attempts=0) | Q(next_attempt_at__lte=now))
        else:
            qs = qs.filter(next_attempt_at__lte=now)
        if tried:
            qs = qs.exclude(pk__in=tried)
        batch = list(
            qs.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook").order_by("next_attempt_at", "id")[:limit]
        )
        if batch:
            Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + LEASE
            )
        for delivery in batch:
            delivery.attempts += 1
            tried.add(delivery.pk)
    return batch


def deliveries_send(
    *, ids: Sequence[int] | None = None, now: datetime | None = None, limit: int = 200,
) -> dict[str, int]:
    """Send pending deliveries: the given ids (the after-commit task), or those due for a
    (re)try (the sweep).

    Delivery is at least once: a sender that dies between sending and recording leaves the row
    to be retried after the lease. A row recorded as sent is never sent again. A failure records
    the error and schedules the next attempt with exponential backoff, up to the attempt limit.
    """
    counts = {"sent": 0, "failed": 0, "retry": 0}
    tried: set[int] = set()
    while True:
        now_ = now or timezone.now()
        batch = _claim_deliveries(ids=ids, now=now_, limit=limit, tried=tried)
        for delivery in batch:
            update: dict[str, object]
            try:
                _send_one(delivery)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
                error = f"{type(exc).__name__}: {exc}"[:2000]
                if delivery.attempts >= settings.HUOYAN_DELIVERY_MAX_ATTEMPTS:
                    update = {"state": Delivery.State.FAILED, "last_error": error}
                    counts["failed"] += 1
                else:
                    update = {"next_attempt_at": now_ + backoff(delivery.attempts), "last_error": error}
                    counts["retry"] += 1
                logger.warning("delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, exc)
            else:
                update = {"state": Delivery.State.SENT, "sent_at": timezone.now(), "last_error": ""}
                counts["sent"] += 1
            Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING).update(**update)
        if len(batch) < limit:
            return counts


@shared_task(name="workflow.tasks.send_deliveries", acks_late=True, reject_on_worker_lost=True)
def send_deliveries(ids: list[int]) -> dict:
    """Send the outbox rows just committed; anything left pending is retried by the sweep.
    (Declared here, beside what it sends, so scheduling it needs no import back from tasks.)"""
    return deliveries_send(ids=ids)
