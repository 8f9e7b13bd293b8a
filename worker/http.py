"""HTTP for feeds, pages, robots.txt and webhooks: an httpx client that checks every address
it connects to and bounds every response, and a GET that follows redirects hop by hop.

The SSRF guard sits in the network backend, below httpx: the host is resolved once, every
address is checked, and the connection goes to the checked address, so neither a redirect
nor a DNS answer that changes between check and connect (rebinding) reaches a private,
loopback, link-local or metadata address.

The bounds sit in the transport, so no caller can read past them (`Limits`, per request or
the client's default):

    total time     from sending the request to the body's last byte, headers included:
                   every socket read waits at most until the deadline (a server trickling
                   its headers one byte a second is cut off like one that never answers)
    body bytes     counted after decoding, as they are inflated (a 2.6 KB `gzip, gzip` body
                   that expands to gigabytes stops at the cap, never held whole)
    ratio          decoded bytes per byte received, past the first megabyte
    headers        100 KB (httpcore's h11 buffer): more is a permanent rejection
    encodings      gzip and deflate only (all we ask for), at most four layers
"""

from __future__ import annotations

import contextvars
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from pipelines.errors import InputRejected, TransientError, UnsafeURL
from pipelines.fetch import http_url
from pipelines.netguard import parse_address, unsafe_reason

from .settings import Settings

# The deadline (time.monotonic) of the request this thread is reading, for every socket read.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
LIMITS = "armswatch.limits"  # the request extension that carries a request's `Limits`
ACCEPT_ENCODING = "gzip, deflate"  # what `_decoded` inflates with bounded steps
_MAX_ENCODINGS = 4
_STEP = 64 * 1024  # decoded bytes per inflate step: what one layer holds at a time
_RATIO_FLOOR = 1_000_000  # decoded bytes before the ratio is judged (small bodies vary)


@dataclass(frozen=True)
class Limits:
    """What one response may cost: decoded bytes, seconds in all, decompression ratio."""

    max_bytes: int
    total_timeout: float
    max_ratio: float | None = None  # None: the client's


