"""The site icon at /favicon.ico, where browsers ask for it on every page (served from static)."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

ICON = "favicon.ico"


@require_GET
def favicon(request: HttpRequest) -> FileResponse:
    if staticfiles_storage.exists(ICON):
        handle = staticfiles_storage.open(ICON, "rb")
    else:
        found = finders.find(ICON)
        if not found:
            raise Http404
        handle = open(found, "rb")  # noqa: SIM115 - FileResponse closes it
    response = FileResponse(handle, content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
