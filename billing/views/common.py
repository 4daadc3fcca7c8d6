"""What several pages share: the account header context (with its data-as-of figures), the client address."""

from django.conf import settings
from django.http import HttpRequest

from billing.figures import stored_figures
from billing.models import Account
from billing.permissions import can_manage


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


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
