"""Downloading evidence: one use case for the API and the screens, with the same scope check and
the same response headers everywhere."""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.selectors import alerts_visible_to
from cases.models import Evidence
from core.errors import NotFound

# Shown in the browser rather than saved: pictures only. Everything else (PDF and Office files
# included) is an attachment, so no uploaded document ever runs in the application's origin.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def evidence_response(*, user: User, evidence_id: int) -> FileResponse:
    """The file of evidence `evidence_id`, if its alert is in the user's scope (NotFound
    otherwise: another county's file and a missing one look the same)."""
    evidence = (
        Evidence.objects.select_related("finding")
        .filter(pk=evidence_id, finding__alert__in=alerts_visible_to(user))
        .first()
    )
    if evidence is None:
        raise NotFound(_("Evidence not found."))
    response = FileResponse(
        evidence.file.open("rb"), content_type=evidence.content_type,
        as_attachment=evidence.content_type not in INLINE_TYPES, filename=evidence.original_name,
    )
    # Personal files: never cached by a shared proxy or the browser, never type-sniffed.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
