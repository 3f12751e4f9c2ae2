from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        from django.core import checks

        from workflow.checks import sqlite_version_check

        checks.register(sqlite_version_check, checks.Tags.database)
