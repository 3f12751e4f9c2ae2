"""Screens of the use of results: the notices of an alert (official print layout, .docx,
withdraw and re-issue), replies to them (recorded, accepted, rejected), the rectification
ledger with its xlsx export, and the case file (案卷).

Each form posts to one service in `workflow.notices` / `workflow.ledger`; errors come back as
messages on the alert page, never as a raw code.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import filter_by_unit_code, units_visible_to
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import DOCUMENT_KINDS, ActionKind
from audit.models import AuditEvent
from audit.services import audit_record
from cases.downloads import feedback_attachment_response
from cases.models import ResultAction
from core.errors import AppError
from web.access import alert_or_404, keyset_paginate, safe_next, screen_required
from web.forms import NoticeReissueForm, StyledForm
from workflow import ledger, notices
from workflow.documents import DOCX_CONTENT_TYPE, case_file_docx, notice_docx
from workflow.ledger_export import ledger_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def results_context(request: HttpRequest, alert: Alert) -> dict[str, Any]:
    """The alert's notices with what this user may do on each (for the record on the detail page)."""
    user: User = request.user
    rows = []
    on = ledger.today()
    for n in alert.result_actions.select_related("issued_by", "issuing_unit", "replaces").prefetch_related(
        "attachments", "replaced_by"
    ):
        state = ledger.state_of(n, on=on) if n.asks_reply and not n.is_withdrawn else ""
        waiting_reply = state in (ledger.AWAITING, ledger.DUE_SOON, ledger.OVERDUE, ledger.REJECTED)
        rows.append({
            "n": n,
            "state": state,
            "state_label": ledger.LEDGER_STATES.get(state, ""),
            "replaced_by": next(iter(n.replaced_by.all()), None),
            "can_record_feedback": waiting_reply and policy.may_record_feedback(user),
            "can_review": state == ledger.REPLIED and policy.may_review_feedback(user),
            "can_manage": (alert.is_open and not n.is_withdrawn and n.is_document
                           and policy.may_manage_notices(user)),
        })
    return {"notice_rows": rows, "document_kinds": DOCUMENT_KINDS}


def _notice_or_404(user: User, pk: int) -> ResultAction:
    notice = notices.notices_visible_to(user).filter(pk=pk).first()
    if notice is None:
        raise Http404
    return notice


def _back(request: HttpRequest, notice: ResultAction) -> str:
    return safe_next(request, reverse("web:alert_detail", args=[notice.alert_id]) + "#record")


def _report(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, AppError):
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    elif isinstance(exc, ValidationError):
        for message in exc.messages:
            messages.error(request, message)


