"""Names of the supervision fields (领域): the administrators' table (`SupervisionDomain`), falling
back to the built-in labels of `Domain` for a code the table does not name."""

from __future__ import annotations

from django.utils.translation import get_language

from alerts.models import Domain, SupervisionDomain


def domain_names() -> dict[str, str]:
    """{code: name} in the current language, for every code."""
    zh = (get_language() or "zh-hans").startswith("zh")
    names = {code: str(label) for code, label in Domain.choices}
    for row in SupervisionDomain.objects.all():
        names[row.code] = row.name if zh or not row.name_en else row.name_en
    return names


def domain_choices() -> list[tuple[str, str]]:
    """The fields offered for choosing, in the administrators' order (all of them before the table is filled)."""
    names = domain_names()
    rows = list(SupervisionDomain.objects.filter(is_active=True).values_list("code", flat=True))
    codes = rows or list(Domain.values)
    return [(c, names[c]) for c in codes if c in names]
