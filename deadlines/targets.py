"""Where a webhook may be sent: hosts whose every address is public.

A subscription to 169.254.169.254 (a cloud's metadata service), 127.0.0.1:6379 (our
own Redis) or 10.x (the internal network) would make the tracker POST into places
only it can reach. The host is resolved and each address judged, when the
subscription is saved and again before every delivery (a name may change where it
points in between). WEBHOOK_ALLOW_PRIVATE_TARGETS lets them through, for a receiver
on the same machine or network (development, tests).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class Unresolvable(Exception):
    """The host has no address now (it may later: delivery checks again)."""


def addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address `host` resolves to (a literal address is itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"{host} does not resolve: {exc}") from None
    # An IPv6 scope ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_global and not address.is_multicast


def refusal(url: str) -> str | None:
    """Why a webhook must not be sent to `url`, or None when it may.

    Raises Unresolvable when the host has no address now."""
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "The URL cannot be parsed."
    if not host:
        return "The URL names no host."
    for address in addresses(host):
        if not _public(address):
            return (
                f"{host} is {address}, a private, loopback, link-local or reserved "
                "address: webhooks go to public addresses only."
            )
    return None
