"""Downloading evidence and reply attachments: one use case for the API and the screens, with the same scope check and
the same response headers everywhere."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.personal_data import full_pii_shown
from alerts.selectors import alerts_visible_to
from cases.models import Evidence, FeedbackAttachment
from core.errors import NotFound
from core.masking import pii_text

# Shown in the browser rather than saved: pictures only. Everything else (PDF and Office files
# included) is an attachment, so no uploaded document ever runs in the application's origin.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _file_response(record: Evidence | FeedbackAttachment, filename: str | None = None) -> FileResponse:
    response = FileResponse(
        record.file.open("rb"), content_type=record.content_type,
        as_attachment=record.content_type not in INLINE_TYPES, filename=filename or record.original_name,
    )
    # Personal files: never cached by a shared proxy or the browser, never type-sniffed.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def feedback_attachment_response(*, user: User, attachment_id: int) -> FileResponse:
    """A file sent with a reply to a notice, if its alert is in the user's scope."""
    attachment = FeedbackAttachment.objects.filter(
        pk=attachment_id, order__alert__in=alerts_visible_to(user)
    ).select_related("order__alert").first()
    if attachment is None:
        raise NotFound(_("Attachment not found."))
    name = attachment.original_name
    full = full_pii_shown(user=user, alert=attachment.order.alert, values=[name])
    return _file_response(attachment, pii_text(name, full))


def evidence_response(*, user: User, evidence_id: int, request: HttpRequest | None = None) -> FileResponse:
    """The file of evidence `evidence_id`, if its alert is in the user's scope (NotFound
    otherwise: another county's file and a missing one look the same). The file name carries
    personal data as often as not (`户籍证明_<ID>.txt`): masked unless the reader may see it."""
    evidence = (
        Evidence.objects.select_related("finding", "finding__alert")
        .filter(pk=evidence_id, finding__alert__in=alerts_visible_to(user))
        .first()
    )
    if evidence is None:
        raise NotFound(_("Evidence not found."))
    name = evidence.original_name
    full = full_pii_shown(user=user, alert=evidence.finding.alert, values=[name], request=request)
    return _file_response(evidence, pii_text(name, full))
