"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Settings are read from Django settings with the CELERY_ prefix (see config/settings.py). With no
CELERY_BROKER_URL (the embedded default) tasks run eagerly in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("huoyan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
