"""`python manage.py seed_scale --alerts 500000 --models 2300`: a city at ten times Suzhou's load.

Suzhou's platform found about 51,000 suspected problems in five years from 230 models; this
loads ten times that into PostgreSQL in minutes, with set-based `INSERT … SELECT` statements
run inside the server (no row travels through Python):

- one city and ten counties of very different sizes (Kunshan ≈ 20 %, Huqiu ≈ 4 %), three towns
  under the largest county, leaders, supervisors and verifiers in each;
- two years of history, more alerts recently than long ago; old alerts mostly closed, recent
  ones spread over every stage; dismissals, unfounded conclusions that skip disposal;
- a timeline entry for every stage change (with the time spent in the stage it left), the stage
  records (assignment, verification, disposition, result action, evaluation, dismissal), a few
  comments, and a handful of alerts with 2,000-entry timelines;
- `--models` screening models with five runs each; alerts from the screening feed carry a
  model's code as their rule, with a long tail (a few models raise most hits);
- an inbox of notifications for every verifier.

Idempotent: a second run with the same numbers does nothing; different numbers replace the
scale data (everything under the `scale` unit) and leave every other row alone.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from workflow import rollups

CITY = "scale"
# (code, name, share of the alerts, towns)
COUNTIES: list[tuple[str, str, float, int]] = [
    ("scale-ks", "昆山市", 0.20, 3),
    ("scale-zjg", "张家港市", 0.15, 0),
    ("scale-cs", "常熟市", 0.14, 0),
    ("scale-wj", "吴江区", 0.12, 0),
    ("scale-wz", "吴中区", 0.09, 0),
    ("scale-tc", "太仓市", 0.08, 0),
    ("scale-sip", "苏州工业园区", 0.07, 0),
    ("scale-xc", "相城区", 0.06, 0),
    ("scale-gs", "姑苏区", 0.05, 0),
    ("scale-hq", "虎丘区", 0.04, 0),
]
CITY_SHARE = 0.0  # the remainder after the counties (the city's own alerts)
VERIFIERS_PER_UNIT = 6
HISTORY_DAYS = 730
LONG_TIMELINES = 25  # alerts with 2,000 entries each
LONG_TIMELINE_ENTRIES = 2000
SOURCES = [
    ("scale-procurement", "政府采购监管系统", "procurement"),
    ("scale-subsidies", "惠民惠农补贴系统", "subsidies"),
    ("scale-enforcement", "行政执法监督平台", "enforcement"),
    ("scale-environment", "生态环境监测平台", "environment"),
    ("scale-finance", "财政一体化系统", "finance"),
    ("scale-construction", "工程建设项目审批系统", "construction"),
    ("scale-land", "自然资源管理系统", "land"),
    ("scale-hotline", "12345 热线", "other"),
]
SCREENING_SOURCE = ("scale-screening", "数据筛查模型", "screening")
DOMAINS = ["procurement", "subsidies", "enforcement", "environment", "finance", "construction", "land", "other"]
TITLES = {
    "procurement": ["{s}中标价格明显高于同类项目", "{s}与评标专家存在关联关系", "{s}疑似围标串标"],
    "subsidies": ["{s}重复领取农机购置补贴", "{s}已故人员仍在领取补贴", "{s}冒领低保金"],
    "enforcement": ["{s}行政处罚畸轻", "{s}执法记录缺失", "{s}罚没款未及时上缴"],
    "environment": ["{s}化工企业排污许可过期仍在生产", "{s}危险化学品储存超量", "{s}在线监测数据异常"],
    "finance": ["{s}公款转入私人账户", "{s}超标准发放津补贴", "{s}虚列支出"],
    "construction": ["{s}化工园区项目未批先建", "{s}工程款超付", "{s}违规分包转包"],
    "land": ["{s}违规占用耕地", "{s}土地出让金欠缴", "{s}低价出让国有土地"],
    "other": ["{s}群众反映问题", "{s}信访举报线索", "{s}违规收受礼金"],
}
SUBJECTS = ["苏州恒达化工有限公司", "昆山宏图建设工程有限公司", "张家港市华阳物资贸易有限公司", "常熟市金鼎农业合作社",
            "太仓港城环保科技有限公司", "吴江区某街道办事处", "相城区某村民委员会", "苏州工业园区某管理中心",
            "李某某", "王某某", "张某", "刘某某", "陈某", "杨某某", "赵某", "黄某某"]
MARK = "scale-"  # dedup keys, model codes and usernames start with it


class Command(BaseCommand):
    help = "Load a city at ten times Suzhou's load (PostgreSQL only; idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alerts", type=int, default=500_000)
        parser.add_argument("--models", type=int, default=2300)
        parser.add_argument("--runs-per-model", type=int, default=5)
        parser.add_argument("--password", default="", help="password for the scale users (default: unusable)")
        parser.add_argument("--force", action="store_true", help="reload even if the numbers already match")

    def handle(self, *args: Any, **opts: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (set DATABASE_URL).")
        n_alerts, n_models = opts["alerts"], opts["models"]
        if n_alerts < 1000 or n_models < 1:
            raise CommandError("--alerts must be at least 1000 and --models at least 1.")
        started = time.perf_counter()
        if not opts["force"] and self._already(n_alerts, n_models):
            self.stdout.write(f"{n_alerts:,} alerts and {n_models:,} models already loaded; nothing to do.")
            return
        with transaction.atomic():
            self._skip_fk_checks()
            self._step("clearing earlier scale data", self._clear)
            units = self._step("units, users, sources", lambda: self._units_users_sources(opts["password"]))
            self._step(f"{n_models:,} models, {n_models * opts['runs_per_model']:,} runs",
                       lambda: self._models(n_models, opts["runs_per_model"], units))
            self._step("subjects", self._subjects)
            self._step(f"{n_alerts:,} alerts", lambda: self._alerts(n_alerts, n_models, units))
            self._step("a special project", self._project)
            self._step("timeline", self._timeline)
            self._step("stage records", self._stage_records)
            self._step("comments and long timelines", self._comments)
            self._step("notifications", self._notifications)
            self._step("escalation steps", self._escalations)
            self._step("sequences", self._sequences)
            self._after_load()
        self._step("vacuum analyze", self._vacuum)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM cases_timelineentry t JOIN alerts_alert a ON a.id = t.alert_id"
                        " WHERE a.dedup_key LIKE 'scale-%%'")
            entries = cur.fetchone()[0]
        self.stdout.write(self.style.SUCCESS(
            f"loaded {n_alerts:,} alerts, {entries:,} timeline entries, {n_models:,} models"
            f" in {time.perf_counter() - started:.0f} s"))

    # ----- helpers -----

    def _step(self, label: str, fn: Any) -> Any:
        t = time.perf_counter()
        result = fn()
        self.stdout.write(f"  {label}: {time.perf_counter() - t:.1f} s")
        return result

    def _sql(self, sql: str, params: Any = None) -> None:
        with connection.cursor() as cur:
            cur.execute(sql, [] if params is None else params)

    def _skip_fk_checks(self) -> None:
        """The generated rows are consistent by construction; checking millions of foreign keys
        at commit would take longer than writing them. Needs a superuser; otherwise checked."""
        try:
            with transaction.atomic():
                self._sql("SET LOCAL session_replication_role = replica")
        except Exception:  # noqa: BLE001 - not allowed: the checks run, only slower
            self.stdout.write("  (foreign keys checked at commit: not a superuser)")

    def _already(self, n_alerts: int, n_models: int) -> bool:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM alerts_alert a JOIN alerts_sourcesystem s ON s.id = a.source_id"
                        " WHERE s.code LIKE 'scale-%%'")
            alerts = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM screening_screeningmodel WHERE code LIKE 'scale-%%'")
            models = cur.fetchone()[0]
        return alerts == n_alerts and models == n_models

    def _clear(self) -> None:
        scoped = ("SELECT a.id FROM alerts_alert a JOIN alerts_sourcesystem s ON s.id = a.source_id"
                  " WHERE s.code LIKE 'scale-%%'")
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM accounts_orgunit WHERE code = %s", [CITY])
            if not cur.fetchone():
                return
        # Everything that hangs off a scale alert (and the rows that hang off those, such as
        # evidence off findings), then the alerts, models, users and units.
        children = self._alert_children()
        for table, column, parent in self._grandchildren(children):
            self._sql(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM {parent} WHERE alert_id IN ({scoped}))")
        for table in children:
            self._sql(f"DELETE FROM {table} WHERE alert_id IN ({scoped})")
        self._sql(f"DELETE FROM alerts_alert WHERE id IN ({scoped})")
        for table in ("screening_specialproject_screening_models", "screening_specialproject_units",
                      "screening_specialproject_datasets"):
            self._sql(f"DELETE FROM {table} WHERE specialproject_id IN"
                      " (SELECT id FROM screening_specialproject WHERE name LIKE 'scale-%%')")
        self._sql("DELETE FROM screening_specialproject WHERE name LIKE 'scale-%%'")
        self._sql("DELETE FROM screening_screeningrun WHERE model_id IN"
                  " (SELECT id FROM screening_screeningmodel WHERE code LIKE 'scale-%%')")
        self._sql("DELETE FROM screening_screeningmodel WHERE code LIKE 'scale-%%'")
        self._sql("DELETE FROM workflow_notification WHERE recipient_id IN"
                  " (SELECT id FROM accounts_user WHERE username LIKE 'scale-%%')")
        self._sql("DELETE FROM alerts_sourcesystem WHERE code LIKE 'scale-%%'")
        self._sql("DELETE FROM alerts_subject WHERE key LIKE 'name:%%:scale-%%'")

    @staticmethod
    def _alert_children() -> list[str]:
        """Tables with an `alert_id` column (whatever the other apps add), children first."""
        with connection.cursor() as cur:
            cur.execute(
                "SELECT c.table_name FROM information_schema.columns c"
                " JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema"
                " WHERE c.column_name = 'alert_id' AND c.table_schema = current_schema()"
                " AND t.table_type = 'BASE TABLE' ORDER BY c.table_name")
            return [r[0] for r in cur.fetchall()]

    @staticmethod
    def _grandchildren(children: list[str]) -> list[tuple[str, str, str]]:
        """(table, column, parent) for each foreign key into one of `children` from a table that
        is not itself an alert child (those are deleted by their own alert_id)."""
        with connection.cursor() as cur:
            cur.execute(
                "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text"
                " FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
                " WHERE c.contype = 'f' AND c.confrelid::regclass::text = ANY(%s)", [children])
            return [(t, col, p) for t, col, p in cur.fetchall() if t not in children]

    def _units_users_sources(self, password: str) -> list[dict[str, Any]]:
        from accounts.models import OrgUnit, Role, User
        from alerts.models import SourceSystem

        city, _ = OrgUnit.objects.get_or_create(code=CITY, defaults={"name": "苏州市（规模测试）", "level": "city",
                                                                     "path": f"{CITY}/"})
        specs: list[tuple[OrgUnit, float]] = [(city, 0.0)]
        rest = 1.0
        for code, name, share, towns in COUNTIES:
            county, _ = OrgUnit.objects.get_or_create(
                code=code, defaults={"name": name, "level": "county", "parent": city, "path": f"{city.path}{code}/"})
            rest -= share
            if towns:
                town_share = share / (towns + 1)
                specs.append((county, town_share))
                for i in range(towns):
                    town, _ = OrgUnit.objects.get_or_create(
                        code=f"{code}-t{i}", defaults={"name": f"{name}第{i + 1}纪检监察室", "level": "office",
                                                       "parent": county, "path": f"{county.path}{code}-t{i}/"})
                    specs.append((town, town_share))
            else:
                specs.append((county, share))
        specs[0] = (city, max(rest, 0.02))
        total = sum(s for _, s in specs)
        hashed = make_password(password) if password else make_password(None)
        units: list[dict[str, Any]] = []
        lo = 0.0
        for unit, share in specs:
            users: dict[str, list[int]] = {}
            short = unit.code.removeprefix("scale-").replace("-", "_") if unit.code != CITY else "city"
            for role, n in ((Role.LEADER, 1), (Role.SUPERVISOR, 2), (Role.VERIFIER, VERIFIERS_PER_UNIT)):
                ids = []
                for i in range(n):
                    user, _ = User.objects.get_or_create(
                        username=f"scale-{short}-{role}{i}",
                        defaults={"role": role, "org_unit": unit, "password": hashed,
                                  "full_name": f"{unit.name}{role_label(role)}{i + 1}"})
                    ids.append(user.pk)
                users[role] = ids
            hi = lo + share / total
            units.append({"id": unit.pk, "lo": lo, "hi": hi, "verifiers": users[Role.VERIFIER],
                          "supervisor": users[Role.SUPERVISOR][0], "leader": users[Role.LEADER][0]})
            lo = hi
        units[-1]["hi"] = 1.0000001
        for code, name, _domain in [*SOURCES, SCREENING_SOURCE]:
            SourceSystem.objects.get_or_create(
                code=code, defaults={"name": name, "org_unit": city, "key_prefix": code[:16],
                                     "key_hash": "0" * 64,
                                     "kind": "screening" if code == SCREENING_SOURCE[0] else "business"})
        self._sql("DROP TABLE IF EXISTS scale_units")
        self._sql("CREATE TEMP TABLE scale_units (unit_id bigint, lo float8, hi float8, verifiers bigint[],"
                  " supervisor bigint, leader bigint)")
        with connection.cursor() as cur:
            for u in units:
                cur.execute("INSERT INTO scale_units VALUES (%s, %s, %s, %s, %s, %s)",
                            [u["id"], u["lo"], u["hi"], u["verifiers"], u["supervisor"], u["leader"]])
        return units

    def _models(self, n_models: int, runs: int, units: list[dict[str, Any]]) -> None:
        self._sql("SELECT setseed(0.16)")
        self._sql(
            """
            INSERT INTO screening_screeningmodel (code, version, is_latest, name, description, domain, risk_level,
                status, supervision_points, template, params, spec, schedule, created_at, updated_at, org_unit_id, tags)
            SELECT 'scale-m' || lpad(g::text, 5, '0'), 1, true,
                   (ARRAY['采购','补贴','执法','环保','财政','工程','土地','综合'])[1 + g %% 8] || '筛查模型 ' || g,
                   '', (%(domains)s::text[])[1 + g %% 8], (ARRAY['red','orange','yellow','blue'])[1 + g %% 4],
                   CASE WHEN g %% 10 = 0 THEN 'draft' ELSE 'active' END, '', '', '{}'::jsonb, '{}'::jsonb, 'none',
                   now() - (random() * %(days)s) * interval '1 day', now(),
                   (SELECT unit_id FROM scale_units ORDER BY unit_id LIMIT 1 OFFSET (g %% %(n_units)s)),
                   '[]'::jsonb
            FROM generate_series(1, %(n)s) g
            """,
            {"n": n_models, "domains": DOMAINS, "days": HISTORY_DAYS, "n_units": len(units)},
        )
        self._sql(
            """
            INSERT INTO screening_screeningrun (status, progress, hit_count, alerts_created, error, scheduled, spec,
                datasets, created_at, started_at, finished_at, duration_ms, model_id, dry_run)
            SELECT 'succeeded', 100, (random() * 200)::int, (random() * 50)::int, '', r %% 2 = 0, '{}'::jsonb,
                   '{}'::jsonb, t, t, t + interval '3 seconds', 300 + (random() * 5000)::int, m.id, false
            FROM screening_screeningmodel m, generate_series(1, %(runs)s) r,
                 LATERAL (SELECT m.created_at + r * (now() - m.created_at) / (%(runs)s + 1) AS t) x
            WHERE m.code LIKE 'scale-%%'
            """,
            {"runs": runs},
        )

    def _alerts(self, n: int, n_models: int, units: list[dict[str, Any]]) -> None:
        titles = [t for d in DOMAINS for t in TITLES[d]]
        self._sql("SELECT setseed(0.42)")
        self._sql("DROP TABLE IF EXISTS scale_a")
        # One row per alert with its fate drawn: unit by share, creation skewed to recent
        # months, stage durations (days), whether it is dismissed or concluded unfounded.
        self._sql(
            """
            CREATE TEMP TABLE scale_a AS
            SELECT g, r_unit, r_fate, r_concl, r_title, r_subj,
                   now() - (%(days)s * (1 - sqrt(random()))) * interval '1 day' AS created_at,
                   array[0.2 + random() * 3, 0.1 + random() * 2, 2 + random() * 25, 1 + random() * 10,
                         2 + random() * 20, 0.5 + random() * 5] AS d
            FROM (SELECT g, random() AS r_unit, random() AS r_fate, random() AS r_concl, random() AS r_title,
                         random() AS r_subj FROM generate_series(1, %(n)s) g) x
            """,
            {"n": n, "days": HISTORY_DAYS},
        )
        self._sql(
            """
            ALTER TABLE scale_a ADD COLUMN unit_id bigint, ADD COLUMN verifier bigint, ADD COLUMN supervisor bigint,
                ADD COLUMN leader bigint, ADD COLUMN dismissed boolean, ADD COLUMN unfounded boolean,
                ADD COLUMN conclusion text, ADD COLUMN t timestamptz[], ADD COLUMN reached int,
                ADD COLUMN domain text, ADD COLUMN source_code text, ADD COLUMN rule text
            """
        )
        self._sql(
            """
            UPDATE scale_a a SET unit_id = u.unit_id, verifier = u.verifiers[1 + a.g %% array_length(u.verifiers, 1)],
                supervisor = u.supervisor, leader = u.leader
            FROM scale_units u WHERE a.r_unit >= u.lo AND a.r_unit < u.hi
            """
        )
        # Stage k (1..6) is entered at t[k]; an unfounded conclusion skips disposal and use of results.
        self._sql(
            """
            UPDATE scale_a SET
                dismissed = r_fate < 0.15,
                unfounded = r_concl < 0.35,
                conclusion = CASE WHEN r_concl < 0.35 THEN 'unfounded' WHEN r_concl < 0.55
                             THEN 'partially_substantiated' ELSE 'substantiated' END,
                domain = (%(domains)s::text[])[1 + (g * 7 + (r_title * 1000)::int) %% 8],
                t = array[
                    created_at + d[1] * interval '1 day',
                    created_at + (d[1] + d[2]) * interval '1 day',
                    created_at + (d[1] + d[2] + d[3]) * interval '1 day',
                    created_at + (d[1] + d[2] + d[3] + CASE WHEN r_concl < 0.35 THEN 0 ELSE d[4] END)
                        * interval '1 day',
                    created_at + (d[1] + d[2] + d[3] + CASE WHEN r_concl < 0.35 THEN 0 ELSE d[4] + d[5] END)
                        * interval '1 day',
                    created_at + (d[1] + d[2] + d[3] + CASE WHEN r_concl < 0.35 THEN 0 ELSE d[4] + d[5] END + d[6])
                        * interval '1 day']
            """,
            {"domains": DOMAINS},
        )
        # How far each got by now; one in ten stalls at some stage (still open long after).
        self._sql(
            """
            UPDATE scale_a SET reached = CASE
                WHEN dismissed THEN CASE WHEN t[1] <= now() THEN 6 ELSE 0 END
                ELSE (SELECT count(*) FROM unnest(t) x WHERE x <= now())::int END
            """
        )
        self._sql("UPDATE scale_a SET reached = least(reached, g %% 6) WHERE r_fate > 0.90 AND NOT dismissed")
        # About 40 % come from the screening models, most of them from a few busy ones.
        self._sql(
            """
            UPDATE scale_a SET
                source_code = CASE WHEN r_subj < 0.4 THEN 'scale-screening' ELSE
                    (%(codes)s::text[])[1 + array_position(%(domains)s::text[], domain) - 1] END,
                rule = CASE WHEN r_subj < 0.4
                    THEN 'scale-m' || lpad((1 + floor(%(models)s * power(r_subj / 0.4, 3)))::int::text, 5, '0')
                    ELSE '' END
            """,
            {"codes": [c for c, _n, _d in SOURCES], "domains": DOMAINS, "models": n_models},
        )
        self._sql("CREATE INDEX ON scale_a (g)")
        self._sql("ANALYZE scale_a")
        self._sql(
            """
            INSERT INTO alerts_alert (id, title, domain, risk_level, risk_rank, rule_code, subject_name,
                subject_id_number, subject_credit_code, amount, details, dedup_key, occurrence_count, occurred_at,
                last_occurred_at, status, conclusion, stage_entered_at, stage_seq, due_at, escalation_level,
                supervised, created_at, updated_at, closed_at, assignee_id, org_unit_id, source_id,
                merged_from_status, tags, subject_id)
            SELECT (SELECT coalesce(max(id), 0) FROM alerts_alert) + a.g,
                   replace((%(titles)s::text[])[1 + (array_position(%(domains)s::text[], a.domain) - 1) * 3
                                                 + (a.g %% 3)],
                           '{s}', (%(subjects)s::text[])[1 + (a.r_subj * 1000)::int %% %(n_subj)s]),
                   a.domain, rl.level, rl.rank, a.rule,
                   (%(subjects)s::text[])[1 + (a.r_subj * 1000)::int %% %(n_subj)s],
                   CASE WHEN a.g %% 5 = 0 THEN '3205' || lpad((a.g::bigint * 7919 %% 100000000000000)::text, 14, '0')
                        ELSE '' END,
                   CASE WHEN a.g %% 3 = 0 THEN '91320' || lpad((a.g::bigint * 104729 %% 10000000000000)::text, 13, '0')
                        ELSE '' END,
                   round((power(10, 3 + a.r_title * 4))::numeric, 2),
                   jsonb_build_object('batch', a.g / 1000), 'scale-' || a.g, 1 + (a.g %% 7 = 0)::int,
                   a.created_at, a.created_at,
                   st.status, CASE WHEN a.reached >= 3 AND NOT a.dismissed THEN a.conclusion ELSE '' END,
                   CASE WHEN a.reached = 0 THEN a.created_at ELSE a.t[a.reached] END,
                   1 + a.reached,
                   CASE WHEN st.status = 'closed' THEN NULL
                        ELSE CASE WHEN a.reached = 0 THEN a.created_at ELSE a.t[a.reached] END
                             + (3 + (a.g %% 12)) * interval '1 day' END,
                   0, false, a.created_at, a.created_at,
                   CASE WHEN st.status = 'closed' THEN a.t[CASE WHEN a.dismissed THEN 1 ELSE 6 END] END,
                   CASE WHEN a.reached >= 1 AND NOT a.dismissed THEN a.verifier END,
                   a.unit_id, s.id, '', '[]'::jsonb,
                   (SELECT x.id FROM alerts_subject x WHERE x.key = 'name:' || a.unit_id || ':' || %(mark)s
                        || (%(subjects)s::text[])[1 + (a.r_subj * 1000)::int %% %(n_subj)s])
            FROM scale_a a
            JOIN alerts_sourcesystem s ON s.code = a.source_code
            CROSS JOIN LATERAL (SELECT CASE WHEN a.dismissed AND a.reached = 6 THEN 'closed'
                WHEN a.dismissed THEN 'warning'
                ELSE (ARRAY['warning','assigned','verifying','disposing','applying','evaluating','closed'])
                     [1 + a.reached] END AS status) st
            CROSS JOIN LATERAL (SELECT (ARRAY['red','orange','yellow','blue'])[1 + (a.g * 31) %% 4] AS level,
                                       ((a.g * 31) %% 4)::smallint AS rank) rl
            """,
            {"titles": titles, "domains": DOMAINS, "subjects": SUBJECTS, "n_subj": len(SUBJECTS), "mark": MARK},
        )
        # An unfounded alert never sits in disposal or use of results.
        self._sql(
            """
            UPDATE alerts_alert SET status = 'evaluating' WHERE dedup_key LIKE 'scale-%%'
                AND status IN ('disposing', 'applying') AND conclusion = 'unfounded'
            """
        )
        self._sql("ALTER TABLE scale_a ADD COLUMN alert_id bigint")
        self._sql("UPDATE scale_a a SET alert_id = x.id FROM alerts_alert x WHERE x.dedup_key = 'scale-' || a.g"
                  " AND x.source_id IN (SELECT id FROM alerts_sourcesystem WHERE code LIKE 'scale-%%')")

    def _subjects(self) -> None:
        """一企一档: each unit's subjects by name (the key carries the mark so a reload clears them)."""
        self._sql(
            """
            INSERT INTO alerts_subject (key, kind, name, normalized_name, credit_code, id_number, org_unit_id,
                                        created_at)
            SELECT 'name:' || u.unit_id || ':' || %(mark)s || n, 'name', n, n, '', '', u.unit_id, now()
            FROM scale_units u, unnest(%(subjects)s::text[]) n
            ON CONFLICT (key) DO NOTHING
            """,
            {"mark": MARK, "subjects": SUBJECTS},
        )

    def _project(self) -> None:
        """专项监督: one city project over the first twenty models, deployed to every county."""
        self._sql(
            """
            INSERT INTO screening_specialproject (name, description, start_date, end_date, created_at, updated_at,
                                                  lead_unit_id)
            SELECT %(name)s, '', (now() - interval '300 days')::date, (now() + interval '60 days')::date, now(),
                   now(), u.id
            FROM accounts_orgunit u WHERE u.code = %(city)s
            """,
            {"name": MARK + "专项", "city": CITY},
        )
        project = "(SELECT id FROM screening_specialproject WHERE name = %(name)s)"
        self._sql(
            f"""
            INSERT INTO screening_specialproject_screening_models (specialproject_id, screeningmodel_id)
            SELECT {project}, m.id FROM screening_screeningmodel m WHERE m.code LIKE 'scale-%%' ORDER BY m.code LIMIT 20
            """,
            {"name": MARK + "专项"},
        )
        self._sql(
            f"""
            INSERT INTO screening_specialproject_units (specialproject_id, orgunit_id)
            SELECT {project}, u.unit_id FROM scale_units u JOIN accounts_orgunit o ON o.id = u.unit_id
            WHERE o.code <> %(city)s
            """,
            {"name": MARK + "专项", "city": CITY},
        )

    # (k, action, from, to) for the normal path; unfounded skips 4 and 5 (3 goes to evaluating).
    _PATH = """(VALUES (1, 'assign', 'warning', 'assigned'), (2, 'accept', 'assigned', 'verifying'),
                       (3, 'submit_verification', 'verifying', 'disposing'), (4, 'dispose', 'disposing', 'applying'),
                       (5, 'apply_results', 'applying', 'evaluating'), (6, 'close', 'evaluating', 'closed'))
               AS p(k, action, from_status, to_status)"""

    def _timeline(self) -> None:
        self._sql(
            """
            INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data)
            SELECT a.alert_id, a.created_at, 'created', '', '', 'warning', s.name, jsonb_build_object('source', s.code)
            FROM scale_a a JOIN alerts_sourcesystem s ON s.code = a.source_code
            """
        )
        self._sql(
            """
            INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data, actor_id)
            SELECT a.alert_id, a.t[1], 'transition', 'dismiss', 'warning', 'closed', '',
                   '{"reason": "false_positive"}'::jsonb, a.supervisor
            FROM scale_a a WHERE a.dismissed AND a.reached = 6
            """
        )
        self._sql(
            f"""
            INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data, actor_id)
            SELECT a.alert_id, a.t[p.k], 'transition', p.action, p.from_status,
                   CASE WHEN p.k = 3 AND a.unfounded THEN 'evaluating' ELSE p.to_status END,
                   '', '{{}}'::jsonb,
                   CASE WHEN p.k IN (2, 3) THEN a.verifier WHEN p.k = 6 THEN a.leader ELSE a.supervisor END
            FROM scale_a a CROSS JOIN {self._PATH}
            WHERE NOT a.dismissed AND p.k <= a.reached AND NOT (a.unfounded AND p.k IN (4, 5))
            """
        )

    def _stage_records(self) -> None:
        live = "NOT a.dismissed"
        self._sql(f"""
            INSERT INTO cases_assignment (alert_id, note, created_at, accepted_at, return_reason, assigned_by_id,
                                          assignee_id)
            SELECT a.alert_id, '', a.t[1], CASE WHEN a.reached >= 2 THEN a.t[2] END, '', a.supervisor, a.verifier
            FROM scale_a a WHERE {live} AND a.reached >= 1""")
        self._sql(f"""
            INSERT INTO cases_verification (alert_id, conclusion, summary, created_at, verifier_id)
            SELECT a.alert_id, a.conclusion, '经调取相关资料核查，情况基本属实。', a.t[3], a.verifier
            FROM scale_a a WHERE {live} AND a.reached >= 3""")
        self._sql(f"""
            INSERT INTO cases_disposition (alert_id, outcome, case_filed, amount_recovered, note, created_at,
                                           decided_by_id, amount_confiscated)
            SELECT a.alert_id, (ARRAY['rectification_only','form_1','form_2','form_3','form_4','cleared'])
                   [1 + (a.g * 13) %% 6], (a.g %% 17 = 0), round((a.r_title * 100000)::numeric, 2), '', a.t[4],
                   a.supervisor, 0
            FROM scale_a a WHERE {live} AND a.reached >= 4 AND NOT a.unfounded""")
        self._sql(f"""
            INSERT INTO cases_resultaction (alert_id, kind, recipient, text, due_date, feedback, created_at,
                                            issued_by_id, copy_to, doc_number, reminder_level, review, review_note,
                                            signer, state, title, withdraw_reason)
            SELECT a.alert_id, (ARRAY['work_notice','integrity_notice','recommendation','rectification_order'])
                   [1 + a.g %% 4], '被监督单位', '请于规定期限内整改并书面反馈。', (a.t[5] + interval '30 days')::date,
                   '', a.t[5], a.supervisor, '[]'::jsonb, '', 0, '', '', '', 'issued', '', ''
            FROM scale_a a WHERE {live} AND a.reached >= 5 AND NOT a.unfounded""")
        self._sql(f"""
            INSERT INTO cases_evaluation (alert_id, decision, score, comment, sent_back_to, created_at, evaluator_id,
                                          override_reason)
            SELECT a.alert_id, 'close', 3 + a.g %% 3, '', '', a.t[6], a.leader, ''
            FROM scale_a a WHERE {live} AND a.reached >= 6""")
        self._sql("""
            INSERT INTO cases_dismissal (alert_id, reason, note, created_at, dismissed_by_id)
            SELECT a.alert_id, 'false_positive', '', a.t[1], a.supervisor
            FROM scale_a a WHERE a.dismissed AND a.reached = 6""")

    def _comments(self) -> None:
        # One alert in sixteen has a comment or two.
        self._sql("""
            INSERT INTO cases_comment (alert_id, text, created_at, author_id)
            SELECT a.alert_id, '已电话联系被监督单位，约定下周现场核查。', a.created_at + c * interval '1 hour',
                   a.supervisor
            FROM scale_a a, generate_series(1, 2) c WHERE a.g %% 16 = 0 AND c <= 1 + a.g %% 2""")
        self._sql("""
            INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data, actor_id)
            SELECT a.alert_id, a.created_at + c * interval '1 hour', 'comment', '', '', '',
                   '已电话联系被监督单位，约定下周现场核查。', '{}'::jsonb, a.supervisor
            FROM scale_a a, generate_series(1, 2) c WHERE a.g %% 16 = 0 AND c <= 1 + a.g %% 2""")
        # A few alerts worked on for a long time: 2,000 timeline entries each (comments, findings).
        self._sql("""
            INSERT INTO cases_timelineentry (alert_id, at, kind, action, from_status, to_status, text, data, actor_id)
            SELECT a.alert_id, a.created_at + c * interval '10 minutes',
                   CASE WHEN c %% 5 = 0 THEN 'finding' ELSE 'comment' END, '', '', '',
                   '第' || c || '次跟进：调取银行流水及合同资料，约谈相关人员，形成谈话笔录。', '{}'::jsonb, a.verifier
            FROM (SELECT * FROM scale_a WHERE NOT dismissed AND reached BETWEEN 2 AND 5 ORDER BY g
                  LIMIT %(n)s) a, generate_series(1, %(m)s) c""",
                  {"n": LONG_TIMELINES, "m": LONG_TIMELINE_ENTRIES})

    def _notifications(self) -> None:
        self._sql("""
            INSERT INTO workflow_notification (recipient_id, alert_id, kind, title, body, key, created_at, read_at,
                                               link)
            SELECT a.verifier, a.alert_id, 'assigned', '新的预警已分办给您', '', '', a.t[1],
                   CASE WHEN a.reached >= 2 THEN a.t[2] END, ''
            FROM scale_a a WHERE NOT a.dismissed AND a.reached >= 1 AND a.g %% 4 = 0""")

    # Days after which a stage (预警 … 考核) counts as overdue here: about a third of the alerts
    # went past a deadline in some stage, as the assessment's "ever overdue" expects to see.
    _LATE_AFTER = [3.0, 2.0, 25.0, 10.0, 20.0, 5.3]

    def _escalations(self) -> None:
        """The sweep's first step (a reminder at the deadline) for every stage left or still open
        past its deadline; stage k was entered at created_at (k = 1) or t[k - 1]."""
        self._sql("""
            INSERT INTO workflow_escalationstep (alert_id, stage_seq, stage, step, due_at, at)
            SELECT a.alert_id, k, (ARRAY['warning','assigned','verifying','disposing','applying','evaluating'])[k], 1,
                   e.entered + (%(late)s::float8[])[k] * interval '1 day',
                   e.entered + (%(late)s::float8[])[k] * interval '1 day'
            FROM scale_a a
            CROSS JOIN generate_series(1, 6) k
            CROSS JOIN LATERAL (SELECT CASE WHEN k = 1 THEN a.created_at ELSE a.t[k - 1] END AS entered,
                                       CASE WHEN k <= a.reached THEN a.t[k] ELSE now() END AS left_at) e
            WHERE NOT a.dismissed AND k <= least(a.reached + 1, 6)
              AND e.left_at - e.entered > (%(late)s::float8[])[k] * interval '1 day'
            """, {"late": self._LATE_AFTER})
        self._sql("""
            UPDATE alerts_alert x SET ever_overdue = true
            WHERE x.id IN (SELECT alert_id FROM workflow_escalationstep WHERE step >= 1)
              AND x.dedup_key LIKE 'scale-%%'
            """)
        self._sql("""
            UPDATE alerts_alert x SET escalation_level = 1 FROM workflow_escalationstep s
            WHERE s.alert_id = x.id AND s.stage_seq = x.stage_seq AND x.status <> 'closed'
              AND x.dedup_key LIKE 'scale-%%'
            """)

    def _sequences(self) -> None:
        for table in ("alerts_alert",):
            self._sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")

    def _after_load(self) -> None:
        """What the loop keeps as it moves: the time in stage on each transition entry and the
        dashboard's rollups, computed here from the rows just loaded."""
        self._step("time in stage", rollups.backfill_stage_times)
        self._step("deadlines of the stages left late", rollups.backfill_stage_deadlines)
        self._step("dashboard rollups", rollups.rebuild)

    def _vacuum(self) -> None:
        old = connection.get_autocommit()
        connection.set_autocommit(True)
        try:
            with connection.cursor() as cur:
                for table in ("alerts_alert", "cases_timelineentry", "cases_assignment", "cases_verification",
                              "cases_disposition", "cases_evaluation", "workflow_notification",
                              "workflow_escalationstep", "workflow_alertrollup", "cases_resultaction",
                              "screening_screeningmodel", "screening_screeningrun"):
                    cur.execute(f"VACUUM ANALYZE {table}")
        finally:
            connection.set_autocommit(old)


def role_label(role: str) -> str:
    return {"leader": "领导", "supervisor": "案管", "verifier": "核查员", "admin": "管理员"}.get(role, role)
