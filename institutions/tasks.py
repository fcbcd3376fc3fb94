"""Beat tasks of the registry: thin wrappers around the services."""

from celery import shared_task


@shared_task(name="institutions.refresh_current_copies")
def refresh_current_copies() -> int:
    from .services import refresh_current_copies as run

    return run()
