"""The deadline sweep: the source of truth for reminders and escalation.

Deadlines are columns, not timers. Every minute (Celery beat, or `manage.py run_sweeper` on the
embedded default) `sweep()`:

1. records the 'deadline approaching' notice (step 0) for alerts entering their warning window;
2. climbs the escalation ladder for overdue alerts: step 1 reminder to the assignee, step 2 yellow
   card to the unit's supervisors, step 3 督办 red card to its leaders with `supervised = True`;
3. notifies the issuer of rectification orders past their due date without feedback (once);
4. retries outbox deliveries that are still pending.

Set-based and exactly once (docs/deadlines.md): each batch is one short transaction with a
constant number of statements. Alerts are claimed with SELECT … FOR UPDATE SKIP LOCKED on a keyset
cursor over (due_at, id), so concurrent sweeps take disjoint rows and the claimed row's
`stage_seq` (bumped on every stage entry — the fencing token) and `escalation_level` are current.
One `INSERT … ON CONFLICT (alert, stage_seq, step) DO NOTHING RETURNING` records the batch's
steps, fenced on stage_seq; the timeline entries, inbox rows and outbox rows are written for the
returned steps only, so a step recorded before has no side effects; levels are raised (never
lowered) where stage_seq still matches. Messages are sent after commit. Each claim runs on the
partial index on `due_at` of open alerts, so the cost follows the number of due alerts, not the
number of open ones.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OrgUnit, User
from alerts import policy
from alerts.models import Alert
from alerts.states import Status
from cases import timeline
from core.masking import mask_text
from workflow import deadlines
from workflow.calendar import local
from workflow.ledger import orders_climb_ladder
from workflow.models import EscalationStep, Notification, OrgUnitWebhook
from workflow.notify import (
    Message,
    RoleDirectory,
    deliveries_send,
    enqueue_deliveries,
    notify_many,
    unique_recipients,
    webhooks_for,
)
from workflow.referrals import referrals_overdue_return

STEP_LABELS = {
    0: EscalationStep.Step.APPROACHING.label,
    1: EscalationStep.Step.REMINDER.label,
    2: EscalationStep.Step.YELLOW_CARD.label,
    3: EscalationStep.Step.RED_CARD.label,
}


@dataclass
class SweepReport:
    at: datetime
    approaching: int = 0
    steps: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0})
    supervised: int = 0
    orders_overdue: int = 0
    orders_notified: int = 0
    referrals_returned: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(), "approaching": self.approaching,
            "steps": {str(k): v for k, v in self.steps.items()}, "supervised": self.supervised,
            "orders_overdue": self.orders_overdue, "orders_notified": self.orders_notified,
            "referrals_returned": self.referrals_returned, "deliveries": self.deliveries,
        }

    def lines(self) -> list[str]:
        return [
            _("Sweep as of %(at)s") % {"at": local(self.at).isoformat(timespec="seconds")},
            _("  deadline approaching notices: %(n)d") % {"n": self.approaching},
            _("  step 1 reminders: %(n)d") % {"n": self.steps[1]},
            _("  step 2 yellow cards: %(n)d") % {"n": self.steps[2]},
            _("  step 3 supervision orders (督办): %(n)d") % {"n": self.steps[3]},
            _("  rectification orders overdue: %(n)d (newly notified: %(m)d)")
            % {"n": self.orders_overdue, "m": self.orders_notified},
            _("  referrals overdue, back to dispatch: %(n)d") % {"n": self.referrals_returned},
            _("  deliveries retried: %(d)s") % {"d": self.deliveries or {}},
        ]


def ladder_offsets() -> list[timedelta]:
    return [timedelta(hours=h) for h in settings.HUOYAN_ESCALATION_AFTER_HOURS][:3]


def responsible_for(alert: Alert | DueAlert, directory: RoleDirectory) -> list[User]:
    """Who has to act on the alert in its current stage (`alerts.policy.stage_actor`)."""
    actor = policy.stage_actor(alert)
    if actor == policy.ASSIGNEE:
        return [alert.assignee]
    return directory.get(alert.org_unit, actor)


def _open_due() -> Q:
    # Written as NOT (status = 'closed') so PostgreSQL uses the partial index alert_open_due_idx.
    return ~Q(status=Status.CLOSED) & Q(due_at__isnull=False)


@dataclass(slots=True)
class DueAlert:
    """A claimed alert: the columns the sweep reads (what `policy.stage_actor`, the deadline
    policies, the messages and the webhook payload use), without a model instance per row —
    building those cost a quarter of the sweep's time. `org_unit` and `assignee` are attached
    from the sweep's lookups."""

    id: int
    title: str
    status: str
    risk_level: str
    domain: str
    stage_seq: int
    due_at: datetime
    escalation_level: int
    supervised: bool
    org_unit_id: int
    assignee_id: int | None
    org_unit: OrgUnit | None = None
    assignee: User | None = None

    @property
    def pk(self) -> int:
        return self.id

    def as_model(self) -> Alert:
        """The claimed row as a model instance (marked as loaded), for the ORM writers."""
        alert = Alert(**{f: getattr(self, f) for f in _CLAIM_FIELDS})
        alert._state.adding, alert._state.db = False, connection.alias
        _ORG_UNIT.set_cached_value(alert, self.org_unit)
        _ASSIGNEE.set_cached_value(alert, self.assignee)
        return alert


