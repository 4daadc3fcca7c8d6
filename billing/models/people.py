"""People and their access beyond the grants themselves: invitations to an account, and the generation of a
person's access that signs them out everywhere when someone removes it."""

from django.conf import settings
from django.db import models

from billing.models.accounts import Account, Role


class InvitationQuerySet(models.QuerySet):
    def pending(self, now) -> "InvitationQuerySet":
        """Invitations that can still be accepted at `now`."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)


class Invitation(models.Model):
    """A single-use link, emailed, that gives its holder `role` on `account` until `expires_at`. Only the
    SHA-256 of the link's token is stored, so the table alone cannot be used to accept an invitation."""

    email = models.EmailField()
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when a newer invitation of the same address to the same account replaces this one.
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} → {self.account} ({self.role})"


class AccessGeneration(models.Model):
    """Raised by one whenever someone removes some of the person's access. A session remembers the generation
    it signed in at (an API token the one it was made at); an older one no longer works
    (`billing.permissions.still_has_access`). No row: generation 0."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_generation"
    )
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user}: access generation {self.value}"
