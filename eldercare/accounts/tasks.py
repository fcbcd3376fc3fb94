from celery import shared_task


@shared_task(name="eldercare.accounts.tasks.disable_dormant_accounts")
def disable_dormant_accounts() -> int:
    """Nightly: accounts unused for PORTAL_DORMANT_AFTER_DAYS are disabled (SECURITY.md)."""
    from .services import disable_dormant_accounts as run

    return run()
