"""Deadline extensions (延期) and rectification feedback on the screens.

The services live in `workflow.extensions` (the deadlines work); until that is merged the
screens simply do not offer these forms, so this module imports it defensively.
"""

from __future__ import annotations

import importlib
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

from accounts.models import Role, User
from alerts.models import Alert
from alerts.selectors import alerts_visible_to
from web.access import alert_or_404, role_required, safe_next
from web.forms import StyledForm
from workflow.exceptions import WorkflowError
from workflow.states import ActionKind

try:  # pragma: no cover - depends on which branches are merged
    ext_services: Any = importlib.import_module("workflow.extensions")
    Extension: Any = importlib.import_module("workflow.models").Extension
except ImportError:  # pragma: no cover
    ext_services = None
    Extension = None

ENABLED = ext_services is not None


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
    if not ENABLED:
        return {"extensions_enabled": False}
    user: User = request.user
    extensions = list(alert.extensions.select_related("requested_by", "decided_by"))
    pending = [e for e in extensions if e.state == Extension.State.REQUESTED and e.stage_seq == alert.stage_seq]
    can_request = (
        ext_services.is_responsible(alert, user) and alert.due_at is not None
        and alert.due_at > timezone.now() and not pending
    )
    return {
        "extensions_enabled": True,
        "extensions": extensions,
        "extension_form": ExtensionRequestForm(prefix="ext") if can_request else None,
        "can_decide_extensions": user.role == Role.SUPERVISOR,
        "pending_extension_ids": {e.pk for e in pending},
        "can_record_feedback": user.role == Role.SUPERVISOR,
        "feedback_form": FeedbackForm(prefix="fb"),
        "rectification_kind": ActionKind.RECTIFICATION_ORDER,
    }


def _unavailable() -> None:
    if not ENABLED:
        raise Http404


@require_POST
@role_required(Role.VERIFIER, Role.SUPERVISOR, Role.LEADER)
def extension_request(request: HttpRequest, pk: int) -> HttpResponse:
    _unavailable()
    alert = alert_or_404(request.user, pk)
    back = safe_next(request, reverse("web:alert_detail", args=[alert.pk]))
    form = ExtensionRequestForm(request.POST, prefix="ext")
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect(back)
    try:
        ext_services.extension_request(
            alert_id=alert.pk, by=request.user, days=form.cleaned_data["days"], reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        for e in exc.messages:
            messages.error(request, e)
    except WorkflowError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Extension requested; a supervisor will decide."))
    return redirect(back)


@require_POST
@role_required(Role.SUPERVISOR)
def extension_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _unavailable()
    form = ExtensionDecisionForm(request.POST)
    back = safe_next(request, reverse("web:extensions"))
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
        return redirect(back)
    approve = form.cleaned_data["decision"] == "approve"
    decide = ext_services.extension_approve if approve else ext_services.extension_refuse
    try:
        decide(extension_id=pk, by=request.user, note=form.cleaned_data["note"])
    except WorkflowError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect(back)


@role_required(Role.SUPERVISOR)
def extension_queue(request: HttpRequest) -> HttpResponse:
    _unavailable()
    from web.views.alerts import paginate

    qs = (
        Extension.objects.filter(state=Extension.State.REQUESTED, alert__in=alerts_visible_to(request.user))
        .select_related("alert", "alert__org_unit", "requested_by")
        .order_by("due_at_before", "id")
    )
    return render(request, "web/extensions.html", {"page": paginate(request, qs), "tab": "extensions"})


@require_POST
@role_required(Role.SUPERVISOR)
def feedback_record(request: HttpRequest, pk: int) -> HttpResponse:
    _unavailable()
    form = FeedbackForm(request.POST, prefix="fb")
    if not form.is_valid():
        messages.error(request, _("Feedback is required."))
        return redirect(safe_next(request, reverse("web:home")))
    try:
        order = ext_services.rectification_feedback_record(
            order_id=pk, by=request.user, feedback=form.cleaned_data["feedback"]
        )
    except ValidationError as exc:
        for e in exc.messages:
            messages.error(request, e)
        return redirect(safe_next(request, reverse("web:home")))
    except WorkflowError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect(safe_next(request, reverse("web:home")))
    messages.success(request, _("Feedback recorded."))
    return redirect(safe_next(request, reverse("web:alert_detail", args=[order.alert_id])))
