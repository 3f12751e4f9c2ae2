"""The demo data set: the Suzhou org tree, one user per role, a business-system feed and a few
dozen alerts driven through the real services, so every record and timeline entry is genuine."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import OrgUnit, Role, User
from accounts.services import org_unit_upsert, user_upsert
from alerts.models import Alert, Domain, RiskLevel, SourceIndicator, SourceSystem
from alerts.sources import source_key_assign, source_system_create
from alerts.states import DISPOSAL_OUTCOMES, ActionKind, Conclusion, DismissReason, Status
from demo.screening import seed_screening_demo
from screening.models import SpecialProject
from screening.services import special_project_save
from workflow import services as wf
from workflow.intake import IntakeItem, alerts_ingest
from workflow.ledger import feedback_accept, open_orders_of, rectification_feedback_record
from workflow.sweep import sweep

CITY = ("suzhou", "苏州市纪委监委")
# Names of people dealt with in the demo's dispositions (made up).
DEMO_NAMES = ["王某某", "李某", "张某某", "刘某", "陈某某", "杨某", "赵某某", "周某"]

COUNTIES = [
    ("kunshan", "昆山市纪委监委"),
    ("changshu", "常熟市纪委监委"),
    ("zhangjiagang", "张家港市纪委监委"),
    ("taicang", "太仓市纪委监委"),
    ("wujiang", "吴江区纪委监委"),
]
# Every county has its own supervisor (案管), verifier (核查) and leader; the city a leader and a
# supervisor. Usernames are `<unit>_<role>`.
USERS = [
    ("suzhou_leader", "王建国", Role.LEADER, "suzhou"),
    ("suzhou_supervisor", "李敏", Role.SUPERVISOR, "suzhou"),
    ("kunshan_supervisor", "张伟", Role.SUPERVISOR, "kunshan"),
    ("kunshan_verifier", "刘洋", Role.VERIFIER, "kunshan"),
    ("kunshan_leader", "赵磊", Role.LEADER, "kunshan"),
    ("changshu_supervisor", "陈静", Role.SUPERVISOR, "changshu"),
    ("changshu_verifier", "杨帆", Role.VERIFIER, "changshu"),
    ("changshu_leader", "孙丽", Role.LEADER, "changshu"),
    ("zhangjiagang_supervisor", "周强", Role.SUPERVISOR, "zhangjiagang"),
    ("zhangjiagang_verifier", "吴敏", Role.VERIFIER, "zhangjiagang"),
    ("zhangjiagang_leader", "郑华", Role.LEADER, "zhangjiagang"),
    ("taicang_supervisor", "王芳", Role.SUPERVISOR, "taicang"),
    ("taicang_verifier", "冯涛", Role.VERIFIER, "taicang"),
    ("taicang_leader", "何军", Role.LEADER, "taicang"),
    ("wujiang_supervisor", "徐娜", Role.SUPERVISOR, "wujiang"),
    ("wujiang_verifier", "朱斌", Role.VERIFIER, "wujiang"),
    ("wujiang_leader", "马超", Role.LEADER, "wujiang"),
]
SAMPLES = [
    (Domain.PROCUREMENT, "同一供应商连续中标（标王）", "某建设工程有限公司", Decimal("4860000")),
    (Domain.PROCUREMENT, "合同拆分规避招标", "某市政园林有限公司", Decimal("1980000")),
    (Domain.SUBSIDIES, "死亡人员仍在领取补贴", "周某某", Decimal("12600")),
    (Domain.SUBSIDIES, "农机购置补贴重复申领", "某农业合作社", Decimal("86000")),
    (Domain.ENFORCEMENT, "同一企业反复处罚（以罚代管）", "某化工有限公司", Decimal("350000")),
    (Domain.ENVIRONMENT, "鱼塘看护房用电异常", "吴某某", Decimal("9800")),
    (Domain.FINANCE, "公款旅游发票", "某街道办事处", Decimal("23400")),
    (Domain.PROCUREMENT, "特定关系人企业中标", "某信息技术有限公司", Decimal("760000")),
]
RISKS = [RiskLevel.RED, RiskLevel.ORANGE, RiskLevel.YELLOW, RiskLevel.BLUE]
DEMO_INDICATORS = {
    "DEMO-PROC": ("招投标异常", "公共资源交易", "同一中标人一年内中标 ≥ 3 次", "市公共资源交易中心"),
    "DEMO-SUBS": ("补贴发放异常", "惠民资金", "与死亡、重复申领名单比对", "市民政局"),
    "DEMO-ENFO": ("重复处罚", "综合执法", "同一企业一年内处罚 ≥ 3 次", "市综合行政执法局"),
    "DEMO-ENVI": ("用电异常", "安全环保", "高于同村中位数 3 倍", "供电公司"),
    "DEMO-FINA": ("公款消费异常", "财政资金", "发票品名含旅游类关键词", "市财政局"),
}


@dataclass
class DemoResult:
    source: SourceSystem
    source_key: str | None
    alerts_created: int


def _units() -> dict[str, OrgUnit]:
    city = org_unit_upsert(code=CITY[0], name=CITY[1], level=OrgUnit.Level.CITY)
    units = {city.code: city}
    for code, name in COUNTIES:
        units[code] = org_unit_upsert(code=code, name=name, level=OrgUnit.Level.COUNTY, parent=city)
    return units


def _users(units: dict[str, OrgUnit], password: str) -> dict[str, User]:
    hashed = make_password(password)  # one hash for every demo user: the seed stays quick
    users = {
        username: user_upsert(username=username, password=password, password_hash=hashed, role=role,
                              org_unit=units[unit], full_name=full_name)
        for username, full_name, role, unit in USERS
    }
    users["admin"] = user_upsert(
        username="admin", password=password, password_hash=hashed, role=Role.ADMIN, org_unit=units["suzhou"],
        full_name="系统管理员", is_superuser=True,
    )
    return users


# Where each county's alerts end up, in order: a year of closed work for the trend, then one alert
# in every stage (a returned one back in 预警, one sent back by the leader, one unfounded).
DEMO_PROJECT = "政府采购领域专项监督（演示）"
TARGETS = [
    "closed", "closed", "closed", "closed", "unfounded", "dismissed", "closed", "evaluating",
    "applying", "disposing", "verifying", "sent_back", "assigned", "returned", "warning", "referred",
]
# Working time each step takes, in days (low, high): sign-for, verification, disposal, use of results,
# evaluation, and the wait in 预警 before dispatch.
STEP_DAYS = {
    "assign": (0.5, 3), "accept": (0.2, 2), "submit_verification": (5, 18), "dispose": (2, 8),
    "apply_results": (3, 10), "close": (1, 6), "send_back": (1, 3), "dismiss": (0.5, 3), "return": (0.5, 2),
    "refer": (0.5, 3),
}
STEPS = {
    "warning": [],
    "assigned": ["assign"],
    "returned": ["assign", "return"],
    "verifying": ["assign", "accept"],
    "disposing": ["assign", "accept", "submit_verification"],
    "applying": ["assign", "accept", "submit_verification", "dispose"],
    "evaluating": ["assign", "accept", "submit_verification", "dispose", "apply_results"],
    "sent_back": ["assign", "accept", "submit_verification", "dispose", "apply_results", "send_back"],
    "closed": ["assign", "accept", "submit_verification", "dispose", "apply_results", "close"],
    "unfounded": ["assign", "accept", "submit_verification", "close"],
    "dismissed": ["dismiss"],
    "referred": ["refer"],
}


class _Clock:
    """The demo's "now": while it runs, `django.utils.timezone.now` answers the simulated time,
    so every record (the alert, stage records, timeline, rollups) carries the time it would have
    had if the work had really been done over the past year. Only the seed uses it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    @contextmanager
    def running(self) -> Iterator[None]:
        with mock.patch("django.utils.timezone.now", lambda: self.at):
            yield


