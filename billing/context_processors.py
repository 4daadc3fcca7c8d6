"""Values every page template needs."""

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    return {
        "PORTAL_TIME_ZONE": settings.TIME_ZONE,
        "CLOUDFLARE_DASHBOARD_URL": settings.CLOUDFLARE_DASHBOARD_URL,
    }
