"""Hostile servers: every response is bounded in decoded bytes, total time (headers too),
decompression ratio and header size, for feeds, pages, robots.txt and webhooks alike
(worker/http.py). Loopback servers only."""

from __future__ import annotations

import gzip
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from newssite import NewsSite, Reply, page
from pipelines.errors import InputRejected, TransientError
from pipelines.fetch import parse_feed
from pipelines.webhooks import deliver
from tests.conftest import ROOT
from tests.sitegen import filler_article
from worker import http
from worker.context import Context
from worker.live import Job, fetch_article

RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>http://example.org/1</link></item></channel></rss>"""


def _gzip_bomb(mib: int) -> bytes:
    """`mib` MiB of zeros gzipped twice: a few KB on the wire (Content-Encoding: gzip, gzip).
    Built by repeating one fully flushed deflate block (each one is the same bytes), so it
    takes a second, not the 17 of compressing a GiB."""
    block = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    one = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)
    return gzip.compress(header + one * mib + deflate.flush() + trailer, 9)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _gzip_bomb(1024)  # 1 GiB of zeros


class Trickle:
    """A raw server that sends its response head one byte at a time, `gap` seconds apart,
    and never finishes (the old client waited on it for ever: each byte reset the read
    timeout)."""

    def __init__(self, gap: float = 0.1):
        self.gap = gap
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000
        with conn:
            conn.recv(65536)
            for byte in head:
                if self.stop.wait(self.gap):
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def trickle() -> Iterator[Trickle]:
    server = Trickle()
    yield server
    server.close()


def _get(ctx: Context, url: str) -> http.Response:
    s = ctx.settings
    return http.get(
        ctx.fetcher,
        url,
        max_bytes=s.max_feed_bytes,
        max_redirects=s.max_redirects,
        total_timeout=s.http_total_timeout,
    )


def test_a_gzip_gzip_bomb_is_stopped_at_the_cap_as_it_inflates(
    ctx: Context, site: NewsSite, bomb: bytes
) -> None:
    assert len(bomb) < 10_000
    site.routes["/feed.xml"] = Reply(
        body=bomb, headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip, gzip"}
    )
    with pytest.raises(InputRejected, match=r"over the limit of 1,000,000 bytes|expands more"):
        _get(ctx, f"{site.url}/feed.xml")


def test_the_decompression_ratio_is_bounded_under_the_byte_cap(
    ctx: Context, site: NewsSite
) -> None:
    body = gzip.compress(b"<p>" + b" " * 3_000_000 + b"</p>")  # 3 MB from 3 KB
    site.routes["/page.html"] = Reply(body=body, headers={"Content-Encoding": "gzip"})
    s = ctx.settings
    with pytest.raises(InputRejected, match="expands more than 100 times"):
        http.get(
            ctx.fetcher, f"{site.url}/page.html", max_bytes=5_000_000, max_redirects=0,
            total_timeout=s.http_total_timeout,
        )  # fmt: skip


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "gzip, gzip"])
def test_honest_compressed_bodies_are_decoded(ctx: Context, site: NewsSite, encoding: str) -> None:
    body, header = RSS, encoding
    if encoding == "deflate-raw":  # raw deflate, as some servers send for "deflate"
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, header = packer.compress(RSS) + packer.flush(), "deflate"
    elif encoding == "deflate":
        body = zlib.compress(RSS)
    else:
        for _ in encoding.split(","):
            body = gzip.compress(body)
    site.routes["/feed.xml"] = Reply(body=body, headers={"Content-Encoding": header})
    assert _get(ctx, f"{site.url}/feed.xml").body == RSS


def test_two_gzip_members_are_one_body(ctx: Context, site: NewsSite) -> None:
    site.routes["/feed.xml"] = Reply(
        body=gzip.compress(RSS[:50]) + gzip.compress(RSS[50:]), headers={"Content-Encoding": "gzip"}
    )
    assert _get(ctx, f"{site.url}/feed.xml").body == RSS


@pytest.mark.parametrize(
    ("encoding", "reason"), [("br", "content encoding br is not supported"), ("gzip", "not valid")]
)
def test_an_undecodable_body_is_rejected_with_the_reason(
    ctx: Context, site: NewsSite, encoding: str, reason: str
) -> None:
    site.routes["/feed.xml"] = Reply(body=b"not compressed", headers={"Content-Encoding": encoding})
    with pytest.raises(InputRejected, match=reason):
        _get(ctx, f"{site.url}/feed.xml")


@pytest.mark.timeout(60)
def test_headers_trickled_a_byte_at_a_time_time_out(ctx: Context, trickle: Trickle) -> None:
    # Each byte comes within the read timeout (0.5 s): only the total limit (5 s) ends it.
    with pytest.raises(TransientError, match="timed out"):
        _get(ctx, f"{trickle.url}/feed.xml")


def test_a_10_mb_response_header_is_a_permanent_rejection(ctx: Context, site: NewsSite) -> None:
    site.routes["/feed.xml"] = Reply(body=RSS, headers={"X-Huge": "a" * 10_000_000})
    with pytest.raises(InputRejected, match="response headers too large"):
        _get(ctx, f"{site.url}/feed.xml")


def _endless() -> Iterator[bytes]:
    block = b"x" * 65536
    for _ in range(1_000_000):  # 65 GB: more than any test waits for
        yield block


def _hook(ctx: Context, url: str) -> int:
    return deliver(
        ctx.http, url=url, body="{}", msg_id="m", key=b"k", timestamp=int(time.time()),
        allow_private=True,
    )  # fmt: skip


