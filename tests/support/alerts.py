"""Alert rules and their delivery, as the alert, notification and figures tests set them up."""

import threading
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.models import AlertKind, AlertRule
from billing.notifications import outbox

BASE = "http://portal.example.test"  # PORTAL_BASE_URL of the alert tests: links in messages start with it

# A rule as the rule page posts it.
RULE_POST = {
    "enabled": "on",
    "threshold": "25",
    "hysteresis": "5",
    "recipients": "finance@example.com\noncall@example.com",
    "notify_managers": "on",
    "reminder_hours": "12",
}


def only_rule(account, kind=AlertKind.LOW_BALANCE, threshold="10", hysteresis="5", **fields) -> AlertRule:
    """Removes every other rule (the migration's defaults included) and sets this one for the account."""
    AlertRule.objects.all().delete()
    fields = {"recipients": ["finance@example.com"], "notify_managers": True, **fields}
    return AlertRule.objects.create(
        account=account, kind=kind, threshold=Decimal(threshold), hysteresis=Decimal(hysteresis), **fields
    )


def deliver():
    """Sends everything the outbox holds, retries included (as if a month had passed)."""
    return outbox.send_outbox(now=timezone.now() + timedelta(days=30))


def rule_url(account, kind="low_balance") -> str:
    return reverse("account_alert_rule", args=[account.cloudflare_id, kind])


def rule_form(kind, **data):
    """The alert rule form of `kind`, bound to `data` over a minimal valid rule (unbound without data)."""
    from billing.forms.alerts import AlertRuleForm

    base = {"enabled": "on", "hysteresis": "0", "reminder_hours": "24", "notify_managers": "on"}
    return AlertRuleForm({**base, **data} if data else None, kind=kind)


def run_together(count, work) -> None:
    """Runs `work` on `count` threads released at the same moment; re-raises what any of them raised."""
    barrier = threading.Barrier(count)
    errors = []

    def run():
        try:
            barrier.wait(timeout=10)
            work()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
