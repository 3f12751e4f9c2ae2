"""The demo data set: the Suzhou org tree, one user per role, a business-system feed and a few
dozen alerts driven through the real services, so every record and timeline entry is genuine."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from accounts.models import OrgUnit, Role, User
from accounts.services import org_unit_upsert, user_upsert
from alerts.models import Alert, Domain, RiskLevel, SourceSystem
from alerts.sources import source_key_assign, source_system_create
from alerts.states import DISPOSAL_OUTCOMES, ActionKind, Conclusion, DismissReason, Status
from demo.screening import seed_screening_demo
from workflow import services as wf
from workflow.intake import IntakeItem, alerts_ingest

CITY = ("suzhou", "苏州市纪委监委")
COUNTIES = [
    ("kunshan", "昆山市纪委监委"),
    ("changshu", "常熟市纪委监委"),
    ("zhangjiagang", "张家港市纪委监委"),
    ("taicang", "太仓市纪委监委"),
    ("wujiang", "吴江区纪委监委"),
]
USERS = [
    ("suzhou_leader", "王建国", Role.LEADER, "suzhou"),
    ("suzhou_supervisor", "李敏", Role.SUPERVISOR, "suzhou"),
    ("kunshan_supervisor", "张伟", Role.SUPERVISOR, "kunshan"),
    ("kunshan_verifier", "刘洋", Role.VERIFIER, "kunshan"),
    ("changshu_supervisor", "陈静", Role.SUPERVISOR, "changshu"),
    ("changshu_verifier", "杨帆", Role.VERIFIER, "changshu"),
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
    users = {
        username: user_upsert(username=username, password=password, role=role, org_unit=units[unit],
                              full_name=full_name)
        for username, full_name, role, unit in USERS
    }
    users["admin"] = user_upsert(
        username="admin", password=password, role=Role.ADMIN, org_unit=units["suzhou"],
        full_name="系统管理员", is_superuser=True,
    )
    return users


def _drive(alert: Alert, target: str, u: dict[str, User], county: str, rng: random.Random) -> None:
    """Take a fresh warning alert through the real services up to stage `target`."""
    supervisor, verifier, leader = u[f"{county}_supervisor"], u[f"{county}_verifier"], u["suzhou_leader"]
    if target == "referred":
        wf.alert_refer(alert_id=alert.pk, by=supervisor, department="区市场监督管理局", due_days=10,
                       note="请核实该企业处罚记录并在期限内反馈整改情况。")
        return
    if target == "dismissed":
        wf.alert_dismiss(alert_id=alert.pk, by=supervisor, reason=DismissReason.FALSE_POSITIVE, note="数据口径差异")
        return
    order = ["assigned", "verifying", "disposing", "applying", "evaluating", "closed"]
    steps = order[: order.index(target) + 1]
    wf.alert_assign(alert_id=alert.pk, by=supervisor, assignee=verifier, note="请于期限内核查")
    if "verifying" in steps:
        wf.alert_accept(alert_id=alert.pk, by=verifier)
    if "disposing" in steps:
        conclusion = rng.choice([Conclusion.SUBSTANTIATED, Conclusion.PARTIALLY_SUBSTANTIATED])
        wf.alert_submit_verification(alert_id=alert.pk, by=verifier, conclusion=conclusion,
                                     summary="经调阅合同与付款凭证，问题基本属实。")
    if "applying" in steps:
        wf.alert_dispose(alert_id=alert.pk, by=supervisor, outcome=rng.choice([o for o, _ in DISPOSAL_OUTCOMES]),
                         case_filed=rng.random() < 0.2, amount_recovered=Decimal(rng.randrange(0, 50000)),
                         note="依规依纪处置")
    if "evaluating" in steps:
        wf.alert_apply_results(alert_id=alert.pk, by=supervisor, actions=[
            wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="相关业务科室", text="请对照问题立行立改。"),
        ])
    if "closed" in steps:
        wf.alert_close(alert_id=alert.pk, by=leader, score=rng.randint(3, 5), comment="处置规范，同意销号。")


@transaction.atomic
def seed_demo(*, password: str, source_key: str | None = None, alerts: int = 36) -> DemoResult:
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
    seed_screening_demo(unit=units["kunshan"], user=users["kunshan_supervisor"])
    if source.alerts.exists():
        return DemoResult(source, key, 0)

    rng = random.Random(20261125)
    counties = [c for c, _ in COUNTIES]
    items = []
    for i in range(alerts):
        domain, title, subject, amount = SAMPLES[i % len(SAMPLES)]
        county = counties[i % len(counties)]
        items.append(IntakeItem(
            dedup_key=f"demo-{i + 1:03d}", title=f"{title}（{units[county].name[:3]}）", domain=domain,
            risk_level=RISKS[i % len(RISKS)], org_unit=units[county], rule=f"DEMO-{domain.upper()[:4]}",
            subject_name=subject, amount=amount,
            details={"来源": "演示数据", "序号": i + 1, "金额": str(amount)},
        ))
    results = alerts_ingest(source=source, items=items)
    # Spread the kunshan and changshu alerts over every stage; the others wait in 预警.
    targets = ["assigned", "verifying", "disposing", "applying", "evaluating", "closed", "dismissed", "referred"]
    progressed = 0
    for item, result in zip(items, results, strict=True):
        county = item.org_unit.code
        if county in ("kunshan", "changshu"):
            target = targets[progressed % len(targets)]
            progressed += 1
            _drive(Alert.objects.get(pk=result.id), target, users, county, rng)
    # Two warnings about one company from different feeds are one case: merge one into the other.
    twins = list(Alert.objects.filter(source=source, status=Status.WARNING, org_unit=units["taicang"])
                 .order_by("id")[:2])
    if len(twins) == 2:
        wf.alert_merge(alert_id=twins[1].pk, by=users["suzhou_supervisor"], into=twins[0].pk,
                       reason="同一企业同一问题，并入先发预警办理")
    return DemoResult(source, key, len(results))