_CLAIM_FIELDS = tuple(f for f in DueAlert.__dataclass_fields__ if f not in ("org_unit", "assignee"))
_ORG_UNIT = Alert._meta.get_field("org_unit")
_ASSIGNEE = Alert._meta.get_field("assignee")


def _claim(
    qs, batch: int, after: tuple[datetime, int] | None, lookups: _Lookups,  # noqa: ANN001 - QuerySet[Alert]
) -> list[DueAlert]:
    """Lock the next `batch` rows after the keyset cursor `after` = (due_at, id). Rows another
    sweep holds are skipped (SKIP LOCKED), and the cursor never revisits what this sweep passed.
    Units and assignees come from the sweep's lookups (a batch has hundreds of alerts and a
    handful of units and people), loaded once each, not joined into every row: a join would
    also be sorted with every due row on each claim."""
    if after is not None:
        # `due_at >= x AND (due_at > x OR id > y)`: the first conjunct keeps it an index range.
        qs = qs.filter(due_at__gte=after[0]).filter(Q(due_at__gt=after[0]) | Q(pk__gt=after[1]))
    rows = [
        DueAlert(*values) for values in
        qs.select_for_update(skip_locked=True, of=("self",)).order_by("due_at", "id")
        .values_list(*_CLAIM_FIELDS)[:batch]
    ]
    lookups.attach(rows)
    return rows


def _step_texts() -> dict[int, tuple[str, str, str]]:
    """Per rung: (notification kind, title, body) in the active language, with %(id)s, %(title)s
    and %(due)s still to fill — translated once per batch, not once per alert."""
    return {
        0: (Notification.Kind.APPROACHING, _("Alert #%(id)s is due at %(due)s"),
            _("“%(title)s” is due at %(due)s. Act on it or request an extension before then.")),
        1: (Notification.Kind.OVERDUE, _("Reminder: alert #%(id)s is overdue"),
            _("“%(title)s” was due at %(due)s.")),
        2: (Notification.Kind.ESCALATION, _("Yellow card: alert #%(id)s is overdue"),
            _("Written reminder: “%(title)s” was due at %(due)s and is still open.")),
        3: (Notification.Kind.ESCALATION, _("Supervision order (督办): alert #%(id)s"),
            _("Red card: “%(title)s” was due at %(due)s; it is now under supervision.")),
    }


def _step_message(
    alert: Alert | DueAlert, step: int, directory: RoleDirectory, *,
    texts: dict[int, tuple[str, str, str]] | None = None, due: str | None = None,
) -> Message:
    """The message of one rung: step 0 and 1 to whoever must act in the stage, step 2 (yellow
    card) to the unit's supervisors, step 3 (red card, 督办) to its leaders and supervisors.
    `texts` and `due` let a batch pass what it has already translated and formatted."""
    kind, title, body = (texts or _step_texts())[step]
    ref = {"id": alert.pk, "title": alert.title, "due": due or local(alert.due_at).strftime("%Y-%m-%d %H:%M")}
    if step <= 1:
        recipients = responsible_for(alert, directory)
    elif step == 2:
        recipients = directory.supervisors(alert.org_unit)
    else:
        recipients = [*directory.leaders(alert.org_unit), *directory.supervisors(alert.org_unit)]
    return Message(recipients, kind, title % ref, body % ref, alert=alert, event={"step": step})


