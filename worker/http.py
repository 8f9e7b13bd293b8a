"""HTTP for feeds and pages: an httpx client that checks every address it connects to, and
a bounded GET (timeouts, body cap, redirects checked hop by hop).

The SSRF guard sits in the network backend, below httpx: the host is resolved once, every
address is checked, and the connection goes to the checked address, so neither a redirect
nor a DNS answer that changes between check and connect (rebinding) reaches a private,
loopback, link-local or metadata address.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from pipelines.errors import InputRejected, TransientError, UnsafeURL
from pipelines.fetch import http_url
from pipelines.netguard import parse_address, unsafe_reason

from .settings import Settings


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, refuses unsafe addresses, and connects to the address it checked."""

    def __init__(self, *, allow_private: bool):
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            problem = unsafe_reason(parse_address(address), allow_private=self.allow_private)
            if problem:
                raise UnsafeURL(f"refused: {host} resolves to {problem}")
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next address of the host
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")


def make_client(settings: Settings, *, backend: GuardedBackend | None = None) -> httpx.Client:
    """The client of one process: guarded transport, timeouts, our User-Agent, no env proxies."""
    backend = backend or GuardedBackend(allow_private=settings.allow_private_networks)
    transport = httpx.HTTPTransport(trust_env=False)
    # Swap in a pool on the guarded backend; the transport keeps its error mapping.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(
            connect=settings.http_connect_timeout,
            read=settings.http_read_timeout,
            write=settings.http_read_timeout,
            pool=settings.http_connect_timeout,
        ),
        headers={"User-Agent": settings.user_agent},
        follow_redirects=False,  # each hop is checked in `get`
        trust_env=False,
    )


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes


def get(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    max_redirects: int,
    total_timeout: float,
    headers: Mapping[str, str] | None = None,
    check_hop: Callable[[str], None] | None = None,
    check_headers: Callable[[httpx.Response], None] | None = None,
) -> Response:
    """GET `url`, following at most `max_redirects` redirects (each hop checked by `http_url`,
    `check_hop` and the guarded transport), reading at most `max_bytes` of the body.

    Network failures and timeouts are TransientError; a body over the cap, a redirect loop
    or a bad redirect target is InputRejected; an unsafe address is UnsafeURL.
    """
    deadline = time.monotonic() + total_timeout
    current = http_url(url)
    for _ in range(max_redirects + 1):
        if check_hop is not None:
            check_hop(current)
        try:
            with client.stream("GET", current, headers=dict(headers or {})) as response:
                if response.is_redirect and "location" in response.headers:
                    current = http_url(urljoin(current, response.headers["location"]))
                    continue
                if check_headers is not None and 200 <= response.status_code < 300:
                    check_headers(response)
                body = _read_capped(response, max_bytes=max_bytes, deadline=deadline, url=current)
                return Response(current, response.status_code, response.headers, body)
        except UnsafeURL as exc:
            raise exc.at(input=current) from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out ({type(exc).__name__})", input=current) from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}", input=current) from exc
    raise InputRejected(f"more than {max_redirects} redirects", input=url)


def _read_capped(response: httpx.Response, *, max_bytes: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InputRejected(
            f"body too large: {int(declared):,} bytes declared, the limit is {max_bytes:,}",
            input=url,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:  # stop reading: closing the stream drops the connection
            raise InputRejected(f"body too large: over the limit of {max_bytes:,} bytes", input=url)
        if time.monotonic() > deadline:
            raise TransientError("the response took too long to arrive", input=url)
        chunks.append(chunk)
    return b"".join(chunks)
