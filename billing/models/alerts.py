"""Alert rules and the events they raise (their deliveries are `billing.models.channels.Delivery`)."""

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models.accounts import Account


class AlertKind(models.TextChoices):
    """The kinds of alert, as the database stores them; everything else about each kind is its entry in
    billing/alerts/kinds.py."""

    LOW_BALANCE = "low_balance", "Low balance"
    RUNWAY = "runway", "Short runway"
    AUTO_TOPUP_FAILING = "auto_topup_failing", "Auto top-up failing"
    SPENDING_LIMIT = "spending_limit", "Spending limit nearly used"
    STALE_DATA = "stale_data", "Stale data"
    USAGE_SPIKE = "usage_spike", "Usage spike"
    GATEWAY_RULE = "gateway_rule", "Gateway rule nearly used"
    LEDGER_UNBALANCED = "ledger_unbalanced", "The ledger does not balance"
    FORECAST_OVER_BUDGET = "forecast_over_budget", "Forecast over budget"


class AlertRule(models.Model):
    """When to alert about one kind of trouble, and whom to tell.

    A rule with an account applies to that account only and replaces the portal-wide default (account null)
    of the same kind. `threshold` and `hysteresis` are in the kind's unit (its entry in
    billing/alerts/kinds.py): dollars (low balance), days (runway), percent of the limit (spending limit,
    gateway rule), minutes (stale data), a multiple of the median day (usage spike), hours a failure stays
    news (auto top-up failing).
    """

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    enabled = models.BooleanField(default=True)
    threshold = models.DecimalField(max_digits=20, decimal_places=6)
    # More severe levels after `threshold` (level 1), as decimal strings, least severe first: lower for the
    # kinds that alert below (low balance, runway), higher for those that alert above (percentages). Each
    # level reached notifies once per alert (billing/alerts/levels.py).
    further_levels = models.JSONField(default=list, blank=True)
    # The condition must clear by this margin before an open alert resolves, so a value hovering at the
    # threshold does not open and resolve over and over.
    hysteresis = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    recipients = models.JSONField(default=list, blank=True)
    notify_managers = models.BooleanField(default=True)
    reminder_hours = models.PositiveIntegerField(default=24)
    # Besides the email recipients above: Slack, webhooks or email lists (billing/models/channels.py).
    channels = models.ManyToManyField("billing.NotificationChannel", blank=True, related_name="rules")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account__name", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"], condition=Q(account__isnull=False), name="one_alert_rule_per_kind"
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(account__isnull=True), name="one_default_alert_rule_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account or 'every account'}: {self.get_kind_display()}"

    @property
    def levels(self) -> list[Decimal]:
        """Every level, least severe first: the threshold, then the further levels."""
        return [self.threshold, *(Decimal(str(level)) for level in self.further_levels or [])]


class AlertEventQuerySet(models.QuerySet):
    def open(self) -> "AlertEventQuerySet":
        return self.filter(resolved_at__isnull=True)

    def open_for(self, accounts: Iterable[Account | int]) -> "AlertEventQuerySet":
        """The open alerts of these accounts (instances or pks), oldest first."""
        return self.open().filter(account__in=accounts).order_by("opened_at", "pk")

    def open_by_account(self, accounts: Iterable[Account | int]) -> dict[int, list["AlertEvent"]]:
        """{account pk: [open events, oldest first]} in one query."""
        grouped: dict[int, list[AlertEvent]] = {}
        for event in self.open_for(accounts):
            grouped.setdefault(event.account_id, []).append(event)
        return grouped


class AlertEvent(models.Model):
    """One alert from opening to resolution: both the alert's state and its history."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alert_events")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # What the alert is about within the account when a kind has several (e.g. "chat-app/rule-1" for a
    # gateway rule); empty for account-wide kinds.
    subject = models.CharField(max_length=300, blank=True, default="")
    headline = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    # The most severe level of the rule reached while open (1 = the threshold): only ever raised, by a
    # conditional update, so each level is announced once.
    level = models.PositiveSmallIntegerField(default=1)
    # Figures at opening and resolution (money as strings), for the history page and the emails.
    details = models.JSONField(default=dict, blank=True)
    # Someone who can see the alert said they are on it: reminders stop until a more severe level is reached
    # (billing/alerts/attention.py). The name is copied so it outlives the person.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by_name = models.CharField(max_length=150, blank=True, default="")
    # Reminders paused until then (a more severe level is still told, and ends the pause).
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_by_name = models.CharField(max_length=150, blank=True, default="")

    objects = AlertEventQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Two workers evaluating at once cannot both open an alert: the second insert fails.
            models.UniqueConstraint(
                fields=["account", "kind", "subject"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_account_kind_subject",
            )
        ]
        indexes = [models.Index(fields=["account", "-opened_at"], name="alertevent_account_opened")]

    def __str__(self) -> str:
        return self.headline

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
