"""Each role's working screens: the supervisor's dispatch board and disposal tab, the verifier's
my-work list and verification page, the leader's evaluation queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from alerts.selectors import alert_list_for, subject_alert_counts
from alerts.states import DismissReason, Status
from cases.models import Assignment, Disposition, Evaluation, ResultAction, Verification
from cases.services import finding_add
from core.errors import AppError
from core.ids import parse_ids
from web.access import alert_or_404, keyset_paginate, safe_next, screen_required
from web.filters import AlertFilterForm
from web.forms import BulkDispatchForm, FindingForm
from web.views.alerts import detail_context, workflow_error_response
from workflow.services import alert_assign, alert_dismiss, alert_merge

BOARD_HIDDEN = ("state", "status", "conclusion", "outcome", "disposition", "created_from", "created_to")


def with_send_back(alerts: list[Any]) -> None:
    """Mark each shown alert with the leader's last evaluation, so a board can show one sent back
    to the stage it is in now, with the leader's reason (`sent_back` in the template). One query
    for the page's rows only (as correlated subqueries they ran for every row the page skipped)."""
    for a in alerts:
        a.last_decision = a.last_sent_back_to = a.send_back_reason = a.sent_back_by = a.sent_back_at = None
    by_id = {a.pk: a for a in alerts}
    if not by_id:
        return
    # An alert has a handful of evaluations at most: the newest of each is the first seen.
    evaluations = (Evaluation.objects.filter(alert_id__in=list(by_id)).select_related("evaluator")
                   .order_by("alert_id", "-created_at", "-id"))
    seen: set[int] = set()
    for e in evaluations:
        if e.alert_id in seen:
            continue
        seen.add(e.alert_id)
        a = by_id[e.alert_id]
        a.last_decision, a.last_sent_back_to, a.send_back_reason = e.decision, e.sent_back_to, e.comment
        a.sent_back_by, a.sent_back_at = e.evaluator.full_name, e.created_at


def selected_alerts(request: HttpRequest, ids: list[str]) -> list[Any]:
    """The selected alerts, read through the dispatcher's scope (others are left out as unknown).
    Their stage is left to the service, whose refusal says who moved one on meanwhile."""
    pks = parse_ids(ids)[:500]
    return list(alert_list_for(request.user).filter(pk__in=pks).order_by("pk"))


# Highest risk first, then oldest; the id breaks ties (keyset paging needs a unique key).
DISPATCH_ORDER = ("risk_rank", "created_at", "id")
# Nearest deadline first (none last), then risk, then longest in the stage.
DEADLINE_ORDER = ("due_at", "risk_rank", "stage_entered_at", "id")
EVALUATION_ORDER = ("stage_entered_at", "id")


def dispatch_queryset(request: HttpRequest) -> tuple[AlertFilterForm, Any]:
    form = AlertFilterForm(request.GET or None, user=request.user, request=request, hide=BOARD_HIDDEN)
    qs = alert_list_for(request.user).filter(status=Status.WARNING)
    if form.is_bound:
        qs = form.filter(qs)
    return form, qs.order_by(*DISPATCH_ORDER)


def _with_last_return(alerts: list[Any]) -> None:
    """Each shown alert's latest return (who, when, why): one query for the page's rows only."""
    for a in alerts:
        a.returned_at = a.return_reason = a.returned_by = None
    by_id = {a.pk: a for a in alerts}
    returns = (Assignment.objects.filter(alert_id__in=list(by_id), returned_at__isnull=False)
               .select_related("assignee").order_by("alert_id", "-returned_at", "-id"))
    for r in returns:
        a = by_id[r.alert_id]
        if a.returned_at is None:
            a.returned_at, a.return_reason, a.returned_by = r.returned_at, r.return_reason, r.assignee.full_name


@screen_required("dispatch")
def dispatch_board(request: HttpRequest) -> HttpResponse:
    form, qs = dispatch_queryset(request)
    page = keyset_paginate(request, qs, DISPATCH_ORDER)
    _with_last_return(page.object_list)
    # Before dispatching: how many other alerts in scope are about the same subject (the shown
    # rows only, one grouped query).
    counts = subject_alert_counts(request.user, [a.subject_id for a in page])
    for a in page:
        a.same_subject = counts.get(a.subject_id, 1) - 1
    bulk = BulkDispatchForm(user=request.user, alerts=[])
    return render(request, "web/dispatch.html", {"form": form, "page": page, "bulk": bulk, "tab": "dispatch"})


@screen_required("dispatch")
def dispatch_verifiers(request: HttpRequest) -> HttpResponse:
    """The verifier dropdown for the current selection (htmx): only those who can take every
    selected alert, grouped by unit."""
    alerts = selected_alerts(request, request.GET.getlist("alert_ids"))
    bulk = BulkDispatchForm(user=request.user, alerts=alerts)
    chosen = request.GET.get("assignee", "")
    if chosen.isdigit() and bulk.offered.filter(pk=int(chosen)).exists():
        bulk.initial["assignee"] = int(chosen)  # keep the choice while it still fits the selection
    return render(request, "web/_verifier_select.html", {"bulk": bulk, "selected": alerts})


