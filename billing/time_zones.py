"""Each person's time zone: one stored preference (`NotificationSettings.time_zone`, chosen on their
settings page) that their pages, their digest and the emails addressed to them alone are shown in. Zones are
IANA names, matched without regard to case ("europe/berlin" is Europe/Berlin)."""

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from billing.models import NotificationSettings

UTC_ZONE = ZoneInfo("UTC")


@cache
def _by_lower_name() -> dict[str, str]:
    from zoneinfo import available_timezones

    return {name.lower(): name for name in available_timezones()}


def zone_names() -> list[str]:
    """Every IANA zone this server knows, sorted: the list a person picks from."""
    return sorted(_by_lower_name().values())


def canonical_zone(name: str) -> str | None:
    """The IANA spelling of `name` in any case ("europe/berlin" → "Europe/Berlin"), None for no known zone."""
    return _by_lower_name().get(name.strip().lower())


def default_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a zone the system no longer knows


def zone_of(user) -> ZoneInfo:
    """The zone `user` chose, else TIME_ZONE."""
    name = NotificationSettings.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return _zone(name) or default_zone()


def zone_for_recipients(recipients: list[str]) -> ZoneInfo:
    """An email's zone: its one recipient's choice when there is exactly one who chose; else UTC (several
    people may read it, each in a different zone, so it names UTC)."""
    if len(recipients) != 1:
        return UTC_ZONE
    chosen = NotificationSettings.objects.filter(user__email__iexact=recipients[0])
    names = list(chosen.values_list("time_zone", flat=True))
    return (_zone(names[0]) if len(names) == 1 else None) or UTC_ZONE
