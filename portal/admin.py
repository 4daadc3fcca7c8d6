"""Admin of sign-in lock-outs: axes' failed-attempt list, with an audited "unlock" as the way to clear one."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.permissions import AuthenticatedHttpRequest
from portal import signin

admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    actions = ["unlock_usernames", *AccessAttemptAdmin.actions]

    @admin.action(description="Unlock the usernames of the selected attempts (they may log in at once)")
    def unlock_usernames(self, request: AuthenticatedHttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        usernames = sorted({name for name in queryset.values_list("username", flat=True) if name})
        for username in usernames:
            signin.unlock(username, by=request.user, ip_address=request.META.get("REMOTE_ADDR"))
        self.message_user(request, f"Unlocked: {', '.join(usernames) or 'nobody'}.")

    def has_delete_permission(self, request: HttpRequest, obj: AccessAttempt | None = None) -> bool:
        # Deleting rows would unlock without an audit entry: unlocking goes through the action above.
        return False
