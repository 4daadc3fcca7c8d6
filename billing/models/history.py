"""The local mirror of Cloudflare's billing state: balance snapshots, usage, invoices, auto top-up config,
the spending limit, and the figures stored per account for the pages."""

from decimal import Decimal

from django.db import models

from billing.models.accounts import Account
from billing.models.fields import money_field


class BalanceSnapshotQuerySet(models.QuerySet):
    def latest_for(self, account: Account) -> "BalanceSnapshot | None":
        """The account's newest snapshot, or None before its first successful balance fetch."""
        return self.filter(account=account).order_by("-taken_at").first()


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

    objects = BalanceSnapshotQuerySet.as_manager()

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


class InvoiceListingQuerySet(models.QuerySet):
    def shortfall(self, account: Account, kind: str = "all") -> tuple[int, int] | None:
        """(read, reported): the invoices of `kind` ("all", "auto" or "manual") the last sync read and the
        number Cloudflare reported, when Cloudflare reported more than were read; else None."""
        rows = self.filter(account=account)
        if kind != "all":
            rows = rows.filter(invoice_type=kind)
        totals = rows.aggregate(read=models.Sum("read_count"), reported=models.Sum("reported_count"))
        read, reported = totals["read"] or 0, totals["reported"] or 0
        return (read, reported) if reported > read else None


class InvoiceListing(models.Model):
    """What Cloudflare's invoice list of one type said at the last sync: how many invoices the portal read
    (every page it followed) and how many Cloudflare reported (`pagination.total_count`). More reported
    than read means invoices the portal could not fetch (paging ignored, or the page cap reached): the
    invoices page says so instead of quietly showing fewer."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invoice_listings")
    invoice_type = models.CharField(max_length=8, choices=InvoiceType.choices)
    read_count = models.PositiveIntegerField()
    reported_count = models.PositiveIntegerField()
    synced_at = models.DateTimeField()

    objects = InvoiceListingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "invoice_type"], name="one_invoice_listing_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.invoice_type} invoices: {self.read_count} of {self.reported_count}"


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

    @property
    def credited(self) -> Decimal:
        """The sum of its credit amounts (as `InvoiceLine.credited` stores it)."""
        return sum((Decimal(credit["amount"]) for credit in self.credits), Decimal(0))


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
    def configured(self) -> bool:
        """Whether Cloudflare holds a setting (working or failing): it can be changed or turned off."""
        return self.amount is not None and self.threshold is not None

    @property
    def enabled(self) -> bool:
        return self.configured and not self.disabled_reason

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
    # The UTC month these were computed in (a summary of an earlier month is not used), its billed usage so
    # far, the end-of-month forecast (null: too little history) and the complete days of history behind it.
    month_start = models.DateField(null=True, blank=True)
    month_to_date = money_field(null=True, blank=True)
    month_forecast = money_field(null=True, blank=True)
    month_history_days = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "account summaries"

    def __str__(self) -> str:
        return f"{self.account_id} figures at {self.computed_at:%Y-%m-%d %H:%M}"
