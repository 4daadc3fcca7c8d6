"""The Django admin, refusing sessions that have not passed two-factor when the policy asks for it."""

from django.contrib import admin
from django.http import HttpRequest

from portal import two_factor


class TwoFactorAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        # The middleware already sends such sessions to the second step; this holds even if it is bypassed.
        return super().has_permission(request) and two_factor.is_satisfied(request)
