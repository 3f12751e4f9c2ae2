"""Normalising organisation and person names, so that name variants of one subject compare
equal when neither a credit code nor an ID number is known.

`某某建设有限公司（苏州分公司）`, `某某建设有限公司` and `ＡＢＣ建设项目部` all reduce to their core
name: full-width characters become half-width, bracketed text is dropped, common legal-form and
branch suffixes are dropped, spaces and punctuation go, Latin letters are case-folded.
"""

from __future__ import annotations

import re
import unicodedata

# Longest first, so 有限责任公司 is dropped whole rather than leaving 有限责任.
_SUFFIXES = sorted(
    ["有限责任公司", "股份有限公司", "有限公司", "分公司", "项目部", "公司", "集团", "经营部", "门市部", "合作社"],
    key=len, reverse=True,
)
_BRACKETS = re.compile(r"[(\[{（【〔［｛][^)\]}）】〕］｝]*[)\]}）】〕］｝]")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "")  # full-width → half-width
    text = _BRACKETS.sub("", text)
    text = _NOISE.sub("", text).casefold()
    changed = True
    while changed and text:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                changed = True
                break
    return text
