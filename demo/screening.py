"""Demo data for a first look: small datasets and four active built-in models, run once so the
warehouse, the cards and the alert screens have something to show. Called by `seed_demo`:

    from demo.screening import seed_screening_demo
    seed_screening_demo(unit=kunshan, user=kunshan_supervisor)

Idempotent: models are found by their fixed codes and not created twice.
"""

from __future__ import annotations

import datetime as dt
import random

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import OrgUnit, User
from screening import services
from screening.models import ModelStatus, ScreeningModel


def _awards(rng: random.Random) -> str:
    lines = ["采购人,中标人,中标日期,金额"]
    buyers = ["昆山市教育局", "昆山市卫健委", "昆山市城管局", "昆山市水务局"]
    firms = [f"苏州{n}科技有限公司" for n in "甲乙丙丁戊己庚辛"]
    day = dt.date(2024, 1, 1)
    for i in range(400):
        buyer = rng.choice(buyers)
        firm = "苏州甲科技有限公司" if buyer == "昆山市教育局" and i % 3 == 0 else rng.choice(firms)
        lines.append(f"{buyer},{firm},{day + dt.timedelta(days=rng.randrange(365))},{rng.randrange(5, 300) * 1000}")
    return "\n".join(lines) + "\n"


def _contracts(rng: random.Random) -> str:
    lines = ["采购人,供应商,签订日期,金额"]
    day = dt.date(2024, 1, 1)
    for _ in range(300):
        lines.append(f"昆山市城管局,{rng.choice(['绿化工程公司', '路灯维修公司', '保洁服务公司'])},"
                     f"{day + dt.timedelta(days=rng.randrange(365))},{rng.randrange(50, 1200) * 1000}")
    lines += ["昆山市交通局,道路养护公司,2024-06-03,950000", "昆山市交通局,道路养护公司,2024-06-20,900000"]
    return "\n".join(lines) + "\n"


def _invoices() -> str:
    return ("报销人,品名,事由,金额\n张某,九寨沟景区门票,考察学习,1800\n李某,打印纸,办公,300\n"
            "王某,度假村住宿,赴外地考察,4200\n赵某,会议室租赁,培训,6000\n")


def seed_screening_demo(*, unit: OrgUnit, user: User, run: bool = True) -> list[ScreeningModel]:
    if ScreeningModel.objects.filter(code="demo-repeat-winner").exists():
        return list(ScreeningModel.objects.filter(code__startswith="demo-", is_latest=True))
    rng = random.Random(7)

    def dataset(name: str, text: str):  # noqa: ANN202
        upload = SimpleUploadedFile(f"{name}.csv", text.encode("gb18030"))
        return services.dataset_create(name=name, org_unit=unit, upload=upload, by=user)

    awards, contracts, invoices = dataset("中标公告", _awards(rng)), dataset("合同台账", _contracts(rng)), \
        dataset("报销发票", _invoices())
    specs = [
        ("demo-repeat-winner", "标王筛查（示例）", "repeat_winner", {"awards": awards},
         {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 90,
          "min_count": 6, "amount_field": "金额"}, "同一采购人与同一企业短期内反复成交，关注围标串标、指定中标。"),
        ("demo-contract-splitting", "拆分合同筛查（示例）", "contract_splitting", {"contracts": contracts},
         {"buyer_field": "采购人", "supplier_field": "供应商", "date_field": "签订日期", "amount_field": "金额",
          "threshold": 1000000, "window_days": 30}, "化整为零规避公开招标。"),
        ("demo-keyword-travel", "公款旅游发票筛查（示例）", "keyword_match", {"records": invoices},
         {"conditions": [{"field": "品名", "any_of": ["景区", "度假", "旅游"]}], "subject_field": "报销人",
          "amount_field": "金额"}, "以考察、培训名义公款旅游。"),
    ]
    models = []
    for code, name, template, datasets, params, points in specs:
        model = services.screening_model_create(
            by=user, name=name, org_unit=unit, datasets=datasets, template=template, params=params, code=code,
            status=ModelStatus.ACTIVE, supervision_points=points,
        )
        models.append(model)
        if run:
            r = services.screening_run_start(model=model, by=user)
            services.screening_run_execute(run_id=r.pk)  # now, not after commit: a seed is synchronous
    return models
