"""Where Slack and webhook channels may send: public internet addresses only, unless the operator allows
private ones (ALERT_ALLOW_PRIVATE_URLS, for receivers inside the company network or on loopback).

An admin types a channel's URL, and the portal's workers then POST alert bodies to it from inside the
network the portal runs in. Without this guard such a URL could reach what only that network should reach:
the cloud's metadata service (169.254.169.254), a database's HTTP port, an internal admin page.

Two rules close the ways around it:
- a URL that parsers could read differently (a backslash, user-info before the host, spaces or control
  characters) is refused when it is saved, so the host the admin was told about is the host connected to;
- the address is judged where the connection is made (`transports` calls `vetted_address` for the host the
  HTTP library is about to connect to, and connects to that very address): a name is resolved once, so it
  cannot point to a public address for the check and a private one for the connect.
An IPv6 address that carries an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) is judged by that
IPv4 address. Messages name the host and the address, never the whole URL (a Slack URL is a credential).

It imports nothing from Django: the caller says whether private addresses are allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix: the address in the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a /48 prefix, the address around bits 64-71
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible ::a.b.c.d
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")


class PrivateDestination(Exception):
    """The URL's host is, or resolves to, an address that is not on the public internet."""


class UnresolvableHost(Exception):
    """The URL's host has no address (yet): a delivery may be tried again later."""


class AmbiguousURL(Exception):
    """The URL could be read as naming two different hosts (a backslash, user-info, control characters)."""


def refuse_ambiguous(url: str) -> None:
    """Raises AmbiguousURL for a URL that HTTP libraries may read differently from the check."""
    if "\\" in url:
        raise AmbiguousURL("a URL may not contain a backslash")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise AmbiguousURL("a URL may not contain spaces or control characters")
    netloc = urlsplit(url).netloc
    if "@" in netloc:
        raise AmbiguousURL("a URL may not carry a user name or password before its host")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo's
    client), or None."""
    number = int(address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _COMPATIBLE and number > 1):
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address in _NAT64_LOCAL:
        # RFC 6052 §2.2 for a /48 prefix: 16 bits of the address, the zero "u" octet, then the other 16.
        packed = address.packed
        return ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    if address in _TEREDO and address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: Address) -> bool:
    """Whether the address is on the public internet; an IPv6 address carrying an IPv4 one is judged by it."""
    if address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            return carried.is_global and not carried.is_multicast
    return address.is_global


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHost(f"the host {host} could not be resolved") from None
    # An IPv6 scope ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def vetted_address(host: str, port: int, *, allow_private: bool) -> Address:
    """The one address to connect to for `host`, resolved once. Raises PrivateDestination when any address
    the host resolves to is not public (unless allowed), UnresolvableHost when it resolves to none."""
    addresses = _addresses(host, port)
    if not addresses:
        raise UnresolvableHost(f"the host {host} could not be resolved")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise PrivateDestination(
                    f"the host {host} is at {address}, which is not a public internet address"
                )
    return addresses[0]


def check(url: str, *, allow_private: bool = False) -> None:
    """Raises AmbiguousURL for a URL parsers may read differently, PrivateDestination when its host is, or
    resolves to, any address that is not public, UnresolvableHost when it resolves to none."""
    refuse_ambiguous(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    vetted_address(host, port, allow_private=allow_private)
