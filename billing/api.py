"""Django-side glue for the API client: one client per token and base URL, sharing one rate budget.

Only `sync.py` and `operations.py` call this; views never do.
"""

import hashlib
import threading

from django.conf import settings

from billing import api_calls
from billing.cloudflare import BillingClient
from billing.cloudflare.budget import make_rate_limiter
from billing.models import Account

_lock = threading.Lock()
_clients: dict[tuple, BillingClient] = {}
_limiters: dict[tuple, object] = {}


def _limiter():
    key = (settings.REDIS_URL, settings.CLOUDFLARE_RATE_LIMIT, settings.CLOUDFLARE_RATE_PERIOD)
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = make_rate_limiter(
            settings.REDIS_URL or None, settings.CLOUDFLARE_RATE_LIMIT, settings.CLOUDFLARE_RATE_PERIOD
        )
        _limiters[key] = limiter
    return limiter


def client_for_token(token: str) -> BillingClient:
    """A client for this token, reused across calls (keep-alive), configured from settings."""
    fingerprint = hashlib.sha256(token.encode()).hexdigest()
    key = (
        fingerprint,
        settings.CLOUDFLARE_API_BASE_URL,
        settings.CLOUDFLARE_CONNECT_TIMEOUT,
        settings.CLOUDFLARE_READ_TIMEOUT,
        settings.CLOUDFLARE_MAX_RETRIES,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = BillingClient(
                token,
                base_url=settings.CLOUDFLARE_API_BASE_URL,
                timeout=(settings.CLOUDFLARE_CONNECT_TIMEOUT, settings.CLOUDFLARE_READ_TIMEOUT),
                max_retries=settings.CLOUDFLARE_MAX_RETRIES,
                rate_limiter=_limiter(),
                # Counts every HTTP attempt for /metrics and for the SyncRun that made it.
                on_call=api_calls.record_api_call,
            )
            _clients[key] = client
    return client


def client_for(account: Account) -> BillingClient:
    """The client for one account: its own token, else CLOUDFLARE_API_TOKEN."""
    return client_for_token(account.api_token())


def reset_clients() -> None:
    """Forget cached clients and limiters (tests that change settings call this)."""
    with _lock:
        _clients.clear()
        _limiters.clear()