@dataclass
class _Lookups:
    """Who holds which role and which webhook serves which unit, loaded once per sweep for the
    units its batches meet (one query each per batch at most, none for units already seen)."""

    directory: RoleDirectory = field(default_factory=RoleDirectory)
    hooks: dict[int, OrgUnitWebhook | None] = field(default_factory=dict)
    units: dict[int, OrgUnit] = field(default_factory=dict)
    people: dict[int, User] = field(default_factory=dict)

    def attach(self, alerts: Sequence[DueAlert]) -> None:
        """Give each alert its unit and assignee objects (as select_related would), with one
        query each for those not met before in this sweep."""
        units = {a.org_unit_id for a in alerts} - self.units.keys()
        if units:
            self.units.update((u.pk, u) for u in OrgUnit.objects.filter(pk__in=units).only("id", "code", "path"))
        people = {a.assignee_id for a in alerts if a.assignee_id} - self.people.keys()
        if people:
            self.people.update(
                (u.pk, u) for u in User.objects.filter(pk__in=people).only("id", "username", "email")
            )
        for alert in alerts:
            alert.org_unit = self.units[alert.org_unit_id]
            if alert.assignee_id:
                alert.assignee = self.people[alert.assignee_id]

    def load(self, alerts: Sequence[Alert | DueAlert]) -> None:
        new = {a.org_unit_id: a.org_unit for a in alerts if a.org_unit_id not in self.hooks}
        if not new:
            return
        self.directory.preload(new.values())
        found = webhooks_for(new.values())
        for pk in new:
            self.hooks[pk] = found.get(pk)


@dataclass
class Written:
    """What `record_steps` wrote: the steps that were new (duplicates are not listed), and on
    PostgreSQL the outbox rows to hand to the sender after commit."""

    steps: list[tuple[int, int]] = field(default_factory=list)  # (alert id, step)
    deliveries: list[int] = field(default_factory=list)


def record_steps(
    claimed: Sequence[tuple[Alert | DueAlert, Sequence[int]]], *, now: datetime, lookups: _Lookups | None = None,
    levels: bool = True,
) -> Written:
    """Write the ladder steps `claimed` reached, inside the caller's transaction, in a constant
    number of statements whatever the batch size.

    The step rows are inserted by one statement, `INSERT … ON CONFLICT (alert, stage_seq, step)
    DO NOTHING RETURNING`, that also checks each alert still has the `stage_seq` it was claimed
    with (fencing); the timeline entries, inbox rows and outbox rows are written only for the
    steps it returned — a step recorded before has no side effects, and a stale claim writes
    nothing. With `levels`, each alert's `escalation_level` (and `supervised` from step 3) is
    raised to its highest step, again only while `stage_seq` matches and never lowered.

    The alerts must carry the level they are being raised to (the webhook payload shows it).
    """
    written = Written()
    if connection.vendor != "postgresql":
        # The ORM writers of the portable path take model instances.
        claimed = [(a.as_model() if isinstance(a, DueAlert) else a, steps) for a, steps in claimed]
    todo = [(a, s) for a, steps in claimed for s in steps]
    if not todo:
        return written
    lookups = lookups or _Lookups()
    lookups.load([a for a, _steps in claimed])
    plan = _Plan.build(todo, lookups=lookups)
    raise_to = (
        [(a.pk, a.stage_seq, max(steps), a.supervised or max(steps) >= 3) for a, steps in claimed if steps]
        if levels else []
    )
    if connection.vendor == "postgresql":
        _write_postgresql(plan, raise_to, now=now, written=written)
    else:
        _write_portable(plan, raise_to, now=now, written=written)
    if written.deliveries:
        ids = list(written.deliveries)
        transaction.on_commit(lambda: enqueue_deliveries(ids))
    return written


@dataclass
class _Plan:
    """Every row a batch would write, keyed by (alert, stage_seq, step); built once in Python
    (texts translated and masked exactly as `notify_many` does), written by either backend."""

    todo: list[tuple[Alert | DueAlert, int]]
    messages: list[Message]
    lookups: _Lookups

    @classmethod
    def build(cls, todo: list[tuple[Alert | DueAlert, int]], *, lookups: _Lookups) -> _Plan:
        due: dict[int, str] = {}  # an alert climbing several rungs formats its deadline once
        for alert, _step in todo:
            if alert.pk not in due:
                due[alert.pk] = local(alert.due_at).strftime("%Y-%m-%d %H:%M")
        texts = _step_texts()
        return cls(todo, [_step_message(a, s, lookups.directory, texts=texts, due=due[a.pk]) for a, s in todo],
                   lookups)


