"""System checks of what the workflow needs from the database."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import connections

# The sweep's step insert is `INSERT … ON CONFLICT DO NOTHING RETURNING` (3.35) and its level
# update `UPDATE … FROM` (3.33); Django 5.2 itself accepts SQLite from 3.31.
SQLITE_MIN = (3, 35, 0)


def sqlite_version_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if connections["default"].vendor != "sqlite":
        return []
    import sqlite3

    if sqlite3.sqlite_version_info >= SQLITE_MIN:
        return []
    return [checks.Error(
        f"The deadline sweep needs SQLite {'.'.join(map(str, SQLITE_MIN))} or newer; this Python has "
        f"{sqlite3.sqlite_version}.",
        hint="Use a Python built against a newer SQLite, or PostgreSQL (DATABASE_URL).",
        id="workflow.E001",
    )]