@pytest.mark.timeout(60)
def test_a_webhook_receiver_with_an_endless_body_is_not_read(ctx: Context, site: NewsSite) -> None:
    site.routes["/hook"] = lambda _: Reply(body=_endless())
    assert _hook(ctx, f"{site.url}/hook") == 200
    assert site.sent.get("/hook", 0) < 50_000_000  # closed unread, not drained


@pytest.mark.timeout(60)
def test_a_webhook_receiver_trickling_its_headers_times_out(ctx: Context, trickle: Trickle) -> None:
    ctx.http.timeout = 0.5  # per read, as for feeds: only the total limit ends it
    with pytest.raises(TransientError):
        _hook(ctx, f"{trickle.url}/hook")


def test_a_webhook_receiver_with_a_10_mb_header_is_rejected(ctx: Context, site: NewsSite) -> None:
    site.routes["/hook"] = Reply(headers={"X-Huge": "a" * 10_000_000})
    with pytest.raises(InputRejected, match="response headers too large"):
        _hook(ctx, f"{site.url}/hook")


def _many_entries(count: int) -> bytes:
    items = "".join(f"<item><link>http://example.org/{n}</link></item>" for n in range(count))
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


def test_a_feed_of_200000_entries_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(InputRejected, match=r"about 200,000 entries, more than max_feed_entries"):
        parse_feed(_many_entries(200_000), url="u", max_entries=50_000)
    assert len(parse_feed(_many_entries(500), url="u", max_entries=500).entries) == 500


# Every hostile case in one process, as a worker meets them: its peak RSS stays bounded.
_MEMORY_SCRIPT = r"""
import json, re, sys, time
from pipelines.errors import ArmswatchError
from pipelines.fetch import parse_feed
from pipelines.webhooks import deliver
from worker import http
from worker.context import Context
from worker.settings import Settings

args = json.loads(sys.argv[1])
settings = Settings.load(**args["settings"])
ctx = Context(settings=settings, redis_url="redis://127.0.0.1:1")
ctx.tagger.nlp("Warm up.")  # the worker as it runs: the model loaded


def peak_kb():
    # VmHWM, not getrusage's ru_maxrss: Linux carries the forking parent's peak (pytest's,
    # hundreds of MB) over the exec into ru_maxrss.
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


before = peak_kb()
outcomes = {}
for name, url in args["get"].items():
    try:
        got = http.get(ctx.fetcher, url, max_bytes=settings.max_feed_bytes, max_redirects=0,
                       total_timeout=settings.http_total_timeout)
        parse_feed(got.body, url=url, max_entries=settings.max_feed_entries)
        outcomes[name] = "read"
    except ArmswatchError as exc:
        outcomes[name] = type(exc).__name__
for name, url in args["post"].items():
    try:
        outcomes[name] = deliver(ctx.http, url=url, body="{}", msg_id="m", key=b"k",
                                 timestamp=int(time.time()), allow_private=True)
    except ArmswatchError as exc:
        outcomes[name] = type(exc).__name__
peak = peak_kb()
print(json.dumps({"before_kb": before, "peak_kb": peak, "outcomes": outcomes}))
"""


@pytest.mark.timeout(240)
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM (Linux)")
def test_a_worker_process_stays_small_under_every_hostile_case(
    site: NewsSite, trickle: Trickle, bomb: bytes, tmp_path
) -> None:
    site.routes["/bomb.xml"] = Reply(body=bomb, headers={"Content-Encoding": "gzip, gzip"})
    site.routes["/huge-header"] = Reply(body=RSS, headers={"X-Huge": "a" * 10_000_000})
    site.routes["/endless"] = lambda _: Reply(body=_endless())
    site.routes["/hook"] = lambda _: Reply(body=_endless())
    site.routes["/huge-feed.xml"] = Reply(body=_many_entries(200_000))  # 8.9 MB
    settings = {
        "config_dir": str(tmp_path),
        "allow_private_networks": True,
        "http_read_timeout": 0.5,
        "http_total_timeout": 5.0,
        "webhook_timeout": 5.0,
        # The defaults' caps: 10 MB feeds, 5 MB pages.
    }
    args = {
        "settings": settings,
        "get": {
            "bomb": f"{site.url}/bomb.xml",
            "huge_header": f"{site.url}/huge-header",
            "endless": f"{site.url}/endless",
            "trickle": f"{trickle.url}/feed.xml",
            "huge_feed": f"{site.url}/huge-feed.xml",
        },
        "post": {"hook_endless": f"{site.url}/hook", "hook_trickle": f"{trickle.url}/hook"},
    }
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["outcomes"] == {
        "bomb": "InputRejected",
        "huge_header": "InputRejected",
        "endless": "InputRejected",
        "trickle": "TransientError",
        "hook_endless": 200,
        "hook_trickle": "TransientError",
        "huge_feed": "InputRejected",
    }
    grown_mb = (result["peak_kb"] - result["before_kb"]) / 1024
    # A 10 MB body, read whole, is the most any case may hold (twice, while it is joined).
    assert grown_mb < 60, result
    assert result["peak_kb"] / 1024 < 500, result


def test_a_robots_txt_bomb_counts_as_no_robots_txt(
    ctx: Context, site: NewsSite, bomb: bytes
) -> None:
    story = filler_article(1, seed=31)
    site.routes["/robots.txt"] = Reply(body=bomb, headers={"Content-Encoding": "gzip, gzip"})
    site.routes["/story.html"] = Reply(body=page(story), headers={"Content-Type": "text/html"})
    link = f"{site.url}/story.html"
    outcome = fetch_article(ctx, Job(feed="local", entry_id="r", link=link, url=link))
    assert (outcome.status, outcome.extraction) == ("published", "html")
    assert site.hits("/robots.txt") == 1