def _write_postgresql(plan: _Plan, raise_to: list, *, now: datetime, written: Written) -> None:
    """One statement: data-modifying CTEs hang the timeline, inbox and outbox rows off the
    RETURNING of the step insert, and raise the levels (fenced on stage_seq, never lowered).

    Python sends what only it can make — the messages' translated, masked texts and their
    recipients (`notify_many`'s rules), one record per alert and per message — as JSON
    documents; the database fans them out per recipient and builds the rows, the timeline's data
    and the webhook payload (the fields of `notify.webhook_payload`, checked by the tests)."""
    grace = timedelta(seconds=settings.HUOYAN_DELIVERY_GRACE_SECONDS)
    # The webhook masks the same texts as the inbox, and an alert's title appears once per rung.
    mask = functools.cache(mask_text)
    raise_of = {pk: (level, supervised) for pk, _seq, level, supervised in raise_to}
    steps: list[dict] = []
    alerts: dict[int, dict] = {}
    messages: list[dict] = []
    for (alert, step), msg in zip(plan.todo, plan.messages, strict=True):
        steps.append({"a": alert.pk, "q": alert.stage_seq, "s": step})
        if alert.pk not in alerts:
            hook = plan.lookups.hooks.get(alert.org_unit_id)
            level, supervised = raise_of.get(alert.pk, (None, None))
            alerts[alert.pk] = {
                "a": alert.pk, "q": alert.stage_seq, "st": alert.status, "rl": alert.risk_level,
                "u": alert.org_unit.code, "t": mask(alert.title), "d": alert.due_at.isoformat(),
                "l": alert.escalation_level, "v": alert.supervised, "ul": level, "uv": supervised,
                "w": hook.pk if hook else None, "h": hook.url if hook else None,
            }
        recipients = unique_recipients(msg)
        if recipients:
            # As `notify_many`: inbox rows for each recipient once, and a webhook delivery for a
            # message that reached somebody's inbox.
            messages.append({
                "a": alert.pk, "s": step, "k": msg.kind, "t": mask(str(msg.title)), "b": mask(str(msg.body)),
                "r": [u.pk for u in recipients], "n": sorted({u.username for u in recipients}),
            })
    params = {
        "steps": json.dumps(steps), "alerts": json.dumps(list(alerts.values()), ensure_ascii=False),
        "messages": json.dumps(messages, ensure_ascii=False),
        "labels": json.dumps({step: str(label) for step, label in STEP_LABELS.items()}, ensure_ascii=False),
        "now": now, "at": now.isoformat(), "next": now + grace,
    }
    with connection.cursor() as cur:
        cur.execute(POSTGRESQL_WRITE, params)
        for tag, a, b in cur.fetchall():
            if tag == "s":
                written.steps.append((a, b))
            else:
                written.deliveries.append(a)


def _write_portable(plan: _Plan, raise_to: list, *, now: datetime, written: Written) -> None:
    """SQLite (the embedded default, ≥ 3.35 for RETURNING): the same step insert, its rows
    passed as one JSON parameter; then the other rows for the returned steps only, through the
    ORM (`notify_many` enqueues its own deliveries after commit)."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cur:
        cur.execute(SQLITE_STEPS, [at, json.dumps([[a.pk, a.stage_seq, s] for a, s in plan.todo])])
        new = {(a, q, s) for a, q, s in cur.fetchall()}
        if raise_to:
            cur.execute(SQLITE_LEVELS, [json.dumps(raise_to)])
    kept = [i for i, (a, s) in enumerate(plan.todo) if (a.pk, a.stage_seq, s) in new]
    written.steps = [(plan.todo[i][0].pk, plan.todo[i][1]) for i in kept]
    timeline.escalation_steps(
        steps=((a, s, str(STEP_LABELS[s])) for a, s in (plan.todo[i] for i in kept) if s > 0), at=now,
    )
    notify_many([plan.messages[i] for i in kept], now=now)


# PostgreSQL: the whole batch's writes in one statement. Steps are fenced by joining the alert on
# (id, stage_seq); everything else joins the steps the insert RETURNED, so a step that exists
# already (unique (alert, stage_seq, step)) adds no timeline, inbox or outbox row. The level
# update is fenced on stage_seq and only raises (GREATEST; supervised only turns on).
POSTGRESQL_WRITE = """
WITH alerts AS (
    SELECT * FROM json_to_recordset(%(alerts)s::json) AS x(
        a bigint, q int, st text, rl text, u text, t text, d text, l smallint, v boolean, ul smallint,
        uv boolean, w bigint, h text)),
