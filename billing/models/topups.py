"""Top-ups people start in the portal (one row per intent), and Cloudflare's range they must fall in."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models.accounts import Account


class TopUpStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"  # row written, POST not yet answered
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"  # Cloudflare refused it: nothing was charged
    UNKNOWN = "unknown", "Needs a check"  # outcome not known: a person must look, it is never re-sent


class TopUp(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="topups")
    # One per submitted intent: a double-submitted form hits this constraint and creates nothing more.
    intent_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    amount_cents = models.PositiveIntegerField()
    fee_cents = models.PositiveIntegerField(default=0)
    payment_intent_id = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=16, choices=TopUpStatus.choices, default=TopUpStatus.REQUESTED)
    card_brand = models.CharField(max_length=32, blank=True, default="")
    card_last4 = models.CharField(max_length=4, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="topups"
    )
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # What settled a top-up that had no id: the invoice or the balance rise it was matched with.
    evidence = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "payment_intent_id"],
                condition=~Q(payment_intent_id=""),
                name="one_topup_per_payment_intent",
            )
        ]
        indexes = [models.Index(fields=["status", "next_check_at"], name="topup_status_next_check")]

    def __str__(self) -> str:
        return f"{self.account} top-up {self.amount_cents}¢ {self.status}"


class TopUpRange(models.Model):
    """Cloudflare's top-up range for one account (`GET /topup/limits`) as last fetched: what the top-up and
    auto top-up forms allow without asking Cloudflare. Any sync of the account asks again once `synced_at` is
    a day old (`billing.sync.topup_range`); without a range the reference's minimum and the portal's maximum
    apply.

    Cloudflare marks `topup/limits` deprecated. Once it answers 404 or 410, `withdrawn_at` says since when;
    the last known range (none if it was never fetched) stays in use and is asked for again daily."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="topup_range")
    min_cents = models.PositiveIntegerField(null=True, blank=True)
    max_cents = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    # When Cloudflare was last asked, whether it answered a range or that the endpoint is gone.
    synced_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.account} top-up range {self.min_cents}–{self.max_cents}¢"
