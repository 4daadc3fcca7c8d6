"""Local mirror of Cloudflare billing state, plus what the portal adds: access, top-ups, audit, sync runs.

Money columns are Decimal in the major unit of their currency (US dollars unless a row says otherwise),
except where a name ends in `_cents`. Datetimes are aware and stored in UTC.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing import crypto


def money_field(**kwargs) -> models.DecimalField:
    # Six places keep usage in fractions of a cent exact; 20 digits leave room for any real balance.
    return models.DecimalField(max_digits=20, decimal_places=6, **kwargs)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MANAGER = "manager", "Billing manager"
    ADMIN = "admin", "Admin"


class Account(models.Model):
    cloudflare_id = models.CharField("Cloudflare account id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    api_token_ciphertext = models.TextField(blank=True, default="", editable=False)
    api_token_last4 = models.CharField(max_length=4, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "cloudflare_id"]

    def __str__(self) -> str:
        return self.name or self.cloudflare_id

    def set_api_token(self, token: str) -> None:
        """Store a per-account token encrypted; an empty token falls back to CLOUDFLARE_API_TOKEN."""
        token = token.strip()
        self.api_token_ciphertext = crypto.encrypt_token(token) if token else ""
        self.api_token_last4 = token[-4:] if token else ""

    @property
    def has_own_token(self) -> bool:
        return bool(self.api_token_ciphertext)

    def api_token(self) -> str:
        """The token to call Cloudflare with: the account's own, else CLOUDFLARE_API_TOKEN."""
        if self.api_token_ciphertext:
            return crypto.decrypt_token(self.api_token_ciphertext)
        return settings.CLOUDFLARE_API_TOKEN

    @property
    def token_hint(self) -> str:
        return f"•••• {self.api_token_last4}" if self.api_token_last4 else "portal default token"


class AccountAccess(models.Model):
    """A person's grant on one account; superusers see every account without one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_grants"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="one_grant_per_user_account")]
        verbose_name_plural = "account access"

    def __str__(self) -> str:
        return f"{self.user} → {self.account} ({self.role})"


class BalanceSnapshot(models.Model):
    """One successful credit-balance fetch. A failed fetch leaves no row, never a zero balance."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="balance_snapshots")
    taken_at = models.DateTimeField()
    balance = money_field()
    has_default_payment_method = models.BooleanField(default=False)
    payment_method_brand = models.CharField(max_length=32, blank=True, default="")
    payment_method_last4 = models.CharField(max_length=4, blank=True, default="")
    first_topup_success = models.BooleanField(null=True)
    auto_topup_amount = money_field(null=True, blank=True)
    auto_topup_threshold = money_field(null=True, blank=True)
    auto_topup_error = models.CharField(max_length=500, blank=True, default="")
    auto_topup_disabled_reason = models.CharField(max_length=500, blank=True, default="")
    auto_topup_last_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        get_latest_by = "taken_at"
        indexes = [models.Index(fields=["account", "-taken_at"], name="balance_account_taken")]

    def __str__(self) -> str:
        return f"{self.account} {self.balance} at {self.taken_at:%Y-%m-%d %H:%M}"


class UsageWindow(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class UsageRecord(models.Model):
    """One usage summary as Cloudflare reports it; a re-sync updates the row, never duplicates it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_records")
    window = models.CharField(max_length=4, choices=UsageWindow.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    summary_id = models.CharField(max_length=128)
    value = money_field()
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "window", "start", "summary_id"], name="one_usage_row_per_summary"
            )
        ]
        indexes = [
            # Covering (value and end too): the usage pages and the CSV read a year of one account's hours,
            # which sync writes interleaved with every other account's, one heap page per row otherwise.
            models.Index(
                fields=["account", "window", "start", "value", "end"], name="usage_account_window_cover"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.window} {self.start:%Y-%m-%d %H:%M} {self.value}"


class InvoiceType(models.TextChoices):
    AUTO = "auto", "Auto top-up"
    MANUAL = "manual", "Manual"
    UNKNOWN = "unknown", "Unknown"


class Invoice(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invoices")
    invoice_id = models.CharField(max_length=128)
    invoice_type = models.CharField(max_length=8, choices=InvoiceType.choices, default=InvoiceType.UNKNOWN)
    amount_due = money_field()
    amount_paid = money_field()
    amount_remaining = money_field()
    currency = models.CharField(max_length=8, default="usd")
    attempt_count = models.IntegerField(null=True, blank=True)
    attempted = models.BooleanField(null=True)
    auto_advance = models.BooleanField(null=True)
    created = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    invoice_origin = models.CharField(max_length=200, blank=True, default="")
    invoice_pdf = models.URLField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=32, blank=True, default="")
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "invoice_id"], name="one_invoice_per_remote_id")
        ]
        indexes = [models.Index(fields=["account", "invoice_type", "-created"], name="invoice_account_type")]

    def __str__(self) -> str:
        return f"{self.account} {self.invoice_id}"


class InvoicePreview(models.Model):
    """The latest preview of the upcoming invoice, one per account."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="invoice_preview")
    preview_id = models.CharField(max_length=128, blank=True, default="")
    amount_due = money_field()
    amount_paid = money_field()
    amount_remaining = money_field()
    currency = models.CharField(max_length=8, default="usd")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, blank=True, default="")
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account} upcoming {self.amount_due}"


