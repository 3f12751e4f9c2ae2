"""The in-app inbox: reads and the one write (mark read), always for the requesting user."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from workflow.models import Notification


def notifications_for(user: User) -> QuerySet[Notification]:
    if not user.is_authenticated or user.pk is None:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()


def notifications_mark_read(*, user: User, ids: Sequence[int] | None = None) -> int:
    """Mark the given notifications (or all) of `user` read; returns how many changed."""
    qs = notifications_for(user).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
