"""DRF's never-expiring `authtoken` tokens are replaced by `accounts.ApiToken` (stored as digests,
expiring, revocable). Their table still held every old key in plain text: drop it, and forget
its migrations so the app could be installed again cleanly."""

from django.db import migrations

FORWARD = [
    "DROP TABLE IF EXISTS authtoken_token",
    "DELETE FROM django_migrations WHERE app = 'authtoken'",
]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_api_tokens")]
    operations = [migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop)]
