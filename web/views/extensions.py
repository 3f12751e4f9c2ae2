"""Deadline extensions (延期) and rectification feedback on the screens.

The services live in `workflow.extensions` (the deadlines work); until that is merged the
screens simply do not offer these forms, so this module imports it defensively.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from alerts.states import ActionKind
from core.errors import AppError
from web.access import alert_or_404, paginate, safe_next, screen_required
from web.forms import StyledForm
from workflow import extensions
from workflow.models import Extension


class ExtensionRequestForm(StyledForm):
    days = forms.IntegerField(label=gettext_lazy("Working days wanted"), min_value=1, max_value=30, initial=3)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionDecisionForm(StyledForm):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000)


class FeedbackForm(StyledForm):
    feedback = forms.CharField(label=gettext_lazy("Recipient's feedback"), widget=forms.Textarea(attrs={"rows": 2}))


def extension_context(request: HttpRequest, alert: Alert) -> dict[str, Any]:
    """What the detail and verification pages show about extensions and feedback."""
    user: User = request.user
    extensions = list(alert.extensions.select_related("requested_by", "decided_by"))
    pending = [e for e in extensions if e.state == Extension.State.REQUESTED and e.stage_seq == alert.stage_seq]
    can_request = (
        policy.is_responsible(alert, user) and alert.due_at is not None
        and alert.due_at > timezone.now() and not pending
    )
    return {
                "extensions": extensions,
        "extension_form": ExtensionRequestForm(prefix="ext") if can_request else None,
        "can_decide_extensions": policy.may_decide_extension(user),
        "pending_extension_ids": {e.pk for e in pending},
        "can_record_feedback": policy.may_record_feedback(user),
        "feedback_form": FeedbackForm(prefix="fb"),
        "rectification_kind": ActionKind.RECTIFICATION_ORDER,
    }


@require_POST
@screen_required("extension_request")
def extension_request(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_or_404(request.user, pk)
    back = safe_next(request, reverse("web:alert_detail", args=[alert.pk]))
    form = ExtensionRequestForm(request.POST, prefix="ext")
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect(back)
    try:
        extensions.extension_request(
            alert_id=alert.pk, by=request.user, days=form.cleaned_data["days"], reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        for e in exc.messages:
            messages.error(request, e)
    except AppError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Extension requested; a supervisor will decide."))
    return redirect(back)


@require_POST
@screen_required("extensions")
def extension_decide(request: HttpRequest, pk: int) -> HttpResponse:
    form = ExtensionDecisionForm(request.POST)
    back = safe_next(request, reverse("web:extensions"))
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
        return redirect(back)
    approve = form.cleaned_data["decision"] == "approve"
    decide = extensions.extension_approve if approve else extensions.extension_refuse
    try:
        decide(extension_id=pk, by=request.user, note=form.cleaned_data["note"])
    except AppError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect(back)


@screen_required("extensions")
def extension_queue(request: HttpRequest) -> HttpResponse:
    qs = (
        Extension.objects.filter(state=Extension.State.REQUESTED, alert__in=alerts_visible_to(request.user))
        .select_related("alert", "alert__org_unit", "requested_by")
        .order_by("due_at_before", "id")
    )
    return render(request, "web/extensions.html", {"page": paginate(request, qs), "tab": "extensions"})


@require_POST
@screen_required("extensions")
def feedback_record(request: HttpRequest, pk: int) -> HttpResponse:
    form = FeedbackForm(request.POST, prefix="fb")
    if not form.is_valid():
        messages.error(request, _("Feedback is required."))
        return redirect(safe_next(request, reverse("web:home")))
    try:
        order = extensions.rectification_feedback_record(
            order_id=pk, by=request.user, feedback=form.cleaned_data["feedback"]
        )
    except ValidationError as exc:
        for e in exc.messages:
            messages.error(request, e)
        return redirect(safe_next(request, reverse("web:home")))
    except AppError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect(safe_next(request, reverse("web:home")))
    messages.success(request, _("Feedback recorded."))
    return redirect(safe_next(request, reverse("web:alert_detail", args=[order.alert_id])))
