"""What several pages share: the account header context, open alerts, data-as-of figures, client address."""

from django.conf import settings
from django.http import HttpRequest

from billing.figures import stored_figures
from billing.models import Account, AlertEvent, BalanceSnapshot
from billing.permissions import can_manage


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def open_alerts_by_account(accounts) -> dict[int, list[AlertEvent]]:
    """Open alert events of these accounts, grouped by account pk, in one query."""
    grouped: dict[int, list[AlertEvent]] = {}
    events = AlertEvent.objects.filter(account__in=accounts, resolved_at__isnull=True).order_by("opened_at")
    for event in events:
        grouped.setdefault(event.account_id, []).append(event)
    return grouped


def latest_snapshot(account: Account) -> BalanceSnapshot | None:
    return account.balance_snapshots.order_by("-taken_at").first()


def account_context(account: Account, section: str, **extra) -> dict:
    """Context of every per-account page: the account, its figures (balance, data as of, staleness: as the
    overview shows them), whether the person may manage it, and which tab is current."""
    return {
        "account": account,
        "figures": stored_figures([account])[account.pk],
        "can_manage": can_manage(account),
        "section": section,
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "fee_percent": settings.TOPUP_FEE_PERCENT,
        **extra,
    }
