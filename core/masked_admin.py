"""Admin pages show personal data masked, always: administrators run the system, they do not
handle cases, so no admin page ever needs a full ID or phone number (and none writes a
`pii_view` audit entry). `MaskedAdminMixin` replaces the listed fields, in lists and change
pages, with read-only displays that go through `core.masking.mask_value`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin

from core.masking import mask_value

SUFFIX = "__masked"


def masked_display(model: Any, name: str) -> Callable[[Any], str]:
    """A read-only admin column / field showing `name` of an object masked."""

    def show(obj: Any) -> str:
        value = mask_value(getattr(obj, name, ""))
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, indent=1)
        return "" if value is None else str(value)

    show.short_description = model._meta.get_field(name).verbose_name  # type: ignore[attr-defined]
    show.__name__ = f"{name}{SUFFIX}"
    return show


class MaskedAdminMixin:
    """Set `masked_fields`: those model fields are shown masked in `list_display` and on the
    change page (read-only there)."""

    masked_fields: Sequence[str] = ()
    model: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for name in self.masked_fields:
            setattr(self, f"{name}{SUFFIX}", masked_display(self.model, name))
        self.list_display = [self._swap(n) for n in getattr(self, "list_display", ())]

    def _swap(self, name: Any) -> Any:
        return f"{name}{SUFFIX}" if isinstance(name, str) and name in self.masked_fields else name

    def get_fields(self, request: Any, obj: Any = None) -> list[Any]:
        fields = super().get_fields(request, obj)  # type: ignore[misc]
        return list(dict.fromkeys(self._swap(f) for f in fields))

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [self._swap(f) for f in readonly] + [
            f"{n}{SUFFIX}" for n in self.masked_fields if f"{n}{SUFFIX}" not in readonly
        ]

    def get_exclude(self, request: Any, obj: Any = None) -> list[str]:
        # The raw fields never reach a form widget (an input would hold the full value).
        return [*(super().get_exclude(request, obj) or ()), *self.masked_fields]  # type: ignore[misc]


class MaskedTabularInline(MaskedAdminMixin, admin.TabularInline):
    pass
