"""What a verifier reads about an alert raised by a screening model: the model, the reason as a
sentence, the evidence as tables with the datasets' own headers, and the metrics with labels.

One function, `hit_view`, serves the alert API (`hit`) and the alert's screens alike. Internal
columns (`_row`, `_window_*`, …) never appear, nested values never show as dict dumps, numbers are
rounded for display and ID / phone numbers are masked unless the viewer may see them in full.
"""

from __future__ import annotations

import decimal
import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from alerts.models import Alert, SourceSystem
from core.masking import mask_value

METRIC_LABELS = {
    "_window_count": _("Rows in the window"),
    "window_count": _("Rows in the busiest period"),
    "first_date": _("From"),
    "last_date": _("To"),
    "_window_sum": _("Total in the window"),
    "_window_start": _("Window starts"),
    "_peer_value": _("Group benchmark (median or mean)"),
    "_peer_count": _("Rows in the group"),
    "_ratio": _("Times the group benchmark"),
    "_spread_pct": _("Spread of the values (%)"),
    "_group_count": _("Rows in the group"),
    "count": _("Rows"),
}
# The order metrics are shown in; aggregate metrics (named by the model) follow.
METRIC_ORDER = list(METRIC_LABELS)
_DECIMAL_TEXT = re.compile(r"^-?\d+\.\d+$")


def display_value(value: Any) -> Any:
    """A cell as a person reads it: numbers rounded to 2 places, nested values as short text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else value
    if isinstance(value, float):
        return round(value, 2) if value == value else ""
    if isinstance(value, decimal.Decimal):
        return str(value.quantize(decimal.Decimal("0.01"))) if value.as_tuple().exponent < -2 else str(value)
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        number = decimal.Decimal(value)
        if value.endswith(".0"):  # a float that is whole: 3000.0 → 3000
            return int(number)
        return str(number.quantize(decimal.Decimal("0.01"))) if number.as_tuple().exponent < -2 else value
    if isinstance(value, (dict, list)):
        return "、".join(str(display_value(v)) for v in (value.values() if isinstance(value, dict) else value))
    return value


def _tables_from_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """Evidence stored before it was split per dataset: one table of the rows' data columns."""
    columns: list[str] = []
    clean = [r for r in rows if isinstance(r, dict)]
    for r in clean:
        for k in r:
            if not str(k).startswith("_") and k not in columns:
                columns.append(k)
    return [{"dataset": "", "columns": columns, "rows": [[r.get(c) for c in columns] for r in clean]}] if clean else []


def hit_view(alert: Alert, *, full_pii: bool) -> dict[str, Any] | None:
    """The `hit` of an alert raised by a screening model, or None for any other alert."""
    details = alert.details if isinstance(alert.details, dict) else {}
    model = details.get("model")
    if not isinstance(model, dict) or alert.source.kind != SourceSystem.Kind.SCREENING:
        return None
    tables = details.get("evidence")
    if not isinstance(tables, list):
        tables = _tables_from_rows(details.get("rows") or [])
    evidence = []
    for t in tables:
        if not isinstance(t, dict):
            continue
        columns = [str(c) for c in t.get("columns") or [] if not str(c).startswith("_")]
        keep = [i for i, c in enumerate(t.get("columns") or []) if not str(c).startswith("_")]
        rows = [[display_value(r[i]) if i < len(r) else "" for i in keep] for r in t.get("rows") or []
                if isinstance(r, list)]
        evidence.append({"dataset": str(t.get("dataset") or ""), "columns": columns,
                         "rows": rows if full_pii else mask_value(rows)})
    raw = details.get("metrics") if isinstance(details.get("metrics"), dict) else {}
    metrics = []
    for key in [*[k for k in METRIC_ORDER if k in raw], *[k for k in raw if k not in METRIC_LABELS]]:
        if (key == "_window_count" and "window_count" in raw) or (key == "_window_start" and "first_date" in raw):
            continue  # the best window's count and start are shown once
        label = METRIC_LABELS.get(key)
        if label is None and str(key).startswith("_"):
            continue
        metrics.append({"label": str(label or key), "value": display_value(raw[key])})
    reason = str(details.get("reason") or "")
    previous = details.get("previous_alert")
    return {
        "model": {"code": str(model.get("code", "")), "version": model.get("version"),
                  "name": str(model.get("name", ""))},
        "reason": reason if full_pii else mask_value(reason),
        "evidence": evidence,
        "metrics": metrics,
        "previous_alert": previous if isinstance(previous, int) else None,
    }
