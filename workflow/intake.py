"""Intake: the one path by which alerts enter the loop, from business systems and from
screening runs alike.

Dedup survives races: a partial unique index allows one open alert per (source, dedup_key), and
the batch is written with `INSERT … ON CONFLICT … DO UPDATE SET occurrence_count =
occurrence_count + n`, so two racing pushes of one key make one alert whose count is the sum.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import OrgUnit
from alerts.models import RISK_RANK, Alert, Domain, RiskLevel, SourceIndicator, SourceSystem
from alerts.states import Status
from alerts.subjects import SubjectIdentity, subjects_resolve
from audit.models import AuditEvent
from audit.services import audit_record
from cases import timeline
from cases.models import TimelineEntry
from workflow import deadlines, rollups
from workflow.recurrence import recurrences_mark

# Rows per INSERT statement on SQLite: well under its bound-parameter limit.
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
    ingest = _ingest_postgresql if connection.vendor == "postgresql" else _ingest_portable
    outcome = ingest(source, [first[k] for k in keys], counts, now, items)

    results: list[IntakeResult] = []
    reported: set[str] = set()
    for item in items:
        pk, created = outcome[item.dedup_key]
        results.append(IntakeResult(pk, item.dedup_key, created and item.dedup_key not in reported))
        reported.add(item.dedup_key)
    return results


def _indicator_codes(source: SourceSystem, items: Sequence[IntakeItem]) -> list[str]:
    # A business system's rule codes are its embedded indicators: listed when first pushed.
    if source.kind != SourceSystem.Kind.BUSINESS:
        return []
    return sorted({item.rule for item in items if item.rule})


# ----- PostgreSQL: one statement for the alerts and everything a new alert writes -----

# The input columns, in order, with their array types (one array per column for a batch).
_INPUT = (
    ("title", "varchar"), ("domain", "varchar"), ("risk_level", "varchar"), ("risk_rank", "smallint"),
    ("org_unit_id", "bigint"), ("rule_code", "varchar"), ("subject_name", "varchar"),
    ("subject_id_number", "varchar"), ("subject_credit_code", "varchar"), ("amount", "numeric"),
    ("subject_id", "bigint"), ("details", "jsonb"), ("dedup_key", "varchar"), ("occurrence_count", "integer"),
    ("occurred_at", "timestamptz"), ("due_at", "timestamptz"),
)
_TYPES = dict(_INPUT)


def _statement(varying: frozenset[str]) -> str:
    """The intake statement; `varying` names the input columns that travel as arrays.

    A column whose value is the same for every item of the batch — every column of a single
    item, and in a batch typically the unit, domain, deadline, empty subject fields — travels
    once as a scalar parameter; the others as one array each, all unnested together. Statement
    texts are cached per set of varying columns.

    `ins` upserts the alerts (same partial unique index and counting as ever); `new` keeps the
    rows this statement created (a fresh row carries exactly this batch's count; an existing one
    has more); from `new` hang the timeline entries, the rollup rows (sorted by key, as
    `rollups.apply` writes them, so writers lock rollup rows in one order) and the audit row.
    The source's indicator codes are listed in the same statement. One round trip, atomic on
    its own: a single item needs no BEGIN / COMMIT of its own.
    """
    arrays = [name for name, _type in _INPUT if name in varying]
    if arrays:
        unnest = ", ".join(f"%({name})s::{_TYPES[name]}[]" for name in arrays)
        src = f"SELECT * FROM unnest({unnest}) AS v({', '.join(arrays)})"
    else:
        src = "SELECT 1 AS one"

    def col(name: str) -> str:
        return f"src.{name}" if name in varying else f"%({name})s::{_TYPES[name]}"

    (title, domain, risk_level, risk_rank, unit, rule, s_name, s_id, s_code, amount, subject, details, key,
     count, occurred, due) = (col(name) for name, _type in _INPUT)
    measures = rollups.MEASURES
    zeros = ", ".join("0" for m in measures if m != "n")
    others = ", ".join(m for m in measures if m != "n")
    Dim = rollups.Dim
    # The day rows and, as `rollups.apply` adds them, their month-grain rows (dim + MONTHLY).
    counts = "\n        UNION ALL\n        ".join(
        f"SELECT '{dim}{grain}' AS dim, org_unit_id, {day}::date AS day, {key} AS key, count(*) AS n"
        f" FROM new GROUP BY org_unit_id{group}"
        for grain, day in (("", "%(day)s"), (rollups.MONTHLY, "%(month)s"))
        for dim, key, group in ((Dim.STATUS.value, "%(status)s", ""), (Dim.DOMAIN.value, "domain", ", domain"),
                                (Dim.SOURCE.value, "%(source_key)s", ""))
    )
    # A business system's rules are its indicators (`rollups.indicator_key`: "source:rule").
    counts += "\n        UNION ALL\n        " + "\n        UNION ALL\n        ".join(
        f"SELECT '{Dim.INDICATOR.value}{grain}' AS dim, org_unit_id, {day}::date AS day,"
        f" %(source_key)s || ':' || rule_code AS key, count(*) AS n"
        f" FROM new WHERE %(indicators)s AND rule_code <> '' GROUP BY org_unit_id, rule_code"
        for grain, day in (("", "%(day)s"), (rollups.MONTHLY, "%(month)s"))
    )
    # A screening model's alerts (`rollups.model_key`: "stage:model code").
    counts += "\n        UNION ALL\n        " + "\n        UNION ALL\n        ".join(
        f"SELECT '{Dim.MODEL.value}{grain}' AS dim, org_unit_id, {day}::date AS day,"
        f" %(status)s || ':' || rule_code AS key, count(*) AS n"
        f" FROM new WHERE %(models)s AND rule_code <> '' GROUP BY org_unit_id, rule_code"
        for grain, day in (("", "%(day)s"), (rollups.MONTHLY, "%(month)s"))
    )
    return f"""
