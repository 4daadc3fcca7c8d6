"""Counts failed log-ins per username and per client address, and refuses more once past the limit."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    return [f"login-fail:user:{name}", f"login-fail:addr:{address}"]


def is_locked(username: str, address: str) -> bool:
    """True when either the username or the address has failed too often within the window."""
    counts = cache.get_many(_keys(username, address))
    return any(count >= settings.LOGIN_MAX_FAILURES for count in counts.values())


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        if cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def clear(username: str, address: str) -> None:
    cache.delete_many(_keys(username, address))
