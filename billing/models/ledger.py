"""The ledger: one row per account and UTC day, built from the snapshot tables by `billing.figures.ledger`
(the one place its meaning lives), so the ledger page reads rows instead of recomputing 13 months."""

from django.db import models

from billing.models.accounts import Account
from billing.models.fields import money_field


class LedgerState(models.TextChoices):
    BALANCED = "balanced", "Balances"
    EXPLAINED = "explained", "Explained"
    UNEXPLAINED = "unexplained", "Does not balance"
    OPEN = "open", "Day still open"
    NO_DATA = "no_data", "No balance reading"


class LedgerDay(models.Model):
    """One account's UTC day: opening balance, credit that arrived by source, billed usage, the expected and
    observed closing balances and the difference (observed − expected), with the state and its reason.
    Amounts are dollars; balances may be negative (Cloudflare allows it)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ledger_days")
    day = models.DateField()
    opening = money_field(null=True, blank=True)
    opening_at = models.DateTimeField(null=True, blank=True)
    topups = money_field(default=0)
    auto_topups = money_field(default=0)
    other_credit = money_field(default=0)  # credit from elsewhere: the balance rose with no top-up we know of
    usage = money_field(default=0)
    expected = money_field(null=True, blank=True)
    observed = money_field(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)
    difference = money_field(null=True, blank=True)
    state = models.CharField(max_length=16, choices=LedgerState.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    # [{"kind": "topup"|"auto_topup"|"elsewhere"|"in_flight", "ref": "in_…" or "", "amount": "12.50"}]
    sources = models.JSONField(default=list, blank=True)
    settled = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="one_ledger_day_per_account")]

    def __str__(self) -> str:
        return f"{self.account} ledger {self.day} {self.state}"

    @property
    def credit(self):
        return self.topups + self.auto_topups + self.other_credit
