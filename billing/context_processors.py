"""Values every page template needs."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from billing.operations.errors import ai_gateway_dashboard_url


def portal(request: HttpRequest) -> dict:
    return {
        # The reader's zone: their own choice (portal/time_zones.py), else TIME_ZONE.
        "PORTAL_TIME_ZONE": timezone.get_current_timezone_name(),
        "CLOUDFLARE_DASHBOARD_URL": settings.CLOUDFLARE_DASHBOARD_URL,
        "CLOUDFLARE_AI_GATEWAY_URL": ai_gateway_dashboard_url(),
        "SSO_ENABLED": settings.SSO_ENABLED,
        "SSO_ONLY": settings.SSO_ENABLED and settings.SSO_ONLY,
        "SSO_BUTTON_LABEL": settings.SSO_BUTTON_LABEL,
    }