def _do(step: str, alert_id: int, u: dict[str, User], county: str, rng: random.Random, final: str) -> None:
    supervisor, verifier, leader = u[f"{county}_supervisor"], u[f"{county}_verifier"], u["suzhou_leader"]
    if step == "assign":
        wf.alert_assign(alert_id=alert_id, by=supervisor, assignee=verifier, note="请于期限内核查")
    elif step == "accept":
        wf.alert_accept(alert_id=alert_id, by=verifier)
    elif step == "return":
        wf.alert_return(alert_id=alert_id, by=verifier, reason="该线索涉及本人近亲属，申请回避，请另行分办。")
    elif step == "submit_verification":
        if final == "unfounded":
            wf.alert_submit_verification(
                alert_id=alert_id, by=verifier, conclusion=Conclusion.UNFOUNDED,
                summary="经调取原始凭证并比对，数据差异系统计口径不同所致。",
                justification="财政部门出具的口径说明与原始凭证一致，未发现违规。",
            )
        else:
            wf.alert_submit_verification(
                alert_id=alert_id, by=verifier,
                conclusion=rng.choice([Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED]),
                summary="经调阅合同与付款凭证，问题基本属实。",
            )
    elif step == "dispose":
        outcome = rng.choice([o for o, _ in DISPOSAL_OUTCOMES])
        # The four forms count people: a disposition in one of them names who was dealt with.
        people = [
            wf.PersonInput(name=rng.choice(DEMO_NAMES), position=rng.choice(["科长", "副主任", "站长", "会计"]),
                           unit="相关业务科室", form=outcome, case_filed=outcome in ("form_3", "form_4"),
                           detained=outcome == "form_4" and rng.random() < 0.5)
            for _ in range(rng.randint(1, 2))
        ] if outcome.startswith("form_") else []
        wf.alert_dispose(alert_id=alert_id, by=supervisor, outcome=outcome, people=people,
                         case_filed=rng.random() < 0.2, amount_recovered=Decimal(rng.randrange(0, 500) * 100),
                         amount_confiscated=Decimal(rng.randrange(0, 100) * 100), note="依规依纪处置")
    elif step == "apply_results":
        actions = [wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="相关业务科室", text="请对照问题立行立改。")]
        if rng.random() < 0.6:  # most results come with a rectification order and a reply due date
            due = timezone.localdate() + timedelta(days=rng.randint(10, 20))
            actions.append(wf.ActionInput(kind=ActionKind.RECTIFICATION_ORDER, recipient="相关业务科室",
                                          text="请于期限内完成整改并书面反馈整改情况。", due_date=due))
        wf.alert_apply_results(alert_id=alert_id, by=supervisor, actions=actions)
    elif step == "close":
        # The unit replied to the order and the supervisor accepted the reply: then it may close.
        for order in open_orders_of(Alert.objects.get(pk=alert_id)):
            rectification_feedback_record(order_id=order.pk, by=supervisor, feedback="已完成整改，附整改报告及台账。")
            feedback_accept(order_id=order.pk, by=supervisor, note="整改到位")
        wf.alert_close(alert_id=alert_id, by=leader, score=rng.randint(3, 5), comment="处置规范，同意销号。")
    elif step == "send_back":
        wf.alert_send_back(alert_id=alert_id, by=leader, stage=Status.VERIFYING,
                           reason="核查材料缺少对当事人的谈话笔录，请补充后重新提交。")
    elif step == "dismiss":
        wf.alert_dismiss(alert_id=alert_id, by=supervisor, reason=DismissReason.FALSE_POSITIVE, note="数据口径差异")
    elif step == "refer":
        wf.alert_refer(alert_id=alert_id, by=supervisor, department="区市场监督管理局", due_days=10,
                       note="请核实该企业处罚记录并在期限内反馈整改情况。")


