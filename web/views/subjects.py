"""Subject files on screen: search, and one company's or person's file (一企一档 / 一人一档)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from alerts.personal_data import subject_full_pii_shown
from alerts.subjects import subjects_search
from core.errors import NotFound
from web.access import paginate
from workflow.subject_files import subject_file


@login_required
def subject_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    found = subjects_search(user=request.user, q=q, request=request).order_by("name", "id")
    return render(request, "web/subject_list.html", {
        "page": paginate(request, found), "q": q, "tab": "subjects",
        "full_pii": False,  # a list: masked for everyone
    })


@login_required
def subject_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = subject_file(user=request.user, subject_id=pk)
    except NotFound:
        raise Http404 from None
    return render(request, "web/subject_detail.html", {
        "subject": found.subject, "totals": found.totals,
        "page": paginate(request, found.alerts, count=found.totals["alerts"]),
        "tab": "subjects",
        "full_pii": subject_full_pii_shown(user=request.user, subject=found.subject, request=request),
    })
