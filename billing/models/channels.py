"""Where alerts go besides the rule's own email recipients: notification channels (email, Slack, signed
webhooks), managers' own subscriptions, the portal-wide alerts that belong to no account (the jobs'
watchdog), and the outbox: one `Delivery` per email or message to send.

Webhook and Slack URLs and webhook secrets are stored encrypted with TOKEN_ENCRYPTION_KEYS (billing/crypto.py)
and never shown in full again: pages show `url_hint` (the host and the last four characters).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models.accounts import Account


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Webhook"


class NotificationChannel(models.Model):
    """One destination for alert notifications, chosen per rule (AlertRule.channels)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    # Null: a portal-wide channel any rule may use; else the account's own (the team's Slack), offered only
    # on that account's rules.
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="notification_channels"
    )
    enabled = models.BooleanField(default=True)
    # Whether portal-wide alerts (the jobs' watchdog) go here too, besides the operators' email.
    portal_alerts = models.BooleanField(default=False)
    emails = models.JSONField(default=list, blank=True)
    url_encrypted = models.TextField(blank=True, default="")
    url_hint = models.CharField(max_length=120, blank=True, default="")
    secret_encrypted = models.TextField(blank=True, default="")
    # While a rotation is in progress: the secret being retired, still signed with until "finish rotation".
    old_secret_encrypted = models.TextField(blank=True, default="")
    rotation_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account__name", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_http(self) -> bool:
        return self.kind in (ChannelKind.SLACK, ChannelKind.WEBHOOK)

    @property
    def rotating(self) -> bool:
        return bool(self.old_secret_encrypted)

    @property
    def destination(self) -> str:
        """What pages may show of where this channel delivers."""
        return ", ".join(self.emails) if self.kind == ChannelKind.EMAIL else self.url_hint


class AlertSubscription(models.Model):
    """A person who asked to be emailed every alert of an account, whatever its rules' recipients."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alert_subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="one_subscription_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.account}"


class PortalAlertKind(models.TextChoices):
    SWEEPS_STALLED = "sweeps_stalled", "Background jobs stalled"


class PortalAlert(models.Model):
    """A portal-wide alert (no account): its state and its history, like AlertEvent for one account."""

    kind = models.CharField(max_length=32, choices=PortalAlertKind.choices)
    headline = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # While open, a reminder every PORTAL_ALERT_REMINDER_HOURS; each one claimed by a conditional update of
    # `reminders_sent`, so two processes noticing at once remind once.
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Two web processes and a worker noticing at once open one alert: the other inserts fail.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(resolved_at__isnull=True), name="one_open_portal_alert_per_kind"
            )
        ]

    def __str__(self) -> str:
        return self.headline

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class DeliveryState(models.TextChoices):
    READY = "ready", "Waiting to send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One delivery in the outbox, waiting for or done with sending: an email (to `recipients`) or a
    Slack/webhook message (`channel`, body in `payload`). Claimed before sending, so sent once.

    An alert's delivery names its alert (`event`, or `portal_alert`), the channel (null: the rule's own email
    recipients), the alert's state and, for reminders, their number: the database refuses a second delivery of
    the same (alert, channel, state, number).
    """

    created_at = models.DateTimeField(auto_now_add=True)
    template = models.CharField(max_length=64)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    event = models.ForeignKey(
        "billing.AlertEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    portal_alert = models.ForeignKey(
        "billing.PortalAlert", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        "billing.NotificationChannel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    alert_state = models.CharField(max_length=16, blank=True, default="")
    sequence = models.PositiveIntegerField(default=0)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True, default="")
    recipients = models.JSONField(default=list)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.READY)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_state_next_attempt")]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "alert_state", "sequence"],
                condition=Q(event__isnull=False, channel__isnull=False),
                name="one_delivery_per_event_channel_state",
            ),
            models.UniqueConstraint(
                fields=["event", "alert_state", "sequence"],
                condition=Q(event__isnull=False, channel__isnull=True) & ~Q(alert_state=""),
                name="one_rule_email_per_event_state",
            ),
            models.UniqueConstraint(
                fields=["portal_alert", "channel", "alert_state", "sequence"],
                condition=Q(portal_alert__isnull=False, channel__isnull=False),
                name="one_delivery_per_portal_alert_channel_state",
            ),
            models.UniqueConstraint(
                fields=["portal_alert", "alert_state", "sequence"],
                condition=Q(portal_alert__isnull=False, channel__isnull=True),
                name="one_operator_email_per_portal_alert_state",
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.subject} ({self.state})"