def _schedule(final: str, index: int, total: int, now: datetime, rng: random.Random) -> tuple[datetime, list]:
    """When the alert is raised and when each of its steps happens. Finished work is spread over
    the past twelve months; open work is recent, its last step a few days ago."""
    steps = STEPS[final]
    gaps = [timedelta(days=rng.uniform(*STEP_DAYS[s])) for s in steps]
    if final in ("closed", "unfounded", "dismissed"):
        raised = now - timedelta(days=360 * (1 - index / max(total, 1))) - timedelta(days=rng.uniform(0, 20))
        raised = max(raised, now - timedelta(days=364))
        spent = sum(gaps, timedelta())
        if raised + spent > now - timedelta(days=1):
            raised = now - timedelta(days=1) - spent
    else:
        if gaps:  # open work waited a while in 预警 before it was dispatched: raised over the past weeks
            gaps[0] += timedelta(days=rng.uniform(0, 40))
        raised = now - sum(gaps, timedelta()) - timedelta(days=rng.uniform(0.3, 4))
    # Office hours: things happen between 9:00 and 17:00 local time.
    office = raised.replace(hour=1 + rng.randrange(8), minute=rng.randrange(60))
    raised = office if office <= raised else office - timedelta(days=1)
    times, at = [], raised
    for step, gap in zip(steps, gaps, strict=True):
        at = at + gap
        times.append((step, at))
    return raised, times


