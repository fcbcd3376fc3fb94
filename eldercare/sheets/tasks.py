"""Celery wrappers of the engine: load the batch by id, call the engine, nothing else. Both are
idempotent (the engine ignores a batch already past the step), so a redelivered task after a
worker was killed does no harm (acks_late + reject_on_worker_lost, settings)."""

from celery import shared_task


@shared_task(name="sheets.validate_batch")
def validate_batch(batch_id: int, then_confirm: bool = False) -> None:
    from .engine import validate_batch as run

    run(batch_id, then_confirm=then_confirm)


@shared_task(name="sheets.commit_batch")
def commit_batch(batch_id: int, decided_by_id: int | None = None) -> None:
    from .engine import commit_batch as run

    run(batch_id, decided_by_id=decided_by_id)


@shared_task(name="sheets.cleanup_uploads")
def cleanup_uploads() -> int:
    from .engine import cleanup_uploads as run

    return run()


@shared_task(name="sheets.cleanup_short_lived_uploads")
def cleanup_short_lived_uploads() -> int:
    """Every 10 minutes: uploads of kinds with a short life (the residents roster, 1 hour) that
    wait uncommitted past it are abandoned and their files deleted."""
    from .engine import cleanup_short_lived_uploads as run

    return run()
