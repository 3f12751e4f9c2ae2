"""Source systems and their API keys.

A key is found by its prefix and accepted only when its SHA-256 matches the stored hash
(compared in constant time). The row found by a prefix is kept per process for a few seconds
(`HUOYAN_API_KEY_CACHE_SECONDS`, default 5; 0 turns it off), so a busy feed does not read it
on every request: what is kept is the row — its hash, unit and state — never a verdict, and
every request still hashes its key and compares. Saving or deleting a source system (or an
org unit) empties the process's copy at once; other processes (gunicorn workers) drop theirs
when it is older than the TTL. So a deactivated, rotated or deleted key stops working within
that many seconds everywhere.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import time
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save

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


# prefix -> (when read, the active source row with its unit). Misses are not kept: a new key
# works at once, and wrong keys are limited per address by `ApiKeyFailureLimit`.
_by_prefix: dict[str, tuple[float, SourceSystem]] = {}
_MAX_KEPT = 1000
_clock = time.monotonic


def _cache_seconds() -> float:
    return float(getattr(settings, "HUOYAN_API_KEY_CACHE_SECONDS", 5))


def clear_source_key_cache(**_signal: Any) -> None:
    """Forget every kept source row in this process (also a signal receiver: see the module doc)."""
    _by_prefix.clear()


def _source_by_prefix(prefix: str) -> SourceSystem | None:
    ttl, now = _cache_seconds(), _clock()
    kept = _by_prefix.get(prefix)
    if kept is not None and now - kept[0] < ttl:
        return kept[1]
    source = SourceSystem.objects.select_related("org_unit").filter(key_prefix=prefix, is_active=True).first()
    if source is None:
        _by_prefix.pop(prefix, None)
    elif ttl > 0:
        if len(_by_prefix) >= _MAX_KEPT:
            _by_prefix.clear()
        _by_prefix[prefix] = (now, source)
    return source


def source_system_for_key(key: str) -> SourceSystem | None:
    """The active source system owning `key`, compared in constant time on every call."""
    source = _source_by_prefix(_prefix(key))
    if source is None or not hmac.compare_digest(source.key_hash, _hash(key)):
        return None
    # A copy: the kept row is shared by every request of the process and must not change.
    return copy.copy(source)


for _model in (SourceSystem, OrgUnit):
    post_save.connect(clear_source_key_cache, sender=_model, dispatch_uid=f"source-key-cache-{_model.__name__}")
    post_delete.connect(clear_source_key_cache, sender=_model, dispatch_uid=f"source-key-cache-d-{_model.__name__}")
