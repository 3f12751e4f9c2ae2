"""Source systems and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from accounts.models import OrgUnit
from alerts.models import SourceSystem

MIN_KEY_LENGTH = 24


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _prefix(key: str) -> str:
    # Generated keys look like `hy_<8 hex>_<secret>`; the middle part finds the row.
    parts = key.split("_")
    return parts[1][:16] if len(parts) >= 3 and parts[0] == "hy" else key[:8]


def source_system_create(
    *, code: str, name: str, org_unit: OrgUnit, kind: str = SourceSystem.Kind.BUSINESS,
    key: str | None = None,
) -> tuple[SourceSystem, str]:
    """Create a source system; returns it with its API key, which is not stored and is shown once."""
    source = SourceSystem(code=code, name=name, org_unit=org_unit, kind=kind)
    return source, source_key_assign(source, key)


def source_key_assign(source: SourceSystem, key: str | None = None) -> str:
    """Give `source` a new key (or the given one), saving only its prefix and hash."""
    key = key or f"hy_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"an API key must be at least {MIN_KEY_LENGTH} characters long")
    source.key_prefix, source.key_hash = _prefix(key), _hash(key)
    source.full_clean(exclude=["key_prefix", "key_hash"])
    source.save()
    return key


def source_system_for_key(key: str) -> SourceSystem | None:
    """The active source system owning `key`, compared in constant time."""
    source = (
        SourceSystem.objects.select_related("org_unit")
        .filter(key_prefix=_prefix(key), is_active=True)
        .first()
    )
    if source is None or not hmac.compare_digest(source.key_hash, _hash(key)):
        return None
    return source
