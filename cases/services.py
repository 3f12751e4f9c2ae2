"""Writes of case records that are not stage changes: the timeline, comments, findings."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from alerts import policy
from alerts.models import Alert
from alerts.selectors import alert_for_update
from alerts.states import Status
from cases.evidence import check_evidence_count, check_evidence_file
from cases.models import Comment, Evidence, Finding, TimelineEntry
from core.errors import Conflict, Forbidden


def timeline_append(
    *, alert: Alert, actor: User | None, kind: str, text: str = "", action: str = "",
    from_status: str = "", to_status: str = "", data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one entry; call it inside the transaction of the change it records."""
    return TimelineEntry.objects.create(
        alert=alert, at=timezone.now(), actor=actor, kind=kind, action=action,
        from_status=from_status, to_status=to_status, text=text, data=data or {},
    )


@transaction.atomic
def comment_add(*, alert_id: int, author: User, text: str) -> Comment:
    """Anyone who can see the alert may comment on it, at any stage."""
    alert = alert_for_update(user=author, alert_id=alert_id)
    comment = Comment.objects.create(alert=alert, author=author, text=text)
    timeline_append(
        alert=alert, actor=author, kind=TimelineEntry.Kind.COMMENT, text=text,
        from_status=alert.status, to_status=alert.status, data={"comment_id": comment.pk},
    )
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
    check_evidence_count(len(files))
    checked = [check_evidence_file(f) for f in files]
    finding = Finding.objects.create(alert=alert, author=author, text=text, method=method)
    for upload, content_type in zip(files, checked, strict=True):
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        Evidence.objects.create(
            finding=finding, file=upload, original_name=upload.name[:255],
            content_type=content_type, size=upload.size, sha256=digest.hexdigest(),
        )
    timeline_append(
        alert=alert, actor=author, kind=TimelineEntry.Kind.FINDING, text=text,
        from_status=alert.status, to_status=alert.status,
        data={"finding_id": finding.pk, "files": len(checked)},
    )
    return finding
