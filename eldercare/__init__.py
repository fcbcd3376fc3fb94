"""The county 医养结合 portal project package."""

from .celery import app as celery_app

__all__ = ("celery_app",)
