"""Seed the supervision fields with the names the city uses; the codes alerts already store keep
their meaning (procurement is 招标采购, subsidies 惠民资金, …)."""

from django.db import migrations

FIELDS = [
    ("education_health", "教育医疗", "Education and health care"),
    ("pensions", "养老社保", "Pensions and social security"),
    ("subsidies", "惠民资金", "Benefit funds"),
    ("resource_trading", "资源交易", "Public resource trading"),
    ("approvals", "审批监管", "Approvals and licensing"),
    ("procurement", "招标采购", "Tendering and procurement"),
    ("rural_assets", "农村集体“三资”", "Rural collective assets"),
    ("environment", "安全环保", "Safety and environment"),
    ("enforcement", "综合执法", "Law enforcement"),
    ("four_winds", "四风问题", "Conduct and discipline"),
    ("finance", "财政资金", "Public finance"),
    ("construction", "工程建设", "Construction"),
    ("land", "国土资源", "Land and resources"),
    ("other", "其他", "Other"),
]


def seed(apps, schema_editor):
    SupervisionDomain = apps.get_model("alerts", "SupervisionDomain")
    for position, (code, name, name_en) in enumerate(FIELDS, start=1):
        SupervisionDomain.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en,
                                                                     "position": position * 10})


class Migration(migrations.Migration):
    dependencies = [("alerts", "0006_supervision_domains")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
