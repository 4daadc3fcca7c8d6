"""The project as an app: connects its signal receivers, and makes the admin demand two-factor."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import access, signin  # noqa: F401  (connect the generation and lock-out receivers)


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.TwoFactorAdminSite"
