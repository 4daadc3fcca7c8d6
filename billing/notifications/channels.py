"""Notification channels: their secrets and URLs (encrypted at rest), webhook signatures, and the delivery
of one Slack or webhook message through the HTTP seam (`transports`).

A webhook is signed: `X-Billing-Signature: t=<unix seconds>,v1=<hex>` where hex is HMAC-SHA256, keyed with
the channel's secret, of f"{t}.{body}". While a secret is being rotated the header carries one `v1=` per
valid secret (the new one first), so a receiver holding either accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urlsplit

from django.conf import settings

from billing.crypto import decrypt_token, encrypt_token
from billing.models import ChannelKind, NotificationChannel
from billing.notifications import transports

SIGNATURE_HEADER = "X-Billing-Signature"
DELIVERY_HEADER = "X-Billing-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def url_hint(url: str) -> str:
    """The host and the last four characters: enough to recognise a URL, not to use it."""
    host = urlsplit(url).hostname or "?"
    return f"{host} …{url[-4:]}"


def set_url(channel: NotificationChannel, url: str) -> None:
    channel.url_encrypted = encrypt_token(url)
    channel.url_hint = url_hint(url)


def url_of(channel: NotificationChannel) -> str:
    return decrypt_token(channel.url_encrypted)


def signing_secrets(channel: NotificationChannel) -> list[str]:
    """The secrets to sign with, newest first: two while a rotation is in progress."""
    found = [channel.secret_encrypted, channel.old_secret_encrypted]
    return [decrypt_token(ciphertext) for ciphertext in found if ciphertext]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(channel_secrets: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in channel_secrets)])


def encode(payload: dict) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys in a fixed order, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def timeouts() -> transports.Timeouts:
    return transports.Timeouts(settings.ALERT_HTTP_CONNECT_TIMEOUT, settings.ALERT_HTTP_READ_TIMEOUT)


def deliver(channel: NotificationChannel, payload: dict, delivery_id: int) -> int:
    """POSTs one Slack or webhook message; returns the HTTP status, raises transports.TransportError."""
    body = encode(payload)
    headers = {DELIVERY_HEADER: str(delivery_id)}
    if channel.kind == ChannelKind.WEBHOOK:
        headers[SIGNATURE_HEADER] = signature_header(signing_secrets(channel), int(time.time()), body)
    # The destination is judged where the connection is made (transports): a private address fails for good,
    # a name that does not resolve is tried again.
    return transports.post_json(
        url_of(channel),
        body,
        timeouts=timeouts(),
        headers=headers,
        allow_private=settings.ALERT_ALLOW_PRIVATE_URLS,
    )
