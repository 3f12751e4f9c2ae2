from decimal import Decimal

from django.db import migrations

# Documented in docs/assessment.md; administrators change them in the admin.
DEFAULTS = {
    "dispatch_on_time": "1.5", "verify_on_time": "2", "closure": "2", "never_overdue": "1.5",
    "substantiation": "1", "orders_on_time": "1", "no_recurrence": "0.5", "recheck_passed": "0.5",
}


def seed(apps, schema_editor):
    Weight = apps.get_model("assessment", "AssessmentWeight")
    for metric, weight in DEFAULTS.items():
        Weight.objects.get_or_create(metric=metric, defaults={"weight": Decimal(weight)})


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
