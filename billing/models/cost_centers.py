"""Cost centers: the showback groups an account's admins define, each a set of gateways, optionally narrowed
to some models or providers ("chat-app and batch-jobs are the Support team")."""

from django.db import models

from billing.models.accounts import Account


class CostCenter(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="cost_centers")
    name = models.CharField(max_length=100)
    gateways = models.JSONField(default=list)  # gateway ids, at least one
    only_models = models.JSONField(default=list, blank=True)  # analytics model names; empty: every model
    only_providers = models.JSONField(default=list, blank=True)  # provider names; empty: every provider
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="one_cost_center_name_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.account} cost center {self.name}"

    def covers(self, gateway: str, model: str, provider: str) -> bool:
        """Whether spend of this gateway, model and provider is this cost center's. A model may be named as
        analytics names it (`gpt-4o-mini`) or with its provider (`openai/gpt-4o-mini`)."""
        if gateway not in self.gateways:
            return False
        if self.only_providers and provider not in self.only_providers:
            return False
        names = self.only_models
        return not names or model in names or f"{provider}/{model}" in names
