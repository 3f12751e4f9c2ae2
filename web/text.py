"""Small pieces of presentation text that differ by language: the label colon (Chinese uses the
full-width "：" with no space), amounts in yuan with thousands separators, dates in prose."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.masking import mask_value


def is_chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def colon() -> str:
    """`核查结论：` in Chinese, `Conclusion: ` in English."""
    return "：" if is_chinese() else ": "


def yuan(value: object) -> str:
    """`4860000` → `¥4,860,000.00`; empty for no amount."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def prose_date(value: date | datetime | None) -> str:
    """A date inside a sentence: `2026年12月28日` in Chinese, `December 28, 2026` in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    if is_chinese():
        return f"{value.year}年{value.month}月{value.day}日"
    return formats.date_format(value, "DATE_FORMAT")


# Asked before the steps that cannot be undone; each names the alert.
CONFIRMATIONS = {
    "dismiss": _("Dismiss alert #%(n)s “%(title)s”? It will be closed without verification."),
    "close": _("Close (销号) alert #%(n)s “%(title)s”? The loop ends here."),
    "send_back": _("Send alert #%(n)s “%(title)s” back to an earlier stage?"),
    "apply_results": _("Issue these notices for alert #%(n)s “%(title)s”? They go on the record."),
    "accept": _("Sign for alert #%(n)s “%(title)s”? Its verification deadline starts now."),
    "return": _("Return alert #%(n)s “%(title)s” to the supervisor?"),
}

# What a screen says after a step, naming the alert.
DONE = {
    "assign": _("Assigned #%(n)s “%(title)s”."),
    "accept": _("Signed for #%(n)s “%(title)s”: verification has started."),
    "return": _("Returned #%(n)s “%(title)s” to the supervisor."),
    "submit_verification": _("Submitted the conclusion on #%(n)s “%(title)s”."),
    "dispose": _("Recorded the disposition of #%(n)s “%(title)s”."),
    "apply_results": _("Issued the results of #%(n)s “%(title)s”."),
    "close": _("Closed (销号) #%(n)s “%(title)s”."),
    "send_back": _("Sent #%(n)s “%(title)s” back."),
    "dismiss": _("Dismissed #%(n)s “%(title)s”."),
}


def _about(alert: object) -> dict[str, object]:
    return {"n": getattr(alert, "pk", ""), "title": mask_value(getattr(alert, "title", ""))}


def confirmation(alert: object, name: str) -> str:
    """The question asked before `name` on `alert`, or "" when the step needs none."""
    template = CONFIRMATIONS.get(name)
    return str(template) % _about(alert) if template else ""


def done_message(alert: object, name: str, label: object = "") -> str:
    """What the screen says after step `name` (`label`: the step's name, for the steps without a
    sentence of their own)."""
    if name in DONE:
        return str(DONE[name]) % _about(alert)
    return str(_("%(action)s: done for #%(n)s “%(title)s”.")) % {**_about(alert), "action": label}
