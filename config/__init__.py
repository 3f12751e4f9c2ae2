# Load the Celery app with Django so `shared_task` binds to it and `transaction.on_commit`
# dispatch works from the web process too.
from .celery import app as celery_app

__all__ = ["celery_app"]