@login_required
def notice_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice in the official layout, printable from the browser."""
    notice = _notice_or_404(request.user, pk)
    if not notice.is_document:
        raise Http404
    return render(request, "web/notice_print.html", {
        "notice": notice, "alert": notice.alert, "organ": notices.issuer_name(notice),
        "title": notices.document_title(notice), "full_pii": policy.may_view_full_pii(request.user, notice.alert),
        "paragraphs": [line for line in notice.text.splitlines() if line.strip()],
    })


@login_required
def notice_document(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _notice_or_404(request.user, pk)
    content = notice_docx(notice, full_pii=policy.may_view_full_pii(request.user, notice.alert))
    response = HttpResponse(content, content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="notice-{notice.pk}.docx"'
    return response


class WithdrawForm(StyledForm):
    reason = forms.CharField(label=gettext_lazy("Reason for withdrawal"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))


@require_POST
@screen_required("notices")
def notice_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _notice_or_404(request.user, pk)
    form = WithdrawForm(request.POST, prefix=f"wd-{notice.pk}")
    if not form.is_valid():
        messages.error(request, _("Give the reason the notice is withdrawn."))
        return redirect(_back(request, notice))
    try:
        notices.notice_withdraw(notice_id=notice.pk, by=request.user, reason=form.cleaned_data["reason"])
    except (AppError, ValidationError) as exc:
        _report(request, exc)
    else:
        messages.success(request, _("The notice %(n)s is withdrawn (作废).") % {"n": notice.doc_number})
    return redirect(_back(request, notice))


@screen_required("notices")
def notice_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the corrected notice, prefilled from the old one; POST: withdraw it and issue this."""
    old = _notice_or_404(request.user, pk)
    if request.method == "POST":
        form = NoticeReissueForm(request.POST)
        if form.is_valid():
            try:
                new = notices.notice_reissue(notice_id=old.pk, by=request.user, action=form.action(old.kind),
                                             reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            except AppError as exc:
                _report(request, exc)
                return redirect(_back(request, old))
            else:
                messages.success(request, _("Re-issued as %(n)s.") % {"n": new.doc_number})
                return redirect(reverse("web:alert_detail", args=[old.alert_id]) + "#record")
        status = 400
    else:
        form = NoticeReissueForm(initial={
            "title": old.title, "recipient": old.recipient, "copy_to": "、".join(old.copy_to), "text": old.text,
            "signer": old.signer, "due_date": old.due_date,
        })
        status = 200
    return render(request, "web/notice_reissue.html", {"old": old, "form": form, "alert": old.alert}, status=status)


class FeedbackForm(StyledForm):
    feedback = forms.CharField(label=gettext_lazy("Reply from the recipient"), max_length=5000)


@require_POST
@screen_required("notices")
def feedback_record(request: HttpRequest, pk: int) -> HttpResponse:
    order = _notice_or_404(request.user, pk)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Feedback is required."))
        return redirect(_back(request, order))
    try:
        ledger.rectification_feedback_record(order_id=order.pk, by=request.user,
                                             feedback=form.cleaned_data["feedback"],
                                             files=request.FILES.getlist("files"))
    except (AppError, ValidationError) as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Feedback recorded."))
    return redirect(_back(request, order))


@require_POST
@screen_required("notices")
def feedback_review(request: HttpRequest, pk: int) -> HttpResponse:
    order = _notice_or_404(request.user, pk)
    note = request.POST.get("note", "")[:5000]
    try:
        if request.POST.get("decision") == "accept":
            ledger.feedback_accept(order_id=order.pk, by=request.user, note=note)
            messages.success(request, _("Reply accepted."))
        elif request.POST.get("decision") == "reject":
            ledger.feedback_reject(order_id=order.pk, by=request.user, reason=note)
            messages.success(request, _("Reply rejected; the order stays open."))
        else:
            messages.error(request, _("Choose accept or reject."))
    except (AppError, ValidationError) as exc:
        _report(request, exc)
    return redirect(_back(request, order))


class LedgerFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False,
                              choices=[("", gettext_lazy("Any state")), *ledger.LEDGER_STATES.items()])
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False,
                             choices=[("", gettext_lazy("Any kind")), *ActionKind.choices])
    unit = forms.ChoiceField(label=gettext_lazy("Unit"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", gettext_lazy("All units")),
                                       *units_visible_to(user).values_list("code", "name")]


def _ledger_rows(request: HttpRequest) -> tuple[LedgerFilterForm, Any]:
    form = LedgerFilterForm(request.GET or None, user=request.user)
    qs = ledger.ledger_for(request.user)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        if d["state"]:
            qs = qs.filter(ledger_state=d["state"])
        if d["kind"]:
            qs = qs.filter(kind=d["kind"])
        if d["unit"]:
            qs = filter_by_unit_code(qs, d["unit"], unit_field="alert__org_unit")
    return form, qs


@screen_required("ledger")
def ledger_view(request: HttpRequest) -> HttpResponse:
    form, qs = _ledger_rows(request)
    # Next/previous by cursor and a count that stops at 10,000 (core.paging), like the alert lists.
    page = keyset_paginate(request, qs, ["due_date", "id"])
    for row in page:
        row.state_label = ledger.LEDGER_STATES[row.ledger_state]
    return render(request, "web/ledger.html", {"form": form, "page": page, "tab": "ledger"})


@screen_required("ledger")
def ledger_export(request: HttpRequest) -> HttpResponse:
    _form, qs = _ledger_rows(request)
    audit_record(action=AuditEvent.Action.EXPORT, actor=request.user, request=request,
                 object_type="rectification_ledger", data={"filters": request.GET.dict()})
    response = HttpResponse(ledger_xlsx(qs), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="huoyan-ledger-{timezone.localtime():%Y%m%d-%H%M}.xlsx"'
    return response


@login_required
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        return feedback_attachment_response(user=request.user, attachment_id=pk)
    except AppError:
        raise Http404 from None


@login_required
def case_file(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_or_404(request.user, pk)
    full = policy.may_view_full_pii(request.user, alert)
    audit_record(action=AuditEvent.Action.EXPORT, actor=request.user, request=request,
                 object_type="case_file", object_id=alert.pk, data={"full_pii": full})
    alert = alerts_visible_to(request.user).select_related("org_unit", "source").get(pk=alert.pk)
    response = HttpResponse(case_file_docx(alert, full_pii=full), content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="case-file-{alert.pk}.docx"'
    return response
