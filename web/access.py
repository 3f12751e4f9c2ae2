"""Who may open which screen. Alerts are always fetched through `alerts.selectors`, so an
alert outside the user's scope is a 404, never a 403 that would confirm it exists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import Role, User
from alerts.models import Alert
from alerts.policy import may_open, screens_for
from alerts.selectors import alert_get_for
from core.paging import KeysetPage, keyset_page

HOME_BY_ROLE = {
    Role.SUPERVISOR: "web:dispatch",
    Role.VERIFIER: "web:my_work",
    Role.LEADER: "web:evaluation",
    Role.ADMIN: "web:alert_list",
}


def screen_required(screen: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Log in first; then 403 unless `alerts.policy` lets the user's role open `screen`."""
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not may_open(request.user, screen):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor: which screens the navigation offers (`screens.dispatch`, …)."""
    return {"screens": screens_for(request.user)}


def alert_or_404(user: User, pk: int) -> Alert:
    alert = alert_get_for(user, pk)
    if alert is None:
        raise Http404
    return alert


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


PAGE_SIZE = 25


def paginate(request: HttpRequest, qs: Any, size: int = PAGE_SIZE, count: int | None = None) -> Any:
    """A page of `qs`; pass `count` when it is already known (no second COUNT query)."""
    paginator = Paginator(qs, size)
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property: this replaces the query
    return paginator.get_page(request.GET.get("page"))


def keyset_paginate(request: HttpRequest, qs: Any, order: Sequence[str], size: int = PAGE_SIZE,
                    many: Callable[[], Any] | None = None) -> KeysetPage:
    """A page of a long list: "next" / "previous" follow cursors (`after` / `before`), a bare
    `page` number is an offset, the count stops at 10,000 (core.paging, also for `many`)."""
    g = request.GET
    return keyset_page(qs, order=order, size=size, page=g.get("page"), after=g.get("after", ""),
                       before=g.get("before", ""), many=many)
