"""Free tags on alerts and models: a short list of short labels, cleaned the same way everywhere."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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
