"""Fetch logic without I/O: address safety, canonical URLs, HTTP policy, feed parsing."""

from __future__ import annotations

import pytest

from pipelines.errors import InputRejected, RateLimited, TransientError, UnsafeURL
from pipelines.fetch import (
    canonical_url,
    check_page_type,
    check_status,
    http_url,
    parse_feed,
    robots_allows,
    robots_delay,
)
from pipelines.netguard import parse_address, unsafe_reason
from pipelines.retry import backoff, parse_retry_after
from tests.conftest import DATA

FEEDS = DATA / "feeds"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("fd12::1", "private"),
        ("169.254.10.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public"),
    ],
)
def test_unsafe_addresses_are_refused_with_the_reason(address: str, problem: str) -> None:
    reason = unsafe_reason(parse_address(address), allow_private=False)
    assert reason is not None and problem in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert unsafe_reason(parse_address(address), allow_private=False) is None


def test_private_networks_can_be_allowed_but_never_metadata() -> None:
    assert unsafe_reason(parse_address("127.0.0.1"), allow_private=True) is None
    assert unsafe_reason(parse_address("10.0.0.1"), allow_private=True) is None
    assert "metadata" in (unsafe_reason(parse_address("169.254.169.254"), allow_private=True) or "")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("169.254.170.2", "metadata"),  # ECS task credentials
        ("169.254.170.23", "metadata"),  # EKS pod identity
        ("fd00:ec2::23", "metadata"),  # EKS pod identity over IPv6
        ("192.0.0.192", "metadata"),  # Oracle Cloud
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("::ffff:169.254.169.254", "metadata"),  # IPv4-mapped
        ("::169.254.169.254", "metadata"),  # IPv4-compatible
        ("2002:a9fe:a9fe::1", "metadata"),  # 6to4
        ("64:ff9b::169.254.169.254", "metadata"),  # NAT64
        ("64:ff9b::169.254.3.4", "link-local"),
        ("2001:0:4136:e378:8000:63bf:5601:5601", "metadata"),  # Teredo, client 169.254.169.254
    ],
)
def test_credential_endpoints_and_link_local_are_refused_even_with_private_allowed(
    address: str, problem: str
) -> None:
    for allow_private in (True, False):
        reason = unsafe_reason(parse_address(address), allow_private=allow_private)
        assert reason is not None and problem in reason, (address, allow_private, reason)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
    ],
)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_carry(address: str, public: bool) -> None:
    reason = unsafe_reason(parse_address(address), allow_private=False)
    assert (reason is None) is public, reason
    # With private networks allowed, a private IPv4 inside is allowed like the plain one.
    assert unsafe_reason(parse_address(address), allow_private=True) is None


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "http:///nohost"]
)
def test_only_http_urls_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(UnsafeURL):
        http_url(url)


def test_canonical_url_drops_tracking_and_fragment_and_resolves() -> None:
    assert (
        canonical_url("/a/b.html?utm_source=x&id=3&fbclid=y#top", base="https://Example.COM/feed")
        == "https://example.com/a/b.html?id=3"
    )
    assert canonical_url("https://example.com/a?utm_medium=rss") == canonical_url(
        "https://example.com/a"
    )


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("120", now=0) == 120
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30) == 30
    assert parse_retry_after("soon", now=0) is None
    assert parse_retry_after(None, now=0) is None


def test_backoff_grows_is_jittered_and_capped() -> None:
    for retries, ceiling in [(0, 10), (1, 20), (2, 40), (9, 300)]:
        delays = {backoff(retries, base=10, cap=300) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimited), (503, RateLimited), (500, TransientError), (408, TransientError)],
)
def test_statuses_that_may_pass_are_transient(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_status(status, url="u", retry_after=None, now=0, max_wait=60)


def test_retry_after_is_honoured_and_capped() -> None:
    with pytest.raises(RateLimited) as info:
        check_status(429, url="u", retry_after="30", now=0, max_wait=3600)
    assert info.value.retry_after == 30
    with pytest.raises(RateLimited) as info:
        check_status(503, url="u", retry_after="999999", now=0, max_wait=3600)
    assert info.value.retry_after == 3600


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_rejections(status: int) -> None:
    with pytest.raises(InputRejected, match=f"HTTP {status}"):
        check_status(status, url="u", retry_after=None, now=0, max_wait=60)


def test_page_types() -> None:
    assert check_page_type("text/html; charset=ISO-8859-1", url="u") == "ISO-8859-1"
    assert check_page_type(None, url="u") is None
    with pytest.raises(InputRejected, match="application/pdf"):
        check_page_type("application/pdf", url="u")


def test_rss_entries_with_canonical_links_and_plain_summaries() -> None:
    feed = parse_feed((FEEDS / "rss2.xml").read_bytes(), url="https://wire.example.org/rss")
    assert feed.warning is None
    assert feed.skipped == 0
    (bad,) = feed.rejected  # the javascript: link, dead-lettered by the poll
    assert bad.problem is not None and "javascript" in bad.problem
    first, second = feed.entries
    assert first.entry_id == "wire-0001"
    assert (
        first.link
        == "https://wire.example.org/world/drone-deal.html?utm_source=rss&utm_medium=feed"
    )
    assert first.url == "https://wire.example.org/world/drone-deal.html"
    assert first.summary == "The ministry signed a contract."
    assert first.published == "2025-06-10T08:00:00Z"
    assert second.url == "https://wire.example.org/life/harvest.html"
    assert second.entry_id == second.url  # no guid: the URL identifies it
    assert second.summary is None


def test_atom_entries() -> None:
    feed = parse_feed((FEEDS / "atom.xml").read_bytes(), url="https://atom.example.net/feed")
    (entry,) = feed.entries
    assert (entry.entry_id, entry.url, entry.summary) == (
        "urn:atom-outlet:1",
        "https://atom.example.net/a/1",
        "Body of the atom story.",
    )


def test_malformed_xml_is_parsed_as_far_as_it_goes() -> None:
    feed = parse_feed((FEEDS / "truncated.xml").read_bytes(), url="https://broken.example.com/")
    assert feed.warning is not None
    assert [e.url for e in feed.entries][:1] == ["https://broken.example.com/1"]


def test_a_wrong_declared_encoding_still_reads() -> None:
    feed = parse_feed((FEEDS / "wrong-encoding.xml").read_bytes(), url="https://latin.example.com/")
    (entry,) = feed.entries
    assert entry.title == "Café reopens in the old town"
    assert entry.summary == "Crème brûlée again"


@pytest.mark.parametrize(
    "body", [b"", b"<html><body><p>Not a feed</p></body></html>", b"\x89PNG\r\n\x1a\n\x00\x00"]
)
def test_something_that_is_no_feed_is_a_clear_rejection(body: bytes) -> None:
    with pytest.raises(InputRejected, match="not a readable RSS or Atom feed"):
        parse_feed(body, url="https://x.example/feed")


def test_robots_rules_and_crawl_delay() -> None:
    robots = "User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n"
    ua = "armswatch/0.1 (news monitoring)"
    assert robots_allows(robots, "https://x.example/news/1", user_agent=ua)
    assert not robots_allows(robots, "https://x.example/private/1", user_agent=ua)
    assert robots_allows("", "https://x.example/private/1", user_agent=ua)
    assert robots_delay(robots, user_agent=ua) == 2.0
