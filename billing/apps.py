from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "AI Gateway billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_create_declared_accounts, sender=self)
        # Registers the Celery tasks in every process, so that a task the web sends by name ("Refresh now")
        # is the registered one, whatever modules the process imported.
        import billing.tasks  # noqa: F401


def _create_declared_accounts(**kwargs) -> None:
    """After migrate: the accounts declared in CLOUDFLARE_ACCOUNT_IDS exist (workers also do it on start)."""
    from billing.accounts import ensure_declared_accounts

    ensure_declared_accounts()
