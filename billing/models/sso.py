"""Single sign-on: who a person is at the identity provider, and which of its groups grant which roles."""

from django.conf import settings
from django.db import models

from billing.models.accounts import Account, Role


class SsoIdentity(models.Model):
    """Links a portal user to the provider's subject (`iss` + `sub`), never to an email address that the
    provider or the person could change."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    last_groups = models.JSONField(default=list, blank=True)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_sso_subject")]
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"

    def __str__(self) -> str:
        return f"{self.user} ← {self.subject}"


class SsoRoleMapping(models.Model):
    """A value of the provider's groups claim (SSO_ROLES_CLAIM) that grants a role on an account. For an
    account with at least one mapping, the mapping decides the roles of people who sign in with SSO."""

    group = models.CharField(max_length=255)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sso_mappings")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "account__name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "account"], name="one_role_per_group_account")
        ]
        verbose_name = "single sign-on role mapping"

    def __str__(self) -> str:
        return f"{self.group} → {self.account} ({self.role})"
