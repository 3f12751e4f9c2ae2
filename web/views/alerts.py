"""Screens every role shares: home, the alert list and its exports, the alert detail with the
actions this user may take now, comments, evidence downloads and printable notices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from alerts import policy
from alerts.personal_data import alert_shown_values, full_pii_shown
from alerts.policy import may_add_finding, transitions_available_to
from alerts.selectors import alert_list_for, related_alerts
from alerts.states import Status
from alerts.transitions import TRANSITIONS
from cases.downloads import evidence_response
from cases.models import Comment, Referral
from cases.services import comment_add
from core.errors import AppError, NotFound
from screening.evidence import hit_view
from screening.selectors import alert_projects, rule_label
from web.access import HOME_BY_ROLE, alert_or_404, keyset_paginate, safe_next
from web.filters import AlertFilterForm
from web.forms import (
    AlertTagsForm,
    CommentForm,
    EscalateHandlingForm,
    FindingForm,
    ReferralReplyForm,
    transition_form,
)
from web.text import done_message
from web.views.extensions import extension_context
from web.views.results import results_context
from workflow.deadlines import is_overdue, timeliness_of
from workflow.export_jobs import export_in_background, export_now
from workflow.handling import alert_escalate_handling
from workflow.referrals import referral_reply_record
from workflow.services import alert_transition, alert_transition_precheck
from workflow.tags import alert_tags_set


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(HOME_BY_ROLE.get(request.user.role, "web:alert_list"))


# ----- list and exports -----


# Newest first; the id breaks ties (keyset paging needs a unique key).
LIST_ORDER = ("-created_at", "-id")


def _filtered(request: HttpRequest) -> tuple[AlertFilterForm, Any]:
    form = AlertFilterForm(request.GET or None, user=request.user, request=request)
    qs = form.filter(alert_list_for(request.user)) if form.is_bound else alert_list_for(request.user)
    return form, qs.order_by(*LIST_ORDER)


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    form, qs = _filtered(request)

    def many() -> Any:
        # A search term in more than 10,000 alerts: read the newest alerts until the page is full.
        return form.filter(alert_list_for(request.user), indexed=False)

    page = keyset_paginate(request, qs, LIST_ORDER, many=many if form.is_bound else None)
    return render(request, "web/alert_list.html", {"form": form, "page": page, "tab": "list"})


def alert_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The filtered list as a file: at once when it is small; when it is large, a page that
    offers to prepare it in the background (`workflow.export_jobs`)."""
    form, qs = _filtered(request)
    if export_in_background(qs):
        return render(request, "web/export_confirm.html", {
            "format": fmt, "query": request.GET.urlencode(), "threshold": settings.HUOYAN_EXPORT_BACKGROUND_ROWS,
            "form": form, "tab": "list",
        })
    result = export_now(user=request.user, qs=qs, fmt=fmt, filters=request.GET.dict(), request=request)
    if result.chunks is not None:
        response: HttpResponse = StreamingHttpResponse(result.chunks, content_type=result.content_type)
        response["Content-Disposition"] = content_disposition_header(True, result.filename)
        return response
    return FileResponse(result.file, as_attachment=True, filename=result.filename,
                        content_type=result.content_type)


@login_required
def alert_export_csv(request: HttpRequest) -> HttpResponse:
    return alert_export(request, "csv")


@login_required
def alert_export_xlsx(request: HttpRequest) -> HttpResponse:
    return alert_export(request, "xlsx")


# ----- detail and actions -----


def _failed_key(alert_id: int, name: str) -> str:
    return f"huoyan:failed-form:{alert_id}:{name}"


