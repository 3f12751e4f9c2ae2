"""Template context every page needs: the unread count of the bell in the header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from workflow.inbox import unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    """One COUNT on the (recipient, read_at) index, run only when a page renders the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
