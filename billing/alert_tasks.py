"""Celery tasks of the alerts: thin wrappers over `billing.alerts` and `billing.mail`.

They carry the names beat schedules (`billing.tasks.*`); `BillingConfig.ready` imports this module so every
worker registers them.
"""

from dataclasses import asdict

from celery import shared_task

from billing import alerts, mail


@shared_task(name="billing.tasks.evaluate_alerts", soft_time_limit=240, time_limit=300)
def evaluate_alerts() -> dict:
    return asdict(alerts.evaluate_all())


@shared_task(name="billing.tasks.send_outbox", soft_time_limit=240, time_limit=300)
def send_outbox() -> dict:
    return asdict(mail.send_outbox())