WITH src AS MATERIALIZED ({src}),
ins AS (
    INSERT INTO alerts_alert (title, domain, risk_level, risk_rank, org_unit_id, source_id, rule_code,
        subject_name, subject_id_number, subject_credit_code, amount, subject_id, details, tags, dedup_key,
        occurrence_count, occurred_at, last_occurred_at, status, conclusion, stage_entered_at, stage_seq,
        due_at, escalation_level, supervised, merged_from_status, created_at, updated_at)
    SELECT {title}, {domain}, {risk_level}, {risk_rank}, {unit}, %(source)s, {rule}, {s_name}, {s_id}, {s_code},
        {amount}, {subject}, {details}, '[]'::jsonb, {key}, {count}, {occurred}, %(now)s, %(status)s, '', %(now)s,
        1, {due}, 0, false, '', %(now)s, %(now)s
    FROM src
    ON CONFLICT (source_id, dedup_key) WHERE NOT (status = '{Status.CLOSED.value}')
    DO UPDATE SET occurrence_count = alerts_alert.occurrence_count + EXCLUDED.occurrence_count,
        last_occurred_at = EXCLUDED.last_occurred_at, updated_at = EXCLUDED.updated_at
    RETURNING id, dedup_key, occurrence_count, org_unit_id, domain, rule_code
),
new AS MATERIALIZED (
    SELECT ins.id, ins.org_unit_id, ins.domain, ins.rule_code FROM ins JOIN src ON {key} = ins.dedup_key
    WHERE ins.occurrence_count = {count}
),
entries AS (
    INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data)
    SELECT id, %(now)s, %(created)s, '', '', %(status)s, %(source_name)s, %(entry_data)s::jsonb
    FROM new ORDER BY id
),
counted AS (
    INSERT INTO workflow_alertrollup (dim, org_unit_id, day, key, n, {others})
    SELECT dim, org_unit_id, day, key, n, {zeros} FROM (
        {counts}
    ) r
    ORDER BY dim COLLATE "C", org_unit_id, day, key COLLATE "C"
    ON CONFLICT (dim, org_unit_id, day, key) DO UPDATE SET
        {", ".join(f"{m} = workflow_alertrollup.{m} + EXCLUDED.{m}" for m in measures)}
),
audited AS (
    INSERT INTO audit_auditevent (at, actor, action, object_type, object_id, data)
    SELECT %(now)s, %(actor)s, %(action)s, 'source_system', %(source_key)s,
        jsonb_build_object('created', count(*), 'received', %(received)s::integer, 'first_id', min(id))
    FROM new HAVING count(*) > 0
),
indicators AS (
    INSERT INTO alerts_sourceindicator (source_id, code, name, module, threshold, department, created_at,
        updated_at)
    SELECT %(source)s, code, '', '', '', '', %(now)s, %(now)s FROM unnest(%(codes)s::varchar[]) AS c(code)
    ON CONFLICT (source_id, code) DO NOTHING
)
SELECT id, dedup_key, occurrence_count FROM ins
"""


_STATEMENTS: dict[frozenset[str], str] = {}


def _columns_of(source: SourceSystem, chosen: list[IntakeItem], counts: dict[str, int], now: datetime,
                subjects: dict[str, int]) -> list[list[Any]]:
    """One list per input column, straight from the validated items (no model instances)."""
    due: dict[tuple[str, str], datetime | None] = {}
    columns: list[list[Any]] = [[] for _ in _INPUT]
    (title, domain, risk_level, risk_rank, unit, rule, s_name, s_id, s_code, amount, subject, details, key, count,
     occurred, due_at) = columns
    for item in chosen:
        pair = (item.risk_level, item.domain)
        if pair not in due:
            due[pair] = deadlines.stage_due_at(stage=Status.WARNING, risk_level=item.risk_level,
                                               domain=item.domain, entered_at=now)
        identity = _identity(item).key
        title.append(item.title)
        domain.append(item.domain)
        risk_level.append(item.risk_level)
        risk_rank.append(RISK_RANK[RiskLevel(item.risk_level)])
        unit.append(item.org_unit.pk)
        rule.append(item.rule)
        s_name.append(item.subject_name)
        s_id.append(item.subject_id_number)
        s_code.append(item.subject_credit_code)
        amount.append(item.amount)
        subject.append(subjects.get(identity) if identity else None)
        details.append(json.dumps(item.details))
        key.append(item.dedup_key)
        count.append(counts[item.dedup_key])
        occurred.append(item.occurred_at)
        due_at.append(due[pair])
    return columns


def _ingest_postgresql(source: SourceSystem, chosen: list[IntakeItem], counts: dict[str, int], now: datetime,
                       items: Sequence[IntakeItem]) -> dict[str, tuple[int, bool]]:
    identities = [_identity(item) for item in chosen]
    # Subjects and recurrences take statements of their own, and then a transaction around them
    # all; without subjects the one statement is the whole transaction.
    with_subjects = any(i.key for i in identities)
    with transaction.atomic() if with_subjects else nullcontext():
        # Every alert links to its subject file; the whole batch's subjects in two statements.
        subjects = subjects_resolve(identities) if with_subjects else {}
        columns = _columns_of(source, chosen, counts, now, subjects)
        params: dict[str, Any] = {
            "source": source.pk, "now": now, "status": Status.WARNING.value,
            "created": TimelineEntry.Kind.CREATED.value,
            "source_name": source.name, "entry_data": json.dumps({"source": source.code}),
            "day": rollups.local_day(now), "month": rollups.local_day(now).replace(day=1),
            "source_key": str(source.pk), "actor": f"source:{source.code}"[:150],
            "action": AuditEvent.Action.ALERTS_RAISED.value, "received": len(items),
            "codes": _indicator_codes(source, items),
            "indicators": source.kind == SourceSystem.Kind.BUSINESS,
            "models": source.kind == SourceSystem.Kind.SCREENING,
        }
        varying: set[str] = set()
        for (name, _type), values in zip(_INPUT, columns, strict=True):
            if values.count(values[0]) == len(values):
                params[name] = values[0]
            else:
                params[name] = values
                varying.add(name)
        shape = frozenset(varying)
        if shape not in _STATEMENTS:
            if len(_STATEMENTS) >= 256:
                _STATEMENTS.clear()
            _STATEMENTS[shape] = _statement(shape)
        with connection.cursor() as cursor:
            cursor.execute(_STATEMENTS[shape], params)
            rows = cursor.fetchall()
        outcome = {key: (pk, occurrences == counts[key]) for pk, key, occurrences in rows}
        linked = {item.dedup_key for item, subject in zip(chosen, columns[10], strict=True) if subject is not None}
        fresh = [pk for key, (pk, created) in outcome.items() if created and key in linked]
        if fresh:
            recurrences_mark(alert_ids=fresh, now=now)
    return outcome


# ----- Other databases (the embedded SQLite default): a statement per kind of row -----


def _columns() -> list[Any]:
    return [f for f in Alert._meta.concrete_fields if not f.primary_key]


def _upsert_sql(n_rows: int) -> str:
    """One INSERT … ON CONFLICT … RETURNING for `n_rows` alerts, as a multi-row VALUES list."""
    fields = _columns()
    qn = connection.ops.quote_name
    table = qn(Alert._meta.db_table)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) VALUES " + ", ".join([row] * n_rows)
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
    return [f.get_db_prep_save(getattr(a, f.attname), connection) for a in alerts for f in fields]


def _ingest_portable(source: SourceSystem, chosen: list[IntakeItem], counts: dict[str, int], now: datetime,
                     items: Sequence[IntakeItem]) -> dict[str, tuple[int, bool]]:
    outcome: dict[str, tuple[int, bool]] = {}
    counted: rollups.Rows = {}
    with transaction.atomic():
        # Every alert links to its subject file; the whole batch's subjects in two statements.
        subjects = subjects_resolve(_identity(item) for item in chosen)
        for start in range(0, len(chosen), _CHUNK):
            alerts = [
                _new_alert(source, item, counts[item.dedup_key], now, subjects.get(_identity(item).key or ""))
                for item in chosen[start:start + _CHUNK]
            ]
            with connection.cursor() as cursor:
                cursor.execute(_upsert_sql(len(alerts)), _upsert_params(alerts))
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
        codes = _indicator_codes(source, items)
        if codes:
            SourceIndicator.objects.bulk_create([SourceIndicator(source=source, code=c) for c in codes],
                                                ignore_conflicts=True)
        timeline.alerts_raised(
            alert_ids=created_ids, at=now, status=Status.WARNING, source_name=source.name, source_code=source.code,
        )
        if created_ids:
            audit_record(
                action=AuditEvent.Action.ALERTS_RAISED, actor_label=f"source:{source.code}",
                object_type="source_system", object_id=source.pk,
                data={"created": len(created_ids), "received": len(items), "first_id": min(created_ids)},
            )
    return outcome
