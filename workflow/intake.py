"""Intake: the one path by which alerts enter the loop, from business systems and from
screening runs alike.

Dedup survives races: a partial unique index allows one open alert per (source, dedup_key), and
the batch is written with `INSERT … ON CONFLICT … DO UPDATE SET occurrence_count =
occurrence_count + n`, so two racing pushes of one key make one alert whose count is the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import OrgUnit
from alerts.models import RISK_RANK, Alert, Domain, RiskLevel, SourceSystem
from alerts.states import Status
from alerts.subjects import SubjectIdentity, subjects_resolve
from audit.models import AuditEvent
from audit.services import audit_record
from cases import timeline
from workflow import deadlines, rollups
from workflow.recurrence import recurrences_mark

# Rows per INSERT statement: well under the bound-parameter limits of PostgreSQL and SQLite.
_CHUNK = 500


@dataclass
class IntakeItem:
    dedup_key: str
    title: str
    risk_level: str
    org_unit: OrgUnit
    domain: str = Domain.OTHER
    rule: str = ""
    subject_name: str = ""
    subject_id_number: str = ""
    subject_credit_code: str = ""
    amount: Decimal | None = None
    occurred_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IntakeResult:
    id: int
    dedup_key: str
    created: bool


def source_may_raise_for(source: SourceSystem, unit: OrgUnit) -> bool:
    """A source system raises alerts only for its own unit and the units below it."""
    return source.org_unit.contains(unit)


def _identity(item: IntakeItem) -> SubjectIdentity:
    return SubjectIdentity(
        name=item.subject_name, credit_code=item.subject_credit_code, id_number=item.subject_id_number,
        org_unit_id=item.org_unit.pk,
    )


def _new_alert(source: SourceSystem, item: IntakeItem, count: int, now: datetime, subject_id: int | None) -> Alert:
    alert = Alert(
        title=item.title, domain=item.domain, risk_level=item.risk_level, org_unit=item.org_unit,
        source=source, rule_code=item.rule, subject_name=item.subject_name,
        subject_id_number=item.subject_id_number, subject_credit_code=item.subject_credit_code,
        amount=item.amount, details=item.details, dedup_key=item.dedup_key,
        occurrence_count=count, occurred_at=item.occurred_at, last_occurred_at=now,
        stage_entered_at=now, created_at=now, updated_at=now, subject_id=subject_id,
    )
    alert.risk_rank = RISK_RANK[RiskLevel(item.risk_level)]
    alert.due_at = deadlines.due_at_for(alert, now)
    return alert


def _columns() -> list[Any]:
    return [f for f in Alert._meta.concrete_fields if not f.primary_key]


def _upsert_sql(n_rows: int) -> str:
    """One INSERT … ON CONFLICT … RETURNING for `n_rows` alerts.

    On PostgreSQL the rows travel as one array per column (`unnest`), so the statement text is
    the same for every batch: psycopg and the server parse it once instead of a fresh
    statement with thousands of placeholders per request. SQLite gets a multi-row VALUES list.
    """
    fields = _columns()
    qn = connection.ops.quote_name
    table = qn(Alert._meta.db_table)
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        source = f"SELECT * FROM unnest({arrays})"
    else:
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        source = "VALUES " + ", ".join([row] * n_rows)
    return (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) {source}"
        # The conflict target names the partial unique index `alert_open_dedup_key_uniq`.
        # The predicate is a literal: SQLite matches it against the index's own text.
        + f" ON CONFLICT ({qn('source_id')}, {qn('dedup_key')})"
        + f" WHERE NOT ({qn('status')} = '{Status.CLOSED.value}')"
        + f" DO UPDATE SET {qn('occurrence_count')} = {table}.{qn('occurrence_count')}"
        + f" + EXCLUDED.{qn('occurrence_count')},"
        + f" {qn('last_occurred_at')} = EXCLUDED.{qn('last_occurred_at')},"
        + f" {qn('updated_at')} = EXCLUDED.{qn('updated_at')}"
        + f" RETURNING {qn('id')}, {qn('dedup_key')}, {qn('occurrence_count')}"
    )


def _upsert_params(alerts: list[Alert]) -> list[Any]:
    fields = _columns()
    rows = [[f.get_db_prep_save(getattr(a, f.attname), connection) for f in fields] for a in alerts]
    if connection.vendor == "postgresql":
        return [list(column) for column in zip(*rows, strict=True)]
    return [value for row in rows for value in row]


def alerts_ingest(*, source: SourceSystem, items: Sequence[IntakeItem]) -> list[IntakeResult]:
    """Store a batch all-or-nothing; one result per item, in the order given.

    The same key twice in one batch is one alert counted twice: the first item reports
    `created` (if it was new), later ones report `created: false`.
    """
    if not items:
        return []
    counts: dict[str, int] = {}
    first: dict[str, IntakeItem] = {}
    for item in items:
        counts[item.dedup_key] = counts.get(item.dedup_key, 0) + 1
        first.setdefault(item.dedup_key, item)
    now = timezone.now()
    # Sorted keys give every batch the same lock order, so two racing batches cannot deadlock.
    keys = sorted(first)
    outcome: dict[str, tuple[int, bool]] = {}
    counted: rollups.Rows = {}
    with transaction.atomic():
        # Every alert links to its subject file; the whole batch's subjects in two statements.
        subjects = subjects_resolve(_identity(first[k]) for k in keys)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            alerts = [
                _new_alert(source, first[k], counts[k], now, subjects.get(_identity(first[k]).key or ""))
                for k in chunk
            ]
            sql = _upsert_sql(len(alerts))
            params = _upsert_params(alerts)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                by_key = {a.dedup_key: a for a in alerts}
                for pk, key, occurrences in cursor.fetchall():
                    # A fresh row carries exactly this batch's count; an existing one has more.
                    outcome[key] = (pk, occurrences == counts[key])
                    if outcome[key][1]:
                        rollups.merge(counted, rollups.contribution(by_key[key]))
        # The dashboard's counts, in this same transaction (after the alert rows: one lock order).
        rollups.apply(counted)
        created_ids = [pk for pk, created in outcome.values() if created]
        recurrences_mark(alert_ids=created_ids, now=now)
        timeline.alerts_raised(
            alert_ids=created_ids, at=now, status=Status.WARNING, source_name=source.name, source_code=source.code,
        )
        if created_ids:
            audit_record(
                action=AuditEvent.Action.ALERTS_RAISED, actor_label=f"source:{source.code}",
                object_type="source_system", object_id=source.pk,
                data={"created": len(created_ids), "received": len(items), "first_id": min(created_ids)},
            )

    results: list[IntakeResult] = []
    reported: set[str] = set()
    for item in items:
        pk, created = outcome[item.dedup_key]
        results.append(IntakeResult(pk, item.dedup_key, created and item.dedup_key not in reported))
        reported.add(item.dedup_key)
    return results
