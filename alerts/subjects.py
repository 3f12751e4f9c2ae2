"""Subject files (一企一档 / 一人一档): every alert links to the company or person it is about.

Identity, strongest first: the unified social credit code for a company, the ID number for a
person, and only when neither is known a normalised name within the alert's unit. A batch of
alerts resolves all its subjects with two statements (an insert that skips existing keys, then
one read), never one request per alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from alerts.models import Subject
from alerts.selectors import subjects_visible_to
from audit.models import AuditEvent
from audit.services import audit_record
from core.names import normalize_name


@dataclass(frozen=True)
class SubjectIdentity:
    name: str = ""
    credit_code: str = ""
    id_number: str = ""
    org_unit_id: int | None = None

    @property
    def key(self) -> str | None:
        if self.credit_code.strip():
            return f"company:{self.credit_code.strip().upper()}"
        if self.id_number.strip():
            return f"person:{self.id_number.strip().upper()}"
        normalized = normalize_name(self.name)
        if normalized and self.org_unit_id is not None:
            return f"name:{self.org_unit_id}:{normalized}"
        return None

    def as_subject(self) -> Subject:
        key = self.key or ""
        kind = key.split(":", 1)[0]
        return Subject(
            key=key, kind=kind, name=self.name.strip()[:255], normalized_name=normalize_name(self.name)[:255],
            credit_code=self.credit_code.strip().upper() if kind == Subject.Kind.COMPANY else "",
            id_number=self.id_number.strip().upper() if kind == Subject.Kind.PERSON else "",
            org_unit_id=self.org_unit_id if kind == Subject.Kind.NAME else None,
        )


def subjects_resolve(identities: Iterable[SubjectIdentity]) -> dict[str, int]:
    """Subject ids by identity key, creating the subjects that do not exist yet (race-safe: a
    concurrent batch creating the same key makes one row, and both read it back)."""
    wanted = {i.key: i for i in identities if i.key}
    if not wanted:
        return {}
    Subject.objects.bulk_create([i.as_subject() for i in wanted.values()], ignore_conflicts=True)
    return dict(Subject.objects.filter(key__in=wanted).values_list("key", "id"))


# An ID number given whole: 15 digits, or 17 digits and a check character.
_WHOLE_ID = re.compile(r"^(\d{15}|\d{17}[\dXx])$")


def subjects_search(*, user: User, q: str, request: HttpRequest | None = None) -> QuerySet[Subject]:
    """Subject files in the user's scope matching `q`: by name (name variants match through the
    normalised name) or by credit code (its beginning). An ID number matches only when given
    whole — no prefix or part of one, which could rebuild a masked number digit by digit — and
    every such search is audited. Text with digits never searches inside names, where a phone
    number may stand."""
    found = subjects_visible_to(user)
    q = (q or "").strip().replace("\x00", "")[:100]
    if not q:
        return found
    if _WHOLE_ID.match(q):
        audit_record(action=AuditEvent.Action.PII_VIEW, actor=user, request=request, object_type="subject",
                     data={"search": "id_number"})
        return found.filter(id_number=q.upper())
    if any(ch.isdigit() for ch in q):
        return found.filter(credit_code__startswith=q.upper())
    normalized = normalize_name(q)
    match = Q(name__icontains=q) | Q(credit_code__startswith=q.upper())
    if normalized:
        match |= Q(normalized_name__contains=normalized)
    return found.filter(match)