messages AS (
    SELECT * FROM json_to_recordset(%(messages)s::json) AS m(a bigint, s smallint, k text, t text, b text,
                                                            r json, n json)),
steps AS (
    INSERT INTO workflow_escalationstep (alert_id, stage_seq, stage, step, due_at, at)
    SELECT a.id, a.stage_seq, a.status, v.s, a.due_at, %(now)s
    FROM json_to_recordset(%(steps)s::json) AS v(a bigint, q int, s smallint)
    JOIN alerts_alert a ON a.id = v.a AND a.stage_seq = v.q AND NOT (a.status = 'closed')
    ON CONFLICT (alert_id, stage_seq, step) DO NOTHING
    RETURNING alert_id, step),
timeline AS (
    INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data)
    SELECT s.alert_id, %(now)s, 'escalation', 'step_' || s.step, x.st, x.st, %(labels)s::json ->> s.step::text,
           jsonb_build_object('step', s.step, 'stage_seq', x.q, 'due_at', x.d)
    FROM steps s JOIN alerts x ON x.a = s.alert_id
    WHERE s.step > 0),
notes AS (
    INSERT INTO workflow_notification (recipient_id, alert_id, kind, title, body, key, link, created_at)
    SELECT r.id::bigint, s.alert_id, m.k, left(m.t, 255), m.b, '', '', %(now)s
    FROM steps s JOIN messages m ON m.a = s.alert_id AND m.s = s.step
    CROSS JOIN LATERAL json_array_elements_text(m.r) AS r(id)
    RETURNING id, recipient_id, title, body),
mail AS (
    INSERT INTO workflow_delivery (channel, notification_id, address, payload, state, attempts, next_attempt_at,
                                   last_error, created_at)
    SELECT 'email', n.id, u.email, jsonb_build_object('subject', n.title, 'body', n.body), 'pending', 0,
           %(next)s, '', %(now)s
    FROM notes n JOIN accounts_user u ON u.id = n.recipient_id
    WHERE u.email <> ''
    RETURNING id),
hooks AS (
    INSERT INTO workflow_delivery (channel, webhook_id, address, payload, state, attempts, next_attempt_at,
                                   last_error, created_at)
    SELECT 'webhook', x.w, x.h, jsonb_build_object(
               'event', m.k, 'title', m.t, 'body', m.b,
               'alert', jsonb_build_object('id', x.a, 'title', x.t, 'status', x.st, 'risk_level', x.rl, 'unit', x.u,
                                           'due_at', x.d, 'escalation_level', x.l, 'supervised', x.v),
               'recipients', m.n, 'at', %(at)s::text, 'step', m.s),
           'pending', 0, %(next)s, '', %(now)s
    FROM steps s JOIN messages m ON m.a = s.alert_id AND m.s = s.step JOIN alerts x ON x.a = s.alert_id
    WHERE x.w IS NOT NULL
    RETURNING id),
levels AS (
    UPDATE alerts_alert a
    SET escalation_level = GREATEST(a.escalation_level, x.ul), supervised = a.supervised OR x.uv,
        ever_overdue = a.ever_overdue OR x.ul >= 1
    FROM alerts x
    WHERE x.ul IS NOT NULL AND a.id = x.a AND a.stage_seq = x.q
      AND (a.escalation_level < x.ul OR (x.uv AND NOT a.supervised)))
