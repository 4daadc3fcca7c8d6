"""The one HTTP seam of notifications (Slack, webhooks, the dead man's switch ping): a POST or GET with a
connect and a read timeout, and one error type that says whether trying again can help.

It imports nothing from Django, and never puts a URL in a message or a log line: a Slack webhook URL *is* a
credential, and a webhook URL may carry one in its query.

Every request connects through `PinnedAdapter`: the host requests itself is about to connect to is resolved
once, judged (`destinations.vetted_address`), and the connection is made to that address, with the host kept
in the Host header and for TLS (SNI and the certificate check). No proxy from the environment is used: the
address judged is the address connected to.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import parse_url

from billing.notifications import destinations

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
    if value.isascii() and value.isdigit():
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


class PinnedAdapter(HTTPAdapter):
    """Connects to the address vetted for the request's host, resolved once, keeping the host name for the
    Host header, SNI and the certificate check."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(max_retries=0)
        self.allow_private = allow_private

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host = host_params["host"] or ""
        scheme = host_params["scheme"]
        port = host_params["port"] or (443 if scheme == "https" else 80)
        address = destinations.vetted_address(host, port, allow_private=self.allow_private)
        request.headers["Host"] = parse_url(request.url).netloc or host
        host_params["host"] = str(address)
        if scheme == "https":
            pool_kwargs["server_hostname"] = host  # type: ignore[typeddict-unknown-key]  # urllib3 takes it
            pool_kwargs["assert_hostname"] = host  # type: ignore[typeddict-unknown-key]
        return host_params, pool_kwargs


def _send(method: str, url: str, *, timeouts: Timeouts, body, headers, allow_private: bool):
    destinations.refuse_ambiguous(url)
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", PinnedAdapter(allow_private=allow_private))
        session.mount("https://", PinnedAdapter(allow_private=allow_private))
        return session.request(
            method,
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=(timeouts.connect, timeouts.read),
            allow_redirects=False,
        )


def request(
    method: str,
    url: str,
    *,
    timeouts: Timeouts,
    body: bytes | None = None,
    headers=None,
    allow_private: bool = False,
) -> int:
    """Sends one request to the URL's host, only if it is public (or `allow_private`); returns the 2xx
    status, raises TransportError for anything else (`permanent` for a private or ambiguous destination)."""
    try:
        response = _send(
            method, url, timeouts=timeouts, body=body, headers=headers, allow_private=allow_private
        )
    except (destinations.PrivateDestination, destinations.AmbiguousURL) as refused:
        hint = " (set ALERT_ALLOW_PRIVATE_URLS=true to allow private receivers)"
        extra = hint if isinstance(refused, destinations.PrivateDestination) else ""
        raise TransportError(f"not sent: {refused}{extra}", permanent=True) from None
    except destinations.UnresolvableHost as missing:
        raise TransportError(f"not sent: {missing}") from None
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


def post_json(url: str, body: bytes, *, timeouts: Timeouts, headers=None, allow_private: bool = False) -> int:
    """POSTs a JSON body; returns the 2xx status, raises TransportError."""
    return request(
        "POST",
        url,
        timeouts=timeouts,
        body=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        allow_private=allow_private,
    )