def _remember_failed(request: HttpRequest, alert_id: int, name: str, exc: ValidationError | None) -> None:
    """Post/redirect/get: a refused submission is kept in the session for the page it came from,
    which shows it again with its errors (a reload then never posts it twice)."""
    errors: dict[str, list[str]] = {}
    if exc is not None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    request.session[_failed_key(alert_id, name)] = {
        "data": {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"},
        "errors": errors,
    }


def _restore_failed(request: HttpRequest, alert: Any, name: str) -> Any | None:
    saved = request.session.pop(_failed_key(alert.pk, name), None) if hasattr(request, "session") else None
    if not saved:
        return None
    data = QueryDict(mutable=True)
    for key, values in saved["data"].items():
        data.setlist(key, values)
    form = transition_form(name, user=request.user, alert=alert, data=data)
    form.is_valid()
    if saved["errors"]:
        _add_service_errors(form, ValidationError(saved["errors"]))
    return form


def _action_forms(request: HttpRequest, alert: Any, names: list[str], bound: dict | None = None) -> dict:
    bound = dict(bound or {})
    for n in names:
        if n not in bound and (failed := _restore_failed(request, alert, n)) is not None:
            bound[n] = failed
    return {n: bound[n] if n in bound else transition_form(n, user=request.user, alert=alert) for n in names}


def _texts(records: list[Any], *fields: str) -> list[Any]:
    return [getattr(r, f, "") for r in records for f in fields]


TIMELINE_LATEST = 100


def timeline_context(alert: Any, *, everything: bool = False) -> dict[str, Any]:
    """The latest entries (oldest first); all of them only when asked ("show all")."""
    entries = alert.timeline.select_related("actor")
    if everything:
        shown = list(entries.order_by("at", "id"))
        return {"timeline": shown, "timeline_total": len(shown), "timeline_shown": len(shown),
                "timeline_hidden": 0}
    latest = list(entries.order_by("-at", "-id")[:TIMELINE_LATEST])[::-1]
    total = len(latest) if len(latest) < TIMELINE_LATEST else alert.timeline.count()
    return {"timeline": latest, "timeline_total": total, "timeline_shown": len(latest),
            "timeline_hidden": total - len(latest)}


def detail_context(request: HttpRequest, alert: Any, bound: dict | None = None) -> dict[str, Any]:
    names = transitions_available_to(alert, request.user)
    timeline = timeline_context(alert, everything=request.GET.get("timeline") == "all")
    records = {
        "timeline": timeline["timeline"],
        "comments": list(alert.comments.select_related("author")),
        "findings": list(alert.findings.select_related("author").prefetch_related("evidence")),
        "assignments": list(alert.assignments.select_related("assignee", "assigned_by")),
        "verifications": list(alert.verifications.select_related("verifier")),
        "dispositions": list(alert.dispositions.select_related("decided_by").prefetch_related("people")),
        "result_actions": list(alert.result_actions.select_related("issued_by")),
        "evaluations": list(alert.evaluations.select_related("evaluator")),
        "dismissals": list(alert.dismissals.select_related("dismissed_by")),
    }
    extensions = extension_context(request, alert)
    # Everything this page prints with the `pii` filter: full values (and one audit entry) only
    # if the reader may see them and one of these texts holds some — the API's rule exactly.
    shown = [
        *alert_shown_values(alert),
        *_texts(records["timeline"], "text"), *_texts(records["comments"], "text"),
        *_texts(records["findings"], "text"), *_texts(records["assignments"], "note", "return_reason"),
        *[ev.original_name for f in records["findings"] for ev in f.evidence.all()],
        *_texts(records["verifications"], "summary"), *_texts(records["dispositions"], "note"),
        *_texts(records["result_actions"], "recipient", "text", "feedback", "withdraw_reason", "review_note"),
        *_texts(records["evaluations"], "comment"), *_texts(records["dismissals"], "note"),
        *_texts(extensions.get("extensions", []), "reason", "decision_note"),
    ]
    full_pii = full_pii_shown(user=request.user, alert=alert, values=shown, request=request)
    referral = alert.referrals.order_by("-created_at", "-id").first()
    return {
        **extensions,
        **records,
        "related": list(related_alerts(request.user, alert)),
        "merged_alerts": list(alert.merged_alerts.all()),
        "referral": referral,
        "referral_reply_form": (
            ReferralReplyForm(prefix="reply")
            if alert.status == Status.REFERRED and referral and referral.state == Referral.State.AWAITING
            and policy.is_transition_actor(request.user, alert, "accept_referral") else None
        ),
        "escalate_form": EscalateHandlingForm(prefix="esc") if policy.may_escalate_handling(request.user, alert)
        else None,
        "alert": alert,
        "actions": [(n, TRANSITIONS[n].label) for n in names],
        "forms": _action_forms(request, alert, names, bound),
        "full_pii": full_pii,
        "hit": hit_view(alert, full_pii=full_pii),
        "timeliness": timeliness_of(alert),
        "overdue": is_overdue(alert),
        **{k: v for k, v in timeline.items() if k != "timeline"},
        "comment_form": CommentForm(),
        **results_context(request, alert),
        "finding_form": FindingForm() if may_add_finding(request.user, alert) else None,
        "projects": alert_projects(request.user, alert),
        "rule_label": rule_label(alert),
        "tags_form": AlertTagsForm(initial={"tags": ", ".join(alert.tags or [])}, prefix="tags")
        if policy.may_tag(request.user) else None,
    }


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_or_404(request.user, pk)
    return render(request, "web/alert_detail.html", detail_context(request, alert))


@login_required
def alert_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """Every timeline entry, as the fragment "show all" swaps in."""
    alert = alert_or_404(request.user, pk)
    if not request.htmx:
        return redirect(reverse("web:alert_detail", args=[alert.pk]) + "?timeline=all#timeline-entries")
    ctx = timeline_context(alert, everything=True)
    shown = [*alert_shown_values(alert), *_texts(ctx["timeline"], "text")]
    full = full_pii_shown(user=request.user, alert=alert, values=shown, request=request)
    return render(request, "web/_timeline.html", {"alert": alert, "full_pii": full, **ctx})


def _add_service_errors(form: Any, exc: ValidationError) -> None:
    target = form.forms[0] if hasattr(form, "forms") and form.forms else form
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                if hasattr(target, "fields") and field in target.fields:
                    target.add_error(field, message)
                elif hasattr(form, "non_form_errors"):
                    form._non_form_errors = form.error_class([*form.non_form_errors(), message])
                else:
                    target.add_error(None, message)
    else:
        for message in exc.messages:
            if hasattr(form, "non_form_errors"):
                form._non_form_errors = form.error_class([*form.non_form_errors(), message])
            else:
                form.add_error(None, message)


def workflow_error_response(request: HttpRequest, exc: AppError) -> HttpResponse:
    if exc.status_code == 404:
        raise Http404
    return render(request, "web/error.html", {"message": exc.message}, status=exc.status_code)


def _action_checked(request: HttpRequest, pk: int, name: str) -> tuple[Any, HttpResponse | None]:
    """The alert in scope (404 otherwise) and, if the user may not take `name` now, the refusal."""
    alert = alert_or_404(request.user, pk)
    if name not in TRANSITIONS:
        raise Http404
    try:
        alert_transition_precheck(alert=alert, name=name, by=request.user)
    except AppError as exc:
        return alert, workflow_error_response(request, exc)
    return alert, None


@login_required
@require_POST
def alert_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    alert, refused = _action_checked(request, pk, name)
    if refused:
        return refused

    form = transition_form(name, user=request.user, alert=alert, data=request.POST)
    refusal: ValidationError | None = None
    if form.is_valid():
        try:
            alert_transition(alert_id=alert.pk, name=name, by=request.user, data=form.service_data())
        except ValidationError as exc:
            refusal = exc
        except AppError as exc:
            return workflow_error_response(request, exc)
        else:
            messages.success(request, done_message(alert, name, TRANSITIONS[name].label))
            if name == "return":
                # Returned: it is no longer the verifier's; back to their list.
                return redirect("web:my_work")
            return redirect(safe_next(request, reverse("web:alert_detail", args=[alert.pk])))
    # Refused: back to the page the form lives on (GET), which shows it again with its errors.
    _remember_failed(request, alert.pk, name, refusal)
    verify_page = reverse("web:verify", args=[alert.pk])
    page = verify_page if safe_next(request, "") == verify_page else reverse("web:alert_detail", args=[alert.pk])
    messages.error(request, _("%(action)s #%(n)s was not done: see the form below.") % {
        "action": TRANSITIONS[name].label, "n": alert.pk})
    return redirect(f"{page}#act-{name}")


@login_required
def alert_action_form(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One action's form as a fragment, for boards that open it in place with htmx."""
    alert, refused = _action_checked(request, pk, name)
    if refused:
        return refused
    form = _action_forms(request, alert, [name])[name]
    ctx = {
        "alert": alert, "name": name, "label": TRANSITIONS[name].label, "f": form,
        "action_next": safe_next(request, reverse("web:alert_detail", args=[alert.pk])),
    }
    if not request.htmx:
        return redirect(reverse("web:alert_detail", args=[alert.pk]) + f"#act-{name}")
    return render(request, "web/_action_one.html", ctx)


@login_required
@require_POST
def comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_or_404(request.user, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment_add(alert_id=alert.pk, author=request.user, text=form.cleaned_data["text"])
        except AppError as exc:
            return workflow_error_response(request, exc)
        form = CommentForm()
    if request.htmx:
        comments = Comment.objects.filter(alert=alert).select_related("author")
        return render(request, "web/_comments.html", {
            "alert": alert, "comments": comments, "comment_form": form,
            "full_pii": full_pii_shown(
                user=request.user, alert=alert, request=request,
                values=[*alert_shown_values(alert), *_texts(list(comments), "text")],
            ),
        })
    return redirect(reverse("web:alert_detail", args=[alert.pk]) + "#comments")


def _detail_form_post(request: HttpRequest, alert: Any, form: Any, *, form_key: str, run: Callable[[dict], Any],
                      done: str, anchor: str = "") -> HttpResponse:
    """A form posted from the detail page: one service call; done → back to the page with
    `done`; refused → the page again with the service's field errors on the form (400)."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        except AppError as exc:
            return workflow_error_response(request, exc)
        else:
            messages.success(request, done)
            return redirect(reverse("web:alert_detail", args=[alert.pk]) + anchor)
    ctx = detail_context(request, alert)
    ctx[form_key] = form
    return render(request, "web/alert_detail.html", ctx, status=400)


@login_required
@require_POST
def alert_tags(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace the alert's tags from the detail page: the API's use case (`alert_tags_set`)."""
    alert = alert_or_404(request.user, pk)
    return _detail_form_post(
        request, alert, AlertTagsForm(request.POST, prefix="tags"), form_key="tags_form", anchor="#tags",
        run=lambda d: alert_tags_set(alert_id=alert.pk, by=request.user, tags=d["tags"]),
        done=_("Tags of alert #%(id)s saved.") % {"id": alert.pk})


@login_required
@require_POST
def escalate_handling(request: HttpRequest, pk: int) -> HttpResponse:
    """提级办理 from the detail page: the same use case as the API's."""
    alert = alert_or_404(request.user, pk)
    return _detail_form_post(
        request, alert, EscalateHandlingForm(request.POST, prefix="esc"), form_key="escalate_form",
        run=lambda d: alert_escalate_handling(alert_id=alert.pk, by=request.user, reason=d["reason"]),
        done=_("Your unit now handles alert #%(id)s.") % {"id": alert.pk})


@login_required
@require_POST
def referral_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the department's reply to a referral (预警纠治), with its attachments."""
    alert = alert_or_404(request.user, pk)
    return _detail_form_post(
        request, alert, ReferralReplyForm(request.POST, request.FILES, prefix="reply"),
        form_key="referral_reply_form", anchor="#referral",
        run=lambda d: referral_reply_record(alert_id=alert.pk, by=request.user, reply=d["reply"], files=d["files"]),
        done=_("The department's reply on alert #%(id)s is recorded; accept or reject it.") % {"id": alert.pk})


@login_required
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    """Evidence is served only here (and by the API), after the scope check; never from a public
    media URL."""
    try:
        return evidence_response(user=request.user, evidence_id=pk, request=request)
    except NotFound:
        raise Http404 from None