def _sample_items(units: dict[str, OrgUnit], n: int) -> list[tuple[IntakeItem, str]]:
    counties = [c for c, _ in COUNTIES]
    out = []
    for i in range(n):
        domain, title, subject, amount = SAMPLES[i % len(SAMPLES)]
        county = counties[i % len(counties)]
        final = TARGETS[(i // len(counties)) % len(TARGETS)]
        out.append((IntakeItem(
            dedup_key=f"demo-{i + 1:03d}", title=f"{title}（{units[county].name[:3]}）", domain=domain,
            risk_level=RISKS[(i + i // len(counties)) % len(RISKS)], org_unit=units[county],
            rule=f"DEMO-{domain.upper()[:4]}", subject_name=subject, amount=amount,
            details={"来源": "演示数据", "序号": i + 1, "金额": str(amount)},
        ), final))
    return out


@transaction.atomic
def seed_demo(*, password: str, source_key: str | None = None, alerts: int = 80) -> DemoResult:
    """Create or refresh the demo. Running it twice changes nothing but passwords and the key."""
    units = _units()
    users = _users(units, password)
    source = SourceSystem.objects.filter(code="demo-feed").first()
    key: str | None = None
    if source is None:
        source, key = source_system_create(
            code="demo-feed", name="业务系统预警接口（演示）", org_unit=units["suzhou"], key=source_key
        )
    elif source_key:
        key = source_key_assign(source, source_key)
    # Screening models with their datasets and first runs (idempotent on its own).
    models = seed_screening_demo(unit=units["kunshan"], user=users["kunshan_supervisor"])
    # 专项监督: the city's procurement project over those models, deployed to every county.
    if models and not SpecialProject.objects.filter(name=DEMO_PROJECT).exists():
        today = timezone.localdate()
        special_project_save(by=users["suzhou_supervisor"], name=DEMO_PROJECT, lead_unit=units["suzhou"],
                             description="围绕政府采购、合同管理和公务报销，各县市区用同一组模型筛查本地数据，对比成效。",
                             start_date=today - timedelta(days=90), end_date=today + timedelta(days=90),
                             models=models, units=[units[c] for c, _n in COUNTIES])
    if source.alerts.exists():
        return DemoResult(source, key, 0)

    rng = random.Random(20261125)
    now = timezone.now()
    plan = []
    items = _sample_items(units, alerts)
    finished = [i for i, (_item, final) in enumerate(items) if final in ("closed", "unfounded", "dismissed")]
    for index, (item, final) in enumerate(items):
        order = finished.index(index) if index in finished else 0
        raised, times = _schedule(final, order, len(finished), now, rng)
        plan.append((raised, item, final, times))
    # Everything in the order it happened, so stage changes never run backwards in time.
    clock = _Clock(now)
    ids: dict[str, int] = {}
    events = [(raised, 0, item.dedup_key, "raise") for raised, item, _f, _t in plan]
    events += [(at, n + 1, item.dedup_key, step) for _r, item, _f, times in plan
               for n, (step, at) in enumerate(times)]
    by_key = {item.dedup_key: (item, final) for _r, item, final, _t in plan}
    created = 0
    swept_on = None
    with clock.running():
        for at, _n, dedup_key, step in sorted(events, key=lambda e: (e[0], e[1], e[2])):
            clock.at = at
            # The deadline sweep ran every day of that year too: reminders, escalations, 督办.
            if timezone.localdate() != swept_on:
                swept_on = timezone.localdate()
                sweep(now=at, deliveries=False)
            item, final = by_key[dedup_key]
            if step == "raise":
                result = alerts_ingest(source=source, items=[item])[0]
                ids[dedup_key] = result.id
                created += 1
            else:
                _do(step, ids[dedup_key], users, item.org_unit.code, rng, final)
        # The feed's rule codes became its embedded indicators on intake: name them as its owners would.
        for code, (name, module, threshold, department) in DEMO_INDICATORS.items():
            SourceIndicator.objects.filter(source=source, code=code).update(
                name=name, module=module, threshold=threshold, department=department)
        # Two warnings about one company from different feeds are one case: merge one into the other.
        clock.at = now
        twins = list(Alert.objects.filter(source=source, status=Status.WARNING, org_unit=units["taicang"])
                     .order_by("id")[:2])
        if len(twins) == 2:
            wf.alert_merge(alert_id=twins[1].pk, by=users["suzhou_supervisor"], into=twins[0].pk,
                           reason="同一企业同一问题，并入先发预警办理")
    return DemoResult(source, key, created)
