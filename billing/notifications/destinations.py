"""Where Slack and webhook channels may send: public internet addresses only, unless the operator allows
private ones (ALERT_ALLOW_PRIVATE_URLS, for receivers inside the company network or on loopback).

An admin types a channel's URL, and the portal's workers then POST alert bodies to it from inside the
network the portal runs in. Without this guard such a URL could reach what only that network should reach:
the cloud's metadata service (169.254.169.254), a database's HTTP port, an internal admin page. The address
is checked twice: when the channel is saved (so the admin is told at once) and just before every delivery
(a name may point elsewhere by then). Its messages name the host and the address, never the whole URL (a
Slack URL is a credential).

It imports nothing from Django: the caller says whether private addresses are allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class PrivateDestination(ValueError):
    """The URL's host is, or resolves to, an address that is not on the public internet."""


class UnresolvableHost(ValueError):
    """The URL's host has no address (yet): a delivery may be tried again later."""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHost(f"the host {host} could not be resolved") from None
    # An IPv6 scope ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    return (mapped or address).is_global and not address.is_multicast


def check(url: str) -> None:
    """Raises PrivateDestination when the URL's host is, or resolves to, any address that is not public,
    UnresolvableHost when it resolves to none."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in _addresses(host, port):
        if not _public(address):
            raise PrivateDestination(
                f"the host {host} is at {address}, which is not a public internet address"
            )
