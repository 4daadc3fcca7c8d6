"""Where the money goes: the account's AI gateways and their spend-limit rules (mirrored from Cloudflare), and
spend by gateway × model × provider from Cloudflare's analytics (an estimate, beside the billed usage).

Rule budgets are US dollars (the gateway API's unit, unlike the billing API's cents); a rule's window is in
seconds (`billing.display` turns it into words).
"""

from django.db import models

from billing.models.accounts import Account
from billing.models.fields import money_field


class Gateway(models.Model):
    """One AI gateway of an account, as last read from Cloudflare (`raw` keeps every field for a PUT)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="gateways")
    gateway_id = models.CharField("gateway", max_length=128)
    is_default = models.BooleanField(default=False)
    spend_limits_enabled = models.BooleanField(null=True)
    created_at = models.DateTimeField(null=True, blank=True)
    modified_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "gateway_id"]
        constraints = [models.UniqueConstraint(fields=["account", "gateway_id"], name="one_gateway_per_id")]

    def __str__(self) -> str:
        return f"{self.account} / {self.gateway_id}"

    @property
    def spend_limits_on(self) -> bool:
        """Whether Cloudflare enforces this gateway's rules: `spend_limits.enabled` true. Absent (None here)
        is off, as Cloudflare's spec defaults it: rules are then stored and not enforced."""
        return self.spend_limits_enabled is True


class RuleTechnique(models.TextChoices):
    FIXED = "fixed", "Fixed window"
    SLIDING = "sliding", "Sliding window"


class RuleState(models.TextChoices):
    OK = "ok", "OK"
    NEARLY_USED = "nearly_used", "Nearly used"
    EXCEEDED = "exceeded", "Exceeded"
    UNKNOWN = "unknown", "Unknown"


class GatewayRule(models.Model):
    """One spend-limit rule of a gateway, and (computed after each analytics sync) its current window."""

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    rule_id = models.CharField(max_length=128, blank=True, default="")
    limit = money_field()
    window_seconds = models.PositiveIntegerField()
    # Cloudflare's default when a rule does not say.
    technique = models.CharField(max_length=16, choices=RuleTechnique.choices, default=RuleTechnique.SLIDING)
    enabled = models.BooleanField(default=True)
    models_filter = models.JSONField(default=list, blank=True)  # [] = every model
    providers_filter = models.JSONField(default=list, blank=True)  # [] = every provider
    metadata = models.JSONField(default=dict, blank=True)
    # The current window, from local analytics: spend so far, % of the limit, state, when it resets.
    window_spend = money_field(null=True, blank=True)
    used_percent = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    state = models.CharField(max_length=16, choices=RuleState.choices, default=RuleState.UNKNOWN)
    resets_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["gateway", "position"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "position"], name="one_rule_per_gateway_position"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}: ${self.limit} per {self.window_seconds} s"

    @property
    def subject(self) -> str:
        """What its alert is about within the account: "<gateway>/<rule id, or position without one>"."""
        return f"{self.gateway.gateway_id}/{self.rule_id or self.position}"


class _SpendColumns(models.Model):
    """Sums of Cloudflare's analytics for one bucket (hour or UTC day) × gateway × model × provider."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    gateway = models.CharField(max_length=128)
    model = models.CharField(max_length=200, blank=True, default="")
    provider = models.CharField(max_length=100, blank=True, default="")
    requests = models.BigIntegerField(default=0)
    cost = money_field()  # US dollars, Cloudflare's estimate from model pricing (not the invoice)
    tokens_in = models.BigIntegerField(default=0)
    tokens_out = models.BigIntegerField(default=0)
    cached_tokens_in = models.BigIntegerField(default=0)
    cached_tokens_out = models.BigIntegerField(default=0)
    cached_requests = models.BigIntegerField(default=0)
    errored_requests = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField()

    class Meta:
        abstract = True


class GatewaySpendHour(_SpendColumns):
    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "hour", "gateway", "model", "provider"], name="one_spend_per_hour_key"
            )
        ]
        indexes = [models.Index(fields=["account", "hour"], name="spendhour_account_hour")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.model} {self.hour:%Y-%m-%d %H:00}: ${self.cost}"


class GatewaySpendDay(_SpendColumns):
    day = models.DateField()  # a UTC day

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "gateway", "model", "provider"], name="one_spend_per_day_key"
            )
        ]
        indexes = [models.Index(fields=["account", "day"], name="spendday_account_day")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.model} {self.day}: ${self.cost}"


class AnalyticsSettings(models.Model):
    """What the portal knows of the spend dataset for one account: its limits as Cloudflare's `settings` node
    last answered them (read again once a day; the analytics queries are split to fit them), the sums the
    last sync could not get (Cloudflare refused them as unknown fields, so pages say "not available from
    Cloudflare" rather than show a zero), and the UTC days with billed usage but no analytics rows at all
    (a token without "Account Analytics: Read" may get empty answers instead of an error)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="analytics_settings")
    max_duration_seconds = models.PositiveBigIntegerField(null=True)  # the widest time range of one query
    not_older_than_seconds = models.PositiveBigIntegerField(null=True)  # how far back a query may start
    max_page_size = models.PositiveIntegerField(null=True)  # the most groups one query returns
    max_number_of_fields = models.PositiveIntegerField(null=True)  # the most fields one query may ask for
    read_at = models.DateTimeField(null=True)  # when the limits were read (null: never)
    unavailable_sums = models.JSONField(default=list)  # the spend columns Cloudflare did not answer
    silent_days = models.JSONField(default=list)  # ISO dates: billed usage above zero, no analytics rows
    checked_at = models.DateTimeField(null=True)  # the last analytics sync that set the two above

    def __str__(self) -> str:
        return f"analytics settings of {self.account}"
