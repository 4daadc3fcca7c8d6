"""What several pages share: the account header context (with its data-as-of figures), the client address."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone

from billing import operations
from billing.figures import stored_figures
from billing.models import Account
from billing.permissions import can_manage


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# A finished "Refresh now" is shown to the person who asked (operations.REFRESHES_ASKED) this long; a
# waiting one reloads the account's pages this often.
REFRESH_SHOWN_FOR = timedelta(minutes=2)
REFRESH_RELOAD_SECONDS = 3


def refresh_status(account: Account) -> dict | None:
    """What the account's pages say of its last "Refresh now": {"state", "run", "reload_after"} while it is
    queued or running (the page reloads itself) or for a while after it finished; else None."""
    run = operations.latest_refresh(account)
    if run is None:
        return None
    if operations.is_waiting(run):
        return {"state": run.outcome, "run": run, "reload_after": REFRESH_RELOAD_SECONDS}
    if run.finished_at is None or timezone.now() - run.finished_at > REFRESH_SHOWN_FOR:
        return None
    return {"state": run.outcome, "run": run, "reload_after": None}


def account_context(account: Account, section: str, **extra) -> dict:
    """Context of every per-account page: the account, its figures (balance, data as of, staleness: as the
    overview shows them), whether the person may manage it, and which tab is current."""
    return {
        "account": account,
        "figures": stored_figures([account])[account.pk],
        "can_manage": can_manage(account),
        "section": section,
        "refresh": refresh_status(account),
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "fee_percent": settings.TOPUP_FEE_PERCENT,
        **extra,
    }


STALE_FORM = operations.OperationError("This form is out of date (it has no valid key); nothing was sent.")


def intent_key_of(request: HttpRequest) -> uuid.UUID | None:
    """The one-time key a write form was rendered with (every page renders one); a post without one (a
    script's) is one intent of its own; None when the key is garbled."""
    if not request.POST.get("intent_key"):
        return uuid.uuid4()
    try:
        return uuid.UUID(request.POST["intent_key"])
    except ValueError:
        return None


def write_messages(request: HttpRequest, result: operations.WriteResult, done: str) -> None:
    """What the page says after a write: done, not sent again, or not known yet."""
    if not result.created:
        messages.info(request, "This form was already submitted; it was not sent again.")
    elif result.outcome == "unknown":
        messages.warning(request, operations.UNKNOWN_MESSAGE)
    else:
        messages.success(request, done)


def write_context(account: Account, actions: tuple[str, ...]) -> dict:
    """The page's writes of these kinds not settled yet, and those a read settled lately."""
    return {
        "unsettled_writes": operations.unsettled_writes(account, actions).select_related("requested_by"),
        "settled_writes": operations.recently_settled(account, actions)[:3],
        "intent_key": uuid.uuid4(),
    }
