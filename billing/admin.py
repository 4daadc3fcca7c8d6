"""Django admin: accounts (with an encrypted API token field), people's grants, and read-only mirrors."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from billing.api import tokens
from billing.models import (
    Account,
    AccountAccess,
    ApiToken,
    AuditEntry,
    AutoTopUpConfig,
    BalanceSnapshot,
    Invoice,
    InvoicePreview,
    SpendingLimit,
    SyncRun,
    TopUp,
    TopUpRange,
    UsageRecord,
)


class AccountForm(forms.ModelForm):
    """The token is write-only: typed in, stored encrypted, shown back only as its last 4 characters."""

    api_token = forms.CharField(
        label="API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current token. Needs AI Gateway Read and Write on this account.",
    )
    clear_api_token = forms.BooleanField(
        label="Use the portal's default token (CLOUDFLARE_API_TOKEN) instead", required=False
    )

    class Meta:
        model = Account
        fields = ["name", "cloudflare_id", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["api_token"].help_text = (
                f"Current: {self.instance.token_hint}. " + self.fields["api_token"].help_text
            )

    def save(self, commit: bool = True) -> Account:
        account = super().save(commit=False)
        if self.cleaned_data.get("clear_api_token"):
            account.set_api_token("")
        elif self.cleaned_data.get("api_token"):
            account.set_api_token(self.cleaned_data["api_token"])
        if commit:
            account.save()
        return account


class AccountAccessInline(admin.TabularInline):
    model = AccountAccess
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountForm
    list_display = ["name", "cloudflare_id", "is_active", "token_hint", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "cloudflare_id"]
    inlines = [AccountAccessInline]

    @admin.display(description="API token")
    def token_hint(self, account: Account) -> str:
        return account.token_hint


@admin.register(AccountAccess)
class AccountAccessAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "user__email", "account__name", "account__cloudflare_id"]
    autocomplete_fields = ["user", "account"]


class GrantInline(admin.TabularInline):
    model = AccountAccess
    extra = 1
    autocomplete_fields = ["account"]
    verbose_name = "account access"


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    """People, with their per-account roles on the same page."""

    inlines = [GrantInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows mirrored from Cloudflare or written by the portal's own logic: look, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["account", "taken_at", "balance", "payment_method_last4", "auto_topup_threshold"]
    list_filter = ["account"]
    date_hierarchy = "taken_at"


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["account", "window", "start", "value"]
    list_filter = ["account", "window"]
    date_hierarchy = "start"


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["account", "invoice_id", "invoice_type", "amount_due", "currency", "status", "created"]
    list_filter = ["account", "invoice_type", "status"]


@admin.register(InvoicePreview)
class InvoicePreviewAdmin(ReadOnlyAdmin):
    list_display = ["account", "amount_due", "currency", "period_start", "period_end", "synced_at"]


@admin.register(AutoTopUpConfig)
class AutoTopUpConfigAdmin(ReadOnlyAdmin):
    list_display = ["account", "amount", "threshold", "error", "disabled_reason", "synced_at"]


@admin.register(SpendingLimit)
class SpendingLimitAdmin(ReadOnlyAdmin):
    list_display = ["account", "enabled", "amount", "duration", "strategy", "synced_at"]


@admin.register(TopUpRange)
class TopUpRangeAdmin(ReadOnlyAdmin):
    list_display = ["account", "min_cents", "max_cents", "currency", "synced_at", "withdrawn_at"]


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = ["account", "amount_cents", "status", "requested_by", "requested_at", "completed_at"]
    list_filter = ["status", "account"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "account_cloudflare_id", "action", "outcome"]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_name", "account_cloudflare_id"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["job", "account", "started_at", "finished_at", "outcome", "api_calls"]
    list_filter = ["job", "outcome"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Every person's API tokens (never their secrets, which the portal does not keep); a superuser may
    revoke any of them."""

    list_display = ("name", "user", "hint", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "hint")
    exclude = ("digest",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        revoked = sum(tokens.revoke(token, actor=request.user) for token in queryset.select_related("user"))
        self.message_user(request, f"Revoked {revoked} token(s).")