def _numbers(ids: list[int]) -> str:
    return "、".join(f"#{i}" for i in ids)


@screen_required("dispatch")
@require_POST
def dispatch_bulk(request: HttpRequest) -> HttpResponse:
    alerts = selected_alerts(request, request.POST.getlist("alert_ids"))
    form = BulkDispatchForm(request.POST, user=request.user, alerts=alerts)
    back = safe_next(request, reverse("web:dispatch"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    d = form.cleaned_data
    done: list[int] = []
    failed: list[str] = []
    for alert_id in d["alert_ids"]:
        try:
            if d["action"] == "assign":
                alert_assign(alert_id=alert_id, by=request.user, assignee=d["assignee"], note=d["note"])
            elif d["action"] == "merge":
                if alert_id == d["into"]:
                    continue  # the lead itself may be ticked among the alerts: it stays
                alert_merge(alert_id=alert_id, by=request.user, into=d["into"], reason=d["note"])
            else:
                alert_dismiss(alert_id=alert_id, by=request.user, reason=d["reason"], note=d["note"])
            done.append(alert_id)
        except ValidationError as exc:
            failed.append(f"#{alert_id}: {' '.join(exc.messages)}")
        except AppError as exc:
            failed.append(exc.message if exc.message.startswith(f"#{alert_id}") else f"#{alert_id}: {exc.message}")
    if done:
        if d["action"] == "assign":
            messages.success(request, _("Assigned %(alerts)s to %(who)s.") % {
                "alerts": _numbers(done), "who": d["assignee"].display_name})
        elif d["action"] == "merge":
            messages.success(request, _("Merged %(alerts)s into #%(lead)s.") % {
                "alerts": _numbers(done), "lead": d["into"]})
        else:
            messages.success(request, _("Dismissed %(alerts)s (%(reason)s).") % {
                "alerts": _numbers(done), "reason": DismissReason(d["reason"]).label})
    for failure in failed:
        messages.error(request, failure)
    return redirect(back)


@screen_required("disposal")
def disposal_board(request: HttpRequest) -> HttpResponse:
    qs = (
        alert_list_for(request.user)
        .filter(status__in=[Status.DISPOSING, Status.APPLYING])
        .prefetch_related(
            Prefetch("verifications", queryset=Verification.objects.order_by("-created_at", "-id")),
            Prefetch("dispositions", queryset=Disposition.objects.order_by("-created_at", "-id")),
        )
    )
    page = keyset_paginate(request, qs, DEADLINE_ORDER)
    with_send_back(page.object_list)
    return render(request, "web/disposal.html", {"page": page, "tab": "disposal"})


@screen_required("my_work")
def my_work(request: HttpRequest) -> HttpResponse:
    qs = alert_list_for(request.user).filter(assignee=request.user, status__in=[Status.ASSIGNED, Status.VERIFYING])
    page = keyset_paginate(request, qs, DEADLINE_ORDER)
    with_send_back(page.object_list)
    return render(request, "web/my_work.html", {"page": page, "tab": "my_work"})


@screen_required("verify")
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_or_404(request.user, pk)
    if alert.assignee_id != request.user.pk:
        raise PermissionDenied
    ctx = detail_context(request, alert)
    status = 200
    if request.method == "POST":
        form = FindingForm(request.POST, request.FILES)
        if form.is_valid():
            files = [*form.cleaned_data["photos"], *form.cleaned_data["files"]]
            try:
                finding_add(
                    alert_id=alert.pk,
                    author=request.user,
                    text=form.cleaned_data["text"],
                    method=form.cleaned_data["method"],
                    files=files,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for e in errors:
                        form.add_error("files" if field == "files" else None, e)
            except AppError as exc:
                return workflow_error_response(request, exc)
            else:
                messages.success(request, _("Finding recorded."))
                return redirect("web:verify", pk=alert.pk)
        ctx["finding_form"] = form
        status = 400
    return render(request, "web/verify.html", ctx, status=status)


@screen_required("evaluation")
def evaluation_queue(request: HttpRequest) -> HttpResponse:
    qs = (
        alert_list_for(request.user)
        .filter(status=Status.EVALUATING)
        .prefetch_related(
            Prefetch(
                "verifications", queryset=Verification.objects.select_related("verifier").order_by("-created_at", "-id")
            ),
            Prefetch("dispositions", queryset=Disposition.objects.order_by("-created_at", "-id")),
            Prefetch("result_actions", queryset=ResultAction.objects.order_by("created_at", "id")),
        )
    )
    page = keyset_paginate(request, qs, EVALUATION_ORDER)
    return render(request, "web/evaluation.html", {"page": page, "tab": "evaluation"})

