"""SSRF guard for outgoing requests (webhooks): refuse URLs that reach inside the network.

    check_url(url, allow_private) -> None     raises UnsafeURL, or TransientError (DNS)

Every address the host resolves to must be public: loopback, private, CGNAT, multicast,
reserved and unspecified ranges are refused unless `allow_private` (local test receivers).
Cloud credential endpoints and all of link-local are refused always: nothing we fetch
lives there. An IPv6 address that carries an IPv4 one (mapped, compatible, 6to4, Teredo,
NAT64) is judged by the IPv4 address it carries.
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

# Credential endpoints: AWS/GCP/Azure/OpenStack (and AWS over IPv6), ECS task roles, EKS
# pod identity (v4 and v6), Alibaba, Oracle Cloud. Refused even with private networks
# allowed, like all of link-local (169.254.0.0/16 and fe80::/10, where they live).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::23",
        "100.100.100.200",
        "192.0.0.192",
    )
)
_ALWAYS_REFUSED = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64):
    a connection to it reaches them, so they are what is judged."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    if address.ipv4_mapped is not None:  # ::ffff:127.0.0.1
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:  # 2002:7f00:1::
        return (address.sixtofour,)
    if address.teredo is not None:  # 2001:0:SERVER:..:CLIENT (the client obfuscated)
        return address.teredo
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in _NAT64):  # 64:ff9b::169.254.169.254
        return (low,)
    # ::127.0.0.1 (deprecated IPv4-compatible); :: and ::1 are themselves.
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return (low,)
    return ()


def unsafe_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why connecting to this address is refused, or None."""
    inner = embedded_ipv4(address)
    if inner:
        reasons = (unsafe_reason(a, allow_private=allow_private) for a in inner)
        found = next((r for r in reasons if r), None)
        return f"{address} embeds {found}" if found else None
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if any(address in net for net in _ALWAYS_REFUSED):
        return f"{address} is a link-local address (where cloud metadata lives)"
    if allow_private:
        return None
    # Named ranges first: `is_global` alone lets multicast through (224.0.0.0/4 is "global").
    for kind in ("loopback", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
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
