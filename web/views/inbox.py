"""The notifications inbox: the user's own messages, filtered by unread and kind; opening one
marks it read and goes to its alert (or to the page it is about, e.g. a finished export)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from web.access import paginate, safe_next
from workflow.inbox import notifications_for, notifications_mark_read
from workflow.models import Notification


class InboxFilterForm(forms.Form):
    unread = forms.BooleanField(label=_("Unread only"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All kinds")), *Notification.Kind.choices])


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET or None)
    qs = notifications_for(request.user).select_related("alert")
    if form.is_bound and form.is_valid():
        if form.cleaned_data["unread"]:
            qs = qs.filter(read_at__isnull=True)
        if form.cleaned_data["kind"]:
            qs = qs.filter(kind=form.cleaned_data["kind"])
    return render(request, "web/inbox.html", {"form": form, "page": paginate(request, qs), "tab": "inbox"})


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to its alert (or back to the inbox)."""
    note = notifications_for(request.user).filter(pk=pk).first()
    if note is None:
        raise Http404
    notifications_mark_read(user=request.user, ids=[note.pk])
    if note.alert_id:
        return redirect("web:alert_detail", note.alert_id)
    if note.link and url_has_allowed_host_and_scheme(note.link, allowed_hosts=None) and note.link.startswith("/"):
        return redirect(note.link)  # e.g. a finished export's page
    return redirect("web:inbox")


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """POST `id` to mark one read, nothing to mark them all read."""
    raw = request.POST.get("id")
    ids = [int(raw)] if raw and raw.isdigit() else None
    notifications_mark_read(user=request.user, ids=ids)
    return redirect(safe_next(request, reverse("web:inbox")))