class InvoicePreviewLine(models.Model):
    preview = models.ForeignKey(InvoicePreview, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    amount = money_field()
    currency = models.CharField(max_length=8, default="usd")
    description = models.TextField(blank=True, default="")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    unit_amount_decimal = models.CharField(max_length=64, blank=True, default="")
    quantity = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    # [{"amount": "1.50" (major units, as a string), "type", "credit_balance_transaction", "discount"}]
    credits = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.preview} line {self.position}"


class AutoTopUpConfig(models.Model):
    """The latest auto top-up configuration as Cloudflare reports it."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="auto_topup")
    amount = money_field(null=True, blank=True)
    threshold = money_field(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    last_failed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account} auto top-up"

    @property
    def enabled(self) -> bool:
        return self.amount is not None and self.threshold is not None and not self.disabled_reason

    @property
    def failing(self) -> bool:
        return bool(self.error or self.disabled_reason)


class LimitDuration(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class LimitStrategy(models.TextChoices):
    FIXED = "fixed", "Fixed window"
    SLIDING = "sliding", "Sliding window"


class SpendingLimit(models.Model):
    """The latest account spending limit as Cloudflare reports it."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="spending_limit")
    enabled = models.BooleanField(default=False)
    amount = money_field(null=True, blank=True)
    duration = models.CharField(max_length=16, blank=True, default="")
    strategy = models.CharField(max_length=16, blank=True, default="")
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account} spending limit"


class AccountSummary(models.Model):
    """An account's derived figures (billing.figures) as of its last sync, one row per account.

    Written when the account's data changes (billing.figures.refresh_summary: after a successful balance,
    usage or spending-limit sync, and after a change made from the portal), so the overview reads one row
    per account instead of recomputing spend from the usage history on every view. Whether the data is
    stale is decided when it is read, from `data_as_of`. The limit fields record which spending limit the
    limit figures were computed for: a summary whose limit no longer matches is not used.
    """

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="summary"
    )
    balance = money_field(null=True, blank=True)
    balance_taken_at = models.DateTimeField(null=True, blank=True)
    spend_per_day = money_field(null=True, blank=True)
    # Ratios of amounts, so wider than the amounts themselves (a balance over a micro-dollar spend).
    runway_days = models.DecimalField(max_digits=40, decimal_places=1, null=True, blank=True)
    limit_spent = money_field(null=True, blank=True)
    limit_used_percent = models.DecimalField(max_digits=40, decimal_places=1, null=True, blank=True)
    limit_amount = money_field(null=True, blank=True)
    limit_duration = models.CharField(max_length=16, blank=True, default="")
    limit_strategy = models.CharField(max_length=16, blank=True, default="")
    data_as_of = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "account summaries"

    def __str__(self) -> str:
        return f"{self.account_id} figures at {self.computed_at:%Y-%m-%d %H:%M}"


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


