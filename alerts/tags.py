"""Free tags on alerts and models: a short list of short labels, cleaned the same way everywhere."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from alerts.models import Alert

MAX_TAGS = 20
MAX_TAG_LENGTH = 32


def clean_tags(value: Any) -> list[str]:
    """Trimmed, de-duplicated (first spelling kept), at most 20 tags of at most 32 characters."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValidationError({"tags": _("Give the tags as a list of words.")})
    out: list[str] = []
    for tag in value:
        tag = " ".join(tag.replace("\x00", "").split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError({"tags": _("A tag has at most %(n)d characters.") % {"n": MAX_TAG_LENGTH}})
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValidationError({"tags": _("At most %(n)d tags.") % {"n": MAX_TAGS}})
    return out


def alerts_tagged(qs: QuerySet[Alert], tag: str) -> QuerySet[Alert]:
    """The alerts of `qs` carrying `tag` (spelled as `clean_tags` stores it: whole tag, exact).
    The API's `?tag=` and the alert list's tag filter both use this."""
    tag = " ".join(str(tag).replace("\x00", "").split())
    if not tag:
        return qs
    if connection.vendor == "postgresql":
        return qs.filter(tags__contains=[tag])  # jsonb @>: the list holds this element
    # SQLite has no JSON containment: match the element as it is written in the stored JSON text.
    return qs.annotate(tags_text=Cast("tags", TextField())).filter(tags_text__contains=json.dumps(tag))
