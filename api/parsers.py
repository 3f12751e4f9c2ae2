"""Request parsers. Kept apart from `api.auth`: DRF resolves DEFAULT_PARSER_CLASSES while
`rest_framework.views` is imported, which `api.auth` itself does."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """JSON with a nesting limit: a hostile, deeply nested body is a 400, not a crash."""

    max_depth = 64

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON nested too deeply.")) from None
        if _depth_exceeds(data, self.max_depth):
            raise exceptions.ParseError(_("JSON nested too deeply."))
        if _has_nul(data):
            # PostgreSQL cannot store U+0000 in text or jsonb: refuse it here as bad input.
            raise exceptions.ParseError(_("Text may not contain NUL characters (U+0000)."))
        return data


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False