class AuditAction(models.TextChoices):
    TOPUP_CREATE = "topup.create", "Top-up"
    AUTO_TOPUP_SET = "auto_topup.set", "Auto top-up set"
    AUTO_TOPUP_DELETE = "auto_topup.delete", "Auto top-up removed"
    SPENDING_LIMIT_SET = "spending_limit.set", "Spending limit set"
    SPENDING_LIMIT_DELETE = "spending_limit.delete", "Spending limit removed"
    TOPUP_RECONCILED = "topup.reconciled", "Top-up outcome settled"
    ACCOUNT_REFRESH = "account.refresh", "Refresh now"
    ALERT_RULE_CHANGE = "alert_rule.change", "Alert rule changed"


class AuditOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    PENDING = "pending", "Pending"


class AppendOnlyError(Exception):
    """Audit entries are never changed or deleted."""


class AuditEntry(models.Model):
    """Append-only: who did what to which account, when, with what outcome."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    account_cloudflare_id = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    parameters = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices)
    error = models.TextField(blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["account_cloudflare_id", "-created_at"], name="audit_account_created")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")


class SyncOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SyncRun(models.Model):
    """One job's run for one account; the last successful one drives the "data as of" notice."""

    job = models.CharField(max_length=32)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="sync_runs"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=SyncOutcome.choices, default=SyncOutcome.RUNNING)
    error = models.TextField(blank=True, default="")
    api_calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        indexes = [models.Index(fields=["account", "job", "outcome", "-started_at"], name="syncrun_latest")]
        constraints = [
            # The lock of a (job, account): a second run is refused by the database while one is running.
            models.UniqueConstraint(
                fields=["job", "account"],
                condition=Q(outcome="running"),
                name="one_running_sync_per_job_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.account} {self.outcome}"


class ApiCallCount(models.Model):
    """Cumulative count of API calls per operation and result ("ok" or an error class), for /metrics.

    Workers add to it in batches (see billing.metrics), so every process's calls are counted in one place.
    """

    operation = models.CharField(max_length=64)
    result = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["operation", "result"], name="one_counter_per_operation_result")
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.result}: {self.count}"


# --- Alerts ---------------------------------------------------------------------------------------


class AlertKind(models.TextChoices):
    LOW_BALANCE = "low_balance", "Low balance"
    RUNWAY = "runway", "Short runway"
    AUTO_TOPUP_FAILING = "auto_topup_failing", "Auto top-up failing"
    SPENDING_LIMIT = "spending_limit", "Spending limit nearly used"
    STALE_DATA = "stale_data", "Stale data"
    USAGE_SPIKE = "usage_spike", "Usage spike"


class AlertRule(models.Model):
    """When to alert about one kind of trouble, and whom to tell.

    A rule with an account applies to that account only and replaces the portal-wide default (account null)
    of the same kind. `threshold` and `hysteresis` are in the kind's unit: dollars (low balance), days
    (runway), percent of the limit (spending limit), minutes (stale data), a multiple of the median day
    (usage spike), hours a failure stays news (auto top-up failing).
    """

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    enabled = models.BooleanField(default=True)
    threshold = models.DecimalField(max_digits=20, decimal_places=6)
    # The condition must clear by this margin before an open alert resolves, so a value hovering at the
    # threshold does not open and resolve over and over.
    hysteresis = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    recipients = models.JSONField(default=list, blank=True)
    notify_managers = models.BooleanField(default=True)
    reminder_hours = models.PositiveIntegerField(default=24)
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


class AlertEvent(models.Model):
    """One alert from opening to resolution: both the alert's state and its history."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alert_events")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    headline = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    # Figures at opening and resolution (money as strings), for the history page and the emails.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Two workers evaluating at once cannot both open an alert: the second insert fails.
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_account_kind",
            )
        ]
        indexes = [models.Index(fields=["account", "-opened_at"], name="alertevent_account_opened")]

    def __str__(self) -> str:
        return self.headline

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class OutboxState(models.TextChoices):
    READY = "ready", "Waiting to send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxEmail(models.Model):
    """One rendered email waiting for, or done with, delivery. Claimed before sending, so sent once."""

    created_at = models.DateTimeField(auto_now_add=True)
    template = models.CharField(max_length=64)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox_emails"
    )
    event = models.ForeignKey(
        AlertEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True, default="")
    recipients = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=OutboxState.choices, default=OutboxState.READY)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_state_next_attempt")]
        verbose_name = "outbox email"

    def __str__(self) -> str:
        return f"{self.subject} ({self.state})"
