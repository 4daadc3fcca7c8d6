"""The one HTTP seam of notifications (Slack, webhooks, the dead man's switch ping): a POST or GET with a
connect and a read timeout, and one error type that says whether trying again can help.

It imports nothing from Django, and never puts a URL in a message or a log line: a Slack webhook URL *is* a
credential, and a webhook URL may carry one in its query.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import requests

USER_AGENT = "aigateway-billing-portal/1"
# How much of a receiver's answer is kept as the reason of a failure.
REASON_CHARS = 200


class TransportError(Exception):
    """A delivery that did not succeed. `permanent`: retrying cannot help (a 4xx other than 408/429);
    `retry_after`: seconds the receiver asked us to wait (429/503 Retry-After), or None."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


def _reason(response: requests.Response) -> str:
    text = " ".join((response.text or "").split())[:REASON_CHARS]
    return f"HTTP {response.status_code} {response.reason or ''}".strip() + (f": {text}" if text else "")


def _check(response: requests.Response) -> int:
    status = response.status_code
    if 200 <= status < 300:
        return status
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (408, 425, 429) or status >= 500:
        raise TransportError(_reason(response), retry_after=retry_after)
    # 3xx (redirects are not followed: a moved hook is a configuration to mend) and every other 4xx.
    raise TransportError(_reason(response), permanent=True)


def request(method: str, url: str, *, timeouts: Timeouts, body: bytes | None = None, headers=None) -> int:
    """Sends one request; returns the 2xx status, raises TransportError for anything else."""
    try:
        response = requests.request(
            method,
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=(timeouts.connect, timeouts.read),
            allow_redirects=False,
        )
    except requests.Timeout:
        limits = f"connect {timeouts.connect:g} s, read {timeouts.read:g} s"
        raise TransportError(f"timed out ({limits})") from None
    except requests.ConnectionError:
        raise TransportError("connection failed (the receiver is down or unreachable)") from None
    except requests.RequestException as error:
        # requests' messages name the URL: only the class is reported.
        raise TransportError(f"request failed: {type(error).__name__}") from None
    with response:
        return _check(response)


def post_json(url: str, body: bytes, *, timeouts: Timeouts, headers=None) -> int:
    """POSTs a JSON body; returns the 2xx status, raises TransportError."""
    return request(
        "POST",
        url,
        timeouts=timeouts,
        body=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
