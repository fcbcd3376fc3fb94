"""The Celery app. Settings come from Django's CELERY_* settings (eldercare/settings/base.py):
JSON only, acks_late with reject_on_worker_lost, prefetch 1, eager when REDIS_URL is unset."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eldercare.settings.local")

app = Celery("eldercare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
