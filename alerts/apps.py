from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        # Imported once the models are loaded (alerts.search queries Alert).
        from alerts.search import install_mask_function, register_sqlite_function

        def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
            register_sqlite_function(connection)

        def after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
            install_mask_function(connections[using])

        # The masked copy a search runs over (`hy_mask_text`) exists in every database: created
        # after each migrate on PostgreSQL (so it follows core.masking), per connection on SQLite.
        connection_created.connect(on_connect, dispatch_uid="alerts.sqlite_mask_function", weak=False)
        post_migrate.connect(after_migrate, sender=self, dispatch_uid="alerts.install_mask_function", weak=False)
