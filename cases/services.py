"""Writes of case records that are not stage changes: comments and findings (each with its
timeline entry, `cases.timeline`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from alerts import policy
from alerts.selectors import alert_for_update
from alerts.states import Status
from cases import timeline
from cases.evidence import check_evidence_file
from cases.models import Comment, Evidence, Finding
from core.errors import Conflict, Forbidden


@transaction.atomic
def comment_add(*, alert_id: int, author: User, text: str) -> Comment:
    """Anyone who can see the alert may comment on it, at any stage."""
    alert = alert_for_update(user=author, alert_id=alert_id)
    comment = Comment.objects.create(alert=alert, author=author, text=text)
    timeline.comment_added(alert=alert, comment=comment)
    return comment


@transaction.atomic
def finding_add(
    *, alert_id: int, author: User, text: str, method: str, files: Sequence[UploadedFile] = (),
) -> Finding:
    """Record a finding with its evidence: only the assignee, only while verifying.

    Files are checked before anything is written, so a bad file stores neither the finding
    nor any of the other files.
    """
    alert = alert_for_update(user=author, alert_id=alert_id)
    if not policy.may_add_finding(author, alert):
        raise Forbidden(_("Only the assigned verifier can add findings."))
    if alert.status != Status.VERIFYING:
        raise Conflict(_("Findings can only be added while the alert is being verified."))
    checked = [check_evidence_file(f) for f in files]
    finding = Finding.objects.create(alert=alert, author=author, text=text, method=method)
    evidence_store(finding=finding, files=files, checked=checked)
    timeline.finding_added(alert=alert, finding=finding, files=len(checked))
    return finding


def evidence_store(
    *, finding: Finding, files: Sequence[UploadedFile], checked: Sequence[str] | None = None,
) -> int:
    """Store `files` as the finding's evidence, each checked by content first (a bad file raises
    before anything is written when `checked` is not given). Returns how many were stored."""
    types = list(checked) if checked is not None else [check_evidence_file(f) for f in files]
    for upload, content_type in zip(files, types, strict=True):
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        Evidence.objects.create(
            finding=finding, file=upload, original_name=upload.name[:255],
            content_type=content_type, size=upload.size, sha256=digest.hexdigest(),
        )
    return len(types)
