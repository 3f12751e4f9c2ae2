"""Intake writes the same rows whichever way an alert arrives: alone (one statement with scalar
parameters), in a batch (one `unnest` statement), or through the statement-per-kind path the
embedded SQLite default takes — alerts, timeline entries, rollups, audit rows, indicators."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts.models import Alert, SourceIndicator
from alerts.subjects import SubjectIdentity, subjects_resolve
from audit.models import AuditEvent
from cases.models import TimelineEntry
from workflow import intake, rollups
from workflow.intake import IntakeItem, alerts_ingest

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
DIFFERENT = {"id", "dedup_key"}


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch):
    monkeypatch.setattr(intake.timezone, "now", lambda: NOW)


def _item(key: str, org, **extra) -> IntakeItem:
    fields = {"title": "同一供应商连续中标", "risk_level": "red", "org_unit": org.kunshan, "domain": "procurement",
              "rule": "PROC-001", "subject_name": "某公司", "subject_credit_code": "91320583MA1XXXXX0X",
              "amount": Decimal("12345.67"), "occurred_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
              "details": {"wins": 7, "买方": "某局", "nested": [1, None, {"x": "y"}]}}
    return IntakeItem(dedup_key=key, **{**fields, **extra})


def _row(key: str) -> dict:
    alert = Alert.objects.filter(dedup_key=key).values().get()
    return {k: v for k, v in alert.items() if k not in DIFFERENT}


def _entries(key: str) -> list[dict]:
    return list(TimelineEntry.objects.filter(alert__dedup_key=key)
                .values("at", "actor_id", "kind", "action", "from_status", "to_status", "text", "data",
                        "stage_seconds", "stage_working_days"))


def _added(write) -> tuple[rollups.Rows, list[dict]]:
    """What `write()` adds to the rollups and to the audit log."""
    before, seen = rollups.stored_rows(), set(AuditEvent.objects.values_list("pk", flat=True))
    write()
    audit = list(AuditEvent.objects.exclude(pk__in=seen).values("actor_id", "actor", "action", "object_type",
                                                               "object_id", "ip", "data"))
    return rollups.difference(rollups.stored_rows(), before), audit


def test_one_item_a_batch_and_the_portable_path_write_identical_rows(source, org, monkeypatch):
    one_rollups, one_audit = _added(lambda: alerts_ingest(source=source, items=[_item("one", org)]))
    alerts_ingest(source=source, items=[_item("batch", org), _item("batch-2", org, domain="land")])
    monkeypatch.setattr(intake, "_ingest_postgresql", intake._ingest_portable)
    old_rollups, old_audit = _added(lambda: alerts_ingest(source=source, items=[_item("portable", org)]))

    assert _row("one") == _row("batch") == _row("portable")
    assert _row("one")["subject_id"] is not None and _row("one")["due_at"] == _row("portable")["due_at"]
    assert _entries("one") == _entries("batch") == _entries("portable") != []
    assert one_rollups == old_rollups != {}
    for audit in (one_audit, old_audit):
        audit[0]["data"].pop("first_id")
    assert one_audit == old_audit
    assert list(SourceIndicator.objects.values_list("code", flat=True)) == ["PROC-001"]
    assert rollups.differences() == []


def test_a_batch_reports_and_counts_only_the_alerts_it_created(source, org):
    alerts_ingest(source=source, items=[_item("old", org)])
    before = rollups.stored_rows()
    results = alerts_ingest(source=source, items=[_item("old", org), _item("new", org), _item("new", org),
                                                  _item("other", org, domain="land", subject_name="",
                                                        subject_credit_code="")])
    assert [r.created for r in results] == [False, True, False, True]
    assert results[1].id == results[2].id
    counts = dict(Alert.objects.values_list("dedup_key", "occurrence_count"))
    assert counts == {"old": 2, "new": 2, "other": 1}
    assert TimelineEntry.objects.filter(alert__dedup_key="old").count() == 1
    assert TimelineEntry.objects.filter(alert__dedup_key__in=["new", "other"]).count() == 2
    added = rollups.difference(rollups.stored_rows(), before)
    assert sum(m["n"] for (dim, *_rest), m in added.items() if dim == "status") == 2
    last = AuditEvent.objects.filter(action="alerts_raised").order_by("-id").first()
    assert last.data == {"created": 2, "received": 4, "first_id": min(results[1].id, results[3].id)}
    assert rollups.differences() == []


def test_a_batch_of_only_repeats_writes_no_entry_no_count_and_no_audit_row(source, org):
    alerts_ingest(source=source, items=[_item("a", org), _item("b", org)])
    audit, before = AuditEvent.objects.count(), rollups.stored_rows()
    results = alerts_ingest(source=source, items=[_item("a", org), _item("b", org)])
    assert [r.created for r in results] == [False, False]
    assert AuditEvent.objects.count() == audit and rollups.stored_rows() == before
    assert TimelineEntry.objects.count() == 2


def test_an_alert_without_a_subject_is_raised_in_one_statement(source, org, django_assert_num_queries):
    alerts_ingest(source=source, items=[_item("warm", org)])  # loads the deadline policies and calendar
    with django_assert_num_queries(1):
        [result] = alerts_ingest(source=source, items=[_item("bare", org, subject_name="", subject_credit_code="")])
    assert result.created and Alert.objects.get(pk=result.id).subject_id is None


def test_a_recurrence_is_marked_on_the_fast_path_too(source, org, people, monkeypatch):
    from tests.api.helpers import drive

    [first] = alerts_ingest(source=source, items=[_item("first", org)])
    drive(Alert.objects.get(pk=first.id), "closed", supervisor=people.kunshan_supervisor,
          verifier=people.kunshan_verifier, leader=people.city_leader)
    monkeypatch.setattr(intake.timezone, "now", lambda: datetime(2027, 6, 1, tzinfo=UTC))
    [again] = alerts_ingest(source=source, items=[_item("again", org)])
    assert Alert.objects.get(pk=again.id).recurrence_of_id == first.id


def test_subjects_of_a_batch_resolve_to_the_same_files_as_alone(source, org):
    alerts_ingest(source=source, items=[_item("x", org)])
    alerts_ingest(source=source, items=[_item("y", org), _item("z", org, subject_credit_code="91320583MA2YYYYY1Y")])
    key = SubjectIdentity(credit_code="91320583MA1XXXXX0X").key
    subject = subjects_resolve([SubjectIdentity(credit_code="91320583MA1XXXXX0X")])[key]
    assert {_row("x")["subject_id"], _row("y")["subject_id"]} == {subject}
    assert _row("z")["subject_id"] not in (None, subject)


def test_a_batch_whose_every_column_varies_writes_what_each_item_writes_alone(source, org):
    first = _item("", org)
    second = _item("", org, title="另一条", risk_level="blue", org_unit=org.kunshan_office, domain="land",
                   rule="LAND-2", subject_name="张三", subject_credit_code="", subject_id_number="11010519491231002X",
                   amount=None, occurred_at=None, details={})
    batch = [IntakeItem(**{**vars(item), "dedup_key": f"b{i}"}) for i, item in enumerate((first, second))]
    alone = [IntakeItem(**{**vars(item), "dedup_key": f"a{i}"}) for i, item in enumerate((first, second))]
    alerts_ingest(source=source, items=batch)
    for item in alone:
        alerts_ingest(source=source, items=[item])
    assert _row("b0") == _row("a0") and _row("b1") == _row("a1") and _row("b0") != _row("b1")
    assert _entries("b1") == _entries("a1")
    assert rollups.differences() == []
