"""Existing installations: store the time in stage on old transition entries. (Building the
dashboard rollups from the rows already there moved to workflow 0009: the rows it computes now
read tables that later migrations add.)"""

from django.db import migrations


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201
    from workflow import rollups
    from workflow.calendar import load_calendar

    rollups.backfill_stage_times(load_calendar(apps.get_model("workflow", "CalendarDay"),
                                               apps.get_model("workflow", "CalendarYear")))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_timeline_stage_durations"),
        ("workflow", "0005_dashboard_rollups"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
