"""Existing installations: store the time in stage on old transition entries, then build the
dashboard rollups from the rows already there (the same code as `recompute_rollups`)."""

from django.db import migrations


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201
    from workflow import rollups

    rollups.backfill_stage_seconds()
    rollups.rebuild(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_timeline_stage_durations"),
        ("workflow", "0005_dashboard_rollups"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
