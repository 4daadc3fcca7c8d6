"""Personal access tokens of the read-only API, and the per-token request counters of its rate limit."""

from django.conf import settings
from django.db import models

from billing.models.accounts import Account


class ApiToken(models.Model):
    """A person's read-only API token. Only the SHA-256 of the token is kept (`digest`); the token itself is
    shown once, when made. It reads the accounts its person may see at the time of each request, narrowed to
    `accounts` when any are chosen."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The token's first characters after its prefix, so a person can tell their tokens apart.
    hint = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    accounts = models.ManyToManyField(Account, blank=True, related_name="api_tokens")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} · {self.name} ({self.hint}…)"


class ApiRequestCount(models.Model):
    """Requests a token made in one rate-limit window (a minute, from `window_start`). Kept in the database
    so the limit holds across web workers and without Redis."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="request_counts")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "window_start"], name="one_count_per_token_window")
        ]

    def __str__(self) -> str:
        return f"{self.token_id} {self.window_start:%H:%M} {self.count}"
