"""SSRF guard for outgoing requests (webhooks): refuse URLs that reach inside the network.

    check_url(url, allow_private) -> None     raises UnsafeURL, or TransientError (DNS)

Every address the host resolves to must be public: loopback, private, link-local, CGNAT,
multicast, reserved and unspecified ranges are refused unless `allow_private` (local test
receivers). Cloud metadata endpoints are refused always: nothing legitimate lives there.
`check_url` checks at request time, not at connect time: a DNS answer that changes between
the two (rebinding) is not caught by it; the fetcher's connect-time guard (worker/http.py,
built on `unsafe_reason`) is.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from .errors import TransientError, UnsafeURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def unsafe_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why connecting to this address is refused, or None."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = mapped
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if allow_private:
        return None
    # Named ranges first: `is_global` alone lets multicast through (224.0.0.0/4 is "global").
    for kind in ("loopback", "link-local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            article = "an" if kind[0] in "aeiou" else "a"
            return f"{address} is {article} {kind} address"
    return None if address.is_global else f"{address} is not a public address"


def parse_address(value: str) -> IPAddress:
    """An address from getaddrinfo or a URL, without an IPv6 zone ("fe80::1%eth0")."""
    return ipaddress.ip_address(value.split("%")[0])


def check_url(url: str, allow_private: bool) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to any non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("only http(s) URLs with a host are allowed", input=url)
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL(f"bad port: {exc}", input=url) from exc
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TransientError(f"cannot resolve {host}: {exc}", input=url) from exc
        addresses = {parse_address(str(info[4][0])) for info in infos}
    for address in sorted(addresses, key=str):
        reason = unsafe_reason(address, allow_private=allow_private)
        if reason:
            raise UnsafeURL(f"refused: {host} resolves to {reason}", input=url)
