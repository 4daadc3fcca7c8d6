"""Cloudflare accounts the portal knows, and who may see or manage each."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from billing import crypto
from billing.models.fields import money_field


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
    # The portal's own monthly budget in dollars (Cloudflare has none): set by the account's admins, audited,
    # read against the month-to-date billed usage and its forecast (billing.figures.month).
    monthly_budget = money_field(null=True, blank=True)

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

    def one_to_one(self, name: str):
        """A reverse one-to-one row of this account (`auto_topup`, `spending_limit`, `summary`,
        `topup_range`), or None while it was never synced."""
        try:
            return getattr(self, name)
        except ObjectDoesNotExist:
            return None


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