def _remaining(timeout: float | None) -> float | None:
    """The socket timeout for the next step: the smaller of its own and the deadline's."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the response took longer than its total time limit")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream):
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self.inner.start_tls(ssl_context, server_hostname, _remaining(timeout))
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


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
                stream = super().connect_tcp(
                    address, port, _remaining(timeout), local_address, socket_options
                )
                return DeadlineStream(stream)
            except httpcore.ConnectError as exc:  # try the next address of the host
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")


class BoundedTransport(httpx.BaseTransport):
    """Applies `Limits` to every exchange: the deadline to each socket read (headers too),
    the byte cap and the ratio to the body as it is decoded here (httpx decodes nothing)."""

    def __init__(self, inner: httpx.BaseTransport, default: Limits):
        self.inner = inner
        self.default = default

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limits: Limits = request.extensions.get(LIMITS) or self.default
        if limits.max_ratio is None:
            limits = replace(limits, max_ratio=self.default.max_ratio or 100.0)
        url = str(request.url)
        deadline = time.monotonic() + limits.total_timeout
        token = _DEADLINE.set(deadline)
        try:
            response = self.inner.handle_request(request)
        except httpx.RemoteProtocolError as exc:
            # h11's own cap on a response head (httpcore sets 100 KB): the same next time.
            if "Receive buffer too long" in str(exc):
                raise InputRejected("response headers too large (over 100 KB)", input=url) from exc
            raise
        finally:
            _DEADLINE.reset(token)
        encodings = [
            e.strip().lower()
            for e in response.headers.get_list("content-encoding", split_commas=True)
            if e.strip() and e.strip().lower() != "identity"
        ]
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
        stream = BoundedStream(response.stream, encodings, limits, deadline=deadline, url=url)
        return httpx.Response(
            response.status_code, headers=headers, stream=stream, extensions=response.extensions
        )

    def close(self) -> None:
        self.inner.close()


class BoundedStream(httpx.SyncByteStream):
    """The body, decoded in bounded steps and cut off at the limits."""

    def __init__(
        self,
        raw: Any,
        encodings: list[str],
        limits: Limits,
        *,
        deadline: float,
        url: str,
    ):
        self.raw, self.encodings, self.limits = raw, encodings, limits
        self.deadline, self.url = deadline, url
        self.received = 0  # bytes off the wire

    def _wire(self) -> Iterator[bytes]:
        chunks = iter(self.raw)
        while True:
            token = _DEADLINE.set(self.deadline)
            try:
                chunk = next(chunks, None)
            finally:
                _DEADLINE.reset(token)
            if chunk is None:
                return
            self.received += len(chunk)
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        cap, ratio = self.limits.max_bytes, self.limits.max_ratio or 100.0
        decoded = 0
        for piece in _decoded(self._wire(), self.encodings, url=self.url):
            decoded += len(piece)
            if decoded > cap:  # stop reading: closing the stream drops the connection
                raise InputRejected(
                    f"body too large: over the limit of {cap:,} bytes", input=self.url
                )
            if decoded > _RATIO_FLOOR and decoded > ratio * max(self.received, 1):
                raise InputRejected(
                    f"body expands more than {ratio:g} times when decompressed", input=self.url
                )
            yield piece

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close is not None:
            close()


def _decoded(chunks: Iterable[bytes], encodings: list[str], *, url: str) -> Iterator[bytes]:
    """The body through its content encodings (the last applied is undone first)."""
    unknown = sorted(set(encodings) - {"gzip", "x-gzip", "deflate"})
    if unknown:
        raise InputRejected(f"content encoding {', '.join(unknown)} is not supported", input=url)
    if len(encodings) > _MAX_ENCODINGS:
        raise InputRejected(
            f"{len(encodings)} content encodings, at most {_MAX_ENCODINGS}", input=url
        )
    stream: Iterable[bytes] = chunks
    for encoding in reversed(encodings):
        stream = _inflate(stream, gzip=encoding != "deflate", url=url)
    yield from stream


def _inflate(chunks: Iterable[bytes], *, gzip: bool, url: str) -> Iterator[bytes]:
    """One layer of gzip or deflate, at most `_STEP` bytes out per step however small the
    input: a bomb is counted as it inflates, never inflated whole first."""
    inflater: Any = None
    try:
        for chunk in chunks:
            data = chunk
            while data:
                if inflater is None:  # deflate: zlib-wrapped per RFC 9110, raw from some
                    raw = -zlib.MAX_WBITS if not _zlib_header(data) else zlib.MAX_WBITS
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else raw)
                out = inflater.decompress(data, _STEP)
                data = inflater.unconsumed_tail
                if out:
                    yield out
                while len(out) == _STEP and not data:  # more pending from input already taken
                    out = inflater.decompress(b"", _STEP)
                    if out:
                        yield out
                    data = inflater.unconsumed_tail
                if inflater.eof:  # a next gzip member, or trailing bytes (ignored)
                    data, inflater = (inflater.unused_data, None) if gzip else (b"", inflater)
    except zlib.error as exc:
        kind = "gzip" if gzip else "deflate"
        raise InputRejected(f"the body is not valid {kind}: {exc}", input=url) from exc


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0


def make_client(
    settings: Settings,
    *,
    backend: GuardedBackend | None = None,
    limits: Limits | None = None,
) -> httpx.Client:
    """The client of one process: guarded transport, bounded responses (`limits` unless a
    request brings its own), timeouts, our User-Agent, no env proxies."""
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
    default = limits or Limits(
        max_bytes=max(settings.max_feed_bytes, settings.max_input_bytes),
        total_timeout=settings.http_total_timeout,
        max_ratio=settings.max_decompression_ratio,
    )
    return httpx.Client(
        transport=BoundedTransport(transport, default),
        timeout=httpx.Timeout(
            connect=settings.http_connect_timeout,
            read=settings.http_read_timeout,
            write=settings.http_read_timeout,
            pool=settings.http_connect_timeout,
        ),
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
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
    `check_hop` and the guarded transport), reading at most `max_bytes` of the decoded body,
    all hops within `total_timeout` seconds.

    Network failures and timeouts are TransientError; a body over the cap, a redirect loop
    or a bad redirect target is InputRejected; an unsafe address is UnsafeURL.
    """
    deadline = time.monotonic() + total_timeout
    current = http_url(url)
    for _ in range(max_redirects + 1):
        if check_hop is not None:
            check_hop(current)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransientError("the response took too long to arrive", input=current)
        limits = Limits(max_bytes=max_bytes, total_timeout=left)
        try:
            with client.stream(
                "GET", current, headers=dict(headers or {}), extensions={LIMITS: limits}
            ) as response:
                if response.is_redirect and "location" in response.headers:
                    current = http_url(urljoin(current, response.headers["location"]))
                    continue
                if check_headers is not None and 200 <= response.status_code < 300:
                    check_headers(response)
                body = _read_capped(response, max_bytes=max_bytes, url=current)
                return Response(current, response.status_code, response.headers, body)
        except UnsafeURL as exc:
            raise exc.at(input=current) from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out ({type(exc).__name__})", input=current) from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}", input=current) from exc
        except httpx.InvalidURL as exc:  # what urlsplit accepts and httpx does not
            raise UnsafeURL(f"malformed URL: {exc}", input=current) from exc
    raise InputRejected(f"more than {max_redirects} redirects", input=url)


def _read_capped(response: httpx.Response, *, max_bytes: int, url: str) -> bytes:
    """The body (the transport enforces the cap and the time while it is read)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InputRejected(
            f"body too large: {int(declared):,} bytes declared, the limit is {max_bytes:,}",
            input=url,
        )
    return b"".join(response.iter_bytes())