SELECT 's', alert_id, step FROM steps
UNION ALL SELECT 'd', id, 0 FROM mail
UNION ALL SELECT 'd', id, 0 FROM hooks
"""

# SQLite: one statement for the steps (INSERT … SELECT needs the WHERE before ON CONFLICT), one for
# the levels (UPDATE … FROM, ≥ 3.33). Rows arrive as one JSON array, whatever the batch size.
SQLITE_STEPS = """
INSERT INTO workflow_escalationstep (alert_id, stage_seq, stage, step, due_at, at)
SELECT a.id, a.stage_seq, a.status, json_extract(v.value, '$[2]'), a.due_at, %s
FROM json_each(%s) AS v
JOIN alerts_alert a ON a.id = json_extract(v.value, '$[0]') AND a.stage_seq = json_extract(v.value, '$[1]')
WHERE NOT (a.status = 'closed')
ON CONFLICT (alert_id, stage_seq, step) DO NOTHING
RETURNING alert_id, stage_seq, step
"""
SQLITE_LEVELS = """
UPDATE alerts_alert
SET escalation_level = MAX(alerts_alert.escalation_level, v.level),
    supervised = (alerts_alert.supervised OR v.supervised),
    ever_overdue = (alerts_alert.ever_overdue OR v.level >= 1)
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS stage_seq,
             json_extract(value, '$[2]') AS level, json_extract(value, '$[3]') AS supervised
      FROM json_each(%s)) AS v
WHERE alerts_alert.id = v.id AND alerts_alert.stage_seq = v.stage_seq
  AND (alerts_alert.escalation_level < v.level OR (v.supervised AND NOT alerts_alert.supervised))
"""


def sweep_approaching(*, now: datetime, report: SweepReport, batch: int) -> None:
    window = deadlines.max_warning_window()
    already = EscalationStep.objects.filter(alert=OuterRef("pk"), stage_seq=OuterRef("stage_seq"), step=0)
    base = Alert.objects.filter(
        _open_due(), due_at__gt=now, due_at__lte=now + window, escalation_level=0
    ).filter(~Exists(already))
    lookups = _Lookups()
    after: tuple[datetime, int] | None = None
    while True:
        with transaction.atomic():
            rows = _claim(base, batch, after, lookups)
            if not rows:
                return
            after = (rows[-1].due_at, rows[-1].pk)
            claimed = [(a, [0]) for a in rows if a.due_at - deadlines.warning_window_for(a) <= now]
            written = record_steps(claimed, now=now, lookups=lookups, levels=False)
            report.approaching += len(written.steps)
        if len(rows) < batch:
            return


def sweep_overdue(
    *, now: datetime, report: SweepReport, batch: int, on_claimed: Callable[[list[DueAlert]], None] | None = None,
) -> None:
    offsets = ladder_offsets()
    reached = Q()
    for level, offset in enumerate(offsets):
        reached |= Q(escalation_level=level, due_at__lte=now - offset)
    base = Alert.objects.filter(_open_due(), due_at__lte=now - offsets[0]).filter(reached)
    lookups = _Lookups()
    after: tuple[datetime, int] | None = None
    while True:
        # One short transaction per batch: claim, write, commit; the locks last that long only.
        with transaction.atomic():
            rows = _claim(base, batch, after, lookups)
            if not rows:
                return
            after = (rows[-1].due_at, rows[-1].pk)
            claimed: list[tuple[DueAlert, list[int]]] = []
            supervised = 0
            for alert in rows:
                target = sum(1 for off in offsets if alert.due_at + off <= now)
                steps = list(range(alert.escalation_level + 1, target + 1))
                if not steps:
                    continue
                # The level the alert is raised to (the webhook payload reports it).
                alert.escalation_level = target
                if target >= 3 and not alert.supervised:
                    alert.supervised = True
                    supervised += 1
                claimed.append((alert, steps))
            written = record_steps(claimed, now=now, lookups=lookups)
            for _pk, step in written.steps:
                report.steps[step] += 1
            report.supervised += supervised
            if on_claimed is not None:
                on_claimed(rows)
        if len(rows) < batch:
            return


def sweep_orders(*, now: datetime, report: SweepReport) -> None:
    """Overdue replies to notices climb their own reminder ladder (`workflow.ledger`)."""
    report.orders_overdue, report.orders_notified = orders_climb_ladder(now=now)


def sweep(
    *, now: datetime | None = None, deliveries: bool = True,
    on_claimed: Callable[[list[DueAlert]], None] | None = None,
) -> SweepReport:
    """One sweep as of `now` (default: the current time). Safe to run concurrently and repeatedly."""
    now = now or timezone.now()
    batch = settings.HUOYAN_SWEEP_BATCH
    report = SweepReport(at=now)
    sweep_overdue(now=now, report=report, batch=batch, on_claimed=on_claimed)
    sweep_approaching(now=now, report=report, batch=batch)
    sweep_orders(now=now, report=report)
    report.referrals_returned = referrals_overdue_return(now=now)
    if deliveries:
        report.deliveries = deliveries_send(now=max(now, timezone.now()))
    return report
