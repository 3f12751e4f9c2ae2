"""Background exports on the screen: start one (from the page the alert list shows for a large
export), watch its progress (htmx polls a fragment while it runs), download it when ready, and
the list of one's own exports. Everything is the owner's only (`workflow.export_jobs`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import Conflict, NotFound
from web.filters import AlertFilterForm
from workflow.export_jobs import (
    CONTENT_TYPES,
    FORMATS,
    export_job_file,
    export_job_get,
    export_job_start,
    export_jobs_for,
)
from workflow.models import ExportJob


@login_required
@require_POST
def export_start(request: HttpRequest) -> HttpResponse:
    fmt = request.POST.get("format", "")
    query = request.POST.get("query", "")[:2000]
    form = AlertFilterForm(QueryDict(query), user=request.user, request=request)
    if fmt not in FORMATS or (form.is_bound and not form.is_valid()):
        # A tampered form: say so in words rather than exporting something else.
        return render(request, "web/export_confirm.html", {"format": fmt, "query": query, "form": form,
                                                           "invalid": True, "tab": "list"}, status=400)
    try:
        job = export_job_start(by=request.user, fmt=fmt, filters=form.saved(), query=query, request=request)
    except Conflict as exc:
        return render(request, "web/export_confirm.html", {"format": fmt, "query": query, "form": form,
                                                           "refused": str(exc), "tab": "list"}, status=409)
    return redirect("web:export_job", job.pk)


def _job_or_404(request: HttpRequest, pk: int) -> ExportJob:
    try:
        return export_job_get(user=request.user, job_id=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "web/export_job.html", {"job": _job_or_404(request, pk), "tab": "list"})


@login_required
def export_job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment htmx swaps in every two seconds while the job runs."""
    return render(request, "web/_export_status.html", {"job": _job_or_404(request, pk)})


@login_required
def export_job_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        fh, job = export_job_file(user=request.user, job_id=pk, request=request)
    except NotFound as exc:
        return render(request, "web/export_job.html", {"job": _job_or_404(request, pk), "refused": str(exc),
                                                       "tab": "list"}, status=404)
    response = FileResponse(fh, as_attachment=True, filename=job.filename, content_type=CONTENT_TYPES[job.format])
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    # The latest fifty: older ones have expired long ago.
    jobs = export_jobs_for(request.user)[:50]
    return render(request, "web/exports.html", {"jobs": jobs, "tab": "list"})
