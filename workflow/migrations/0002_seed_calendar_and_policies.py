"""Seed the working-day calendar from chinese_calendar and the default deadline policies."""

from django.db import migrations

DEFAULT_POLICIES = [
    # stage, risk level, amount, unit
    ("warning", "", 3, "working_days"),      # dispatch (分办) within 3 working days
    ("warning", "red", 1, "working_days"),   # red alerts: 1 working day
    ("assigned", "", 2, "working_days"),     # sign for (签收)
    ("verifying", "", 15, "working_days"),
    ("disposing", "", 10, "working_days"),
    ("applying", "", 20, "working_days"),
    ("evaluating", "", 5, "working_days"),
]


def seed(apps, schema_editor):
    from workflow.calendar_sync import sync_calendar

    sync_calendar(day_model=apps.get_model("workflow", "CalendarDay"),
                  year_model=apps.get_model("workflow", "CalendarYear"))
    policy = apps.get_model("workflow", "DeadlinePolicy")
    for stage, risk, amount, unit in DEFAULT_POLICIES:
        policy.objects.get_or_create(
            stage=stage, risk_level=risk, domain="", defaults={"amount": amount, "unit": unit}
        )


def unseed(apps, schema_editor):
    apps.get_model("workflow", "DeadlinePolicy").objects.all().delete()
    apps.get_model("workflow", "CalendarDay").objects.filter(source="package").delete()
    apps.get_model("workflow", "CalendarYear").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_deadlines_escalation_notifications")]
    operations = [migrations.RunPython(seed, unseed)]
