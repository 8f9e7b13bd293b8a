"""Fetching without I/O: URL form and canonical form, HTTP policy, feed parsing (pure).

Which addresses are refused is pipelines/netguard.py; backoff and Retry-After are
pipelines/retry.py. The I/O around these (the guarded httpx transport, Redis state) is in
worker/http.py, worker/hosts.py and worker/live.py.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import courlan
import feedparser
import httpx
import lxml.html
from lxml.etree import ParserError
from protego import Protego

from .errors import InputRejected, RateLimited, TransientError, UnsafeURL
from .retry import parse_retry_after

SCHEMES = frozenset({"http", "https"})
# Pages we extract from; anything else (PDF, images, video) is not an article we can read.
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
# --- URLs -----------------------------------------------------------------


def http_url(url: str) -> str:
    """The URL if it is http(s) with a host; UnsafeURL otherwise (file:, ftp:, javascript:)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL: {exc}", input=url) from exc
    if parts.scheme.lower() not in SCHEMES:
        raise UnsafeURL(f"scheme {parts.scheme!r} is not fetched (http and https only)", input=url)
    if not host:
        raise UnsafeURL("no host in the URL", input=url)
    try:  # what the fetcher will parse: "http://0177.0.0.1/" passes urlsplit, not httpx
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeURL(f"malformed URL: {exc}", input=url) from exc
    return url


def canonical_url(url: str, *, base: str | None = None) -> str:
    """The URL in canonical form: absolute, lower-case host, tracking parameters and fragment
    dropped (courlan's strict normalisation), so one article has one URL."""
    absolute = urljoin(base, url.strip()) if base else url.strip()
    http_url(absolute)
    try:
        return str(courlan.normalize_url(absolute, strict=True))
    except (ValueError, AttributeError) as exc:
        raise InputRejected(f"URL cannot be normalised: {exc}", input=url) from exc


def digest(value: str) -> str:
    """A short stable hash for key names (URLs, entry ids)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:24]


def content_digest(data: bytes) -> str:
    """Hash of a response body: the fallback validator for servers that ignore ETags."""
    return hashlib.sha256(data).hexdigest()


def host_of(url: str) -> str:
    """host[:port] of a URL, the unit of politeness."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{host_of(url)}"


# --- HTTP policy ------------------------------------------------------------------------


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """('text/html', 'utf-8') from a Content-Type header; ('', None) when absent."""
    if not content_type:
        return "", None
    kind, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"' ") or None
    return kind.strip().lower(), charset


def check_page_type(content_type: str | None, *, url: str) -> str | None:
    """The declared charset of a page we can extract; InputRejected for other media types."""
    kind, charset = media_type(content_type)
    if kind and kind not in PAGE_TYPES:
        raise InputRejected(f"content type {kind!r} is not an article page", input=url)
    return charset


def check_status(
    status: int, *, url: str, retry_after: str | None, now: float, max_wait: float
) -> None:
    """Map an HTTP status to the error tree: 429/503 RateLimited, 408/5xx TransientError,
    other 4xx InputRejected; 2xx and 304 pass."""
    if 200 <= status < 300 or status == 304:
        return
    if status in (429, 503):
        wait = parse_retry_after(retry_after, now=now)
        raise RateLimited(
            f"HTTP {status}" + (f", Retry-After {wait:.0f} s" if wait is not None else ""),
            retry_after=min(wait or 0.0, max_wait),
            input=url,
        )
    if status == 408 or status >= 500:
        raise TransientError(f"HTTP {status}", input=url)
    raise InputRejected(f"HTTP {status}", input=url)


# --- robots.txt -------------------------------------------------------------------------


def robots_url(url: str) -> str:
    return f"{origin_of(url)}/robots.txt"


def robots_allows(robots_txt: str, url: str, *, user_agent: str) -> bool:
    """Whether robots.txt lets `user_agent` fetch `url` (an empty file allows everything)."""
    if not robots_txt.strip():
        return True
    return bool(Protego.parse(robots_txt).can_fetch(url, user_agent))


def robots_delay(robots_txt: str, *, user_agent: str) -> float | None:
    """The Crawl-delay robots.txt asks of `user_agent`, if any."""
    if not robots_txt.strip():
        return None
    delay = Protego.parse(robots_txt).crawl_delay(user_agent)
    return None if delay is None else float(delay)


# --- feeds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed: where the article is and what the feed says about it."""

    entry_id: str
    link: str  # as the feed gives it (absolute): what is fetched
    url: str  # canonical: what identifies the article
    title: str | None
    summary: str | None
    published: str | None
    # Why the link cannot be fetched (malformed, not http): the entry is dead-lettered.
    problem: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    # Set when the feed was malformed but entries could still be read (feedparser's bozo).
    warning: str | None = None
    skipped: int = 0  # entries without a link
    # Entries whose link is bad (each with its `problem`; `url` is the link as given).
    rejected: tuple[FeedEntry, ...] = ()


def html_to_text(fragment: str | None) -> str | None:
    """Plain text of an HTML fragment (feed summaries are often HTML)."""
    if not fragment or not fragment.strip():
        return None
    if "<" not in fragment:
        return fragment.strip()
    try:
        text = lxml.html.fromstring(fragment).text_content()
    except (ParserError, ValueError):
        return fragment.strip()
    return " ".join(text.split()) or None


def _iso(struct: time.struct_time | None) -> str | None:
    if not struct:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(struct)))


_ENTRY_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]", re.IGNORECASE)


def parse_feed(
    data: bytes, *, url: str, content_type: str | None = None, max_entries: int | None = None
) -> ParsedFeed:
    """Feed entries from the bytes of an RSS or Atom document; best effort on malformed XML,
    InputRejected when nothing in it reads as a feed or it holds over `max_entries` entries."""
    # feedparser holds ~1 KB per entry while it parses: a 10 MB feed of 200,000 bare items
    # would take 200 MB and 40 s. Counted before parsing (roughly: tags that open an entry).
    found = len(_ENTRY_TAG.findall(data)) if max_entries is not None else 0
    if max_entries is not None and found > max_entries:
        raise InputRejected(
            f"about {found:,} entries, more than max_feed_entries ({max_entries:,})", input=url
        )
    # Sanitising HTML and resolving relative URIs in content cost 3-4x the parse and we keep
    # only text and links; links are resolved against the feed URL below.
    kind, charset = media_type(content_type)
    if kind.startswith("text/") and charset is None:
        # RFC 7303 (which replaced RFC 3023): text/xml without a charset is read by its BOM
        # and XML declaration, not as us-ascii as feedparser still does (UTF-16 unreadable).
        content_type = "application/xml"
    parsed = feedparser.parse(
        data,
        response_headers={"content-type": content_type or "application/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    warning = f"{type(problem).__name__}: {problem}" if problem is not None else None
    # A feed feedparser recognised (its version, or a feed title) with no entries is an empty
    # feed, whatever it warned about (an undefined entity, text/xml carrying UTF-8).
    if not parsed.entries and not (parsed.get("version") or parsed.feed.get("title")):
        reason = warning or "no entries"
        raise InputRejected(f"not a readable RSS or Atom feed ({reason})", input=url)
    entries: list[FeedEntry] = []
    rejected: list[FeedEntry] = []
    skipped = 0
    for item in parsed.entries:
        entry = _entry(item, base=url)
        if entry is None:
            skipped += 1
        else:
            (rejected if entry.problem else entries).append(entry)
    return ParsedFeed(tuple(entries), warning=warning, skipped=skipped, rejected=tuple(rejected))


def _entry(item: dict[str, Any], *, base: str) -> FeedEntry | None:
    """One feed item as an entry (with its `problem` if its link is bad); None without a link."""
    link = item.get("link") or next(
        (ln.get("href") for ln in item.get("links", []) if ln.get("href")), None
    )
    if not link or not isinstance(link, str):
        return None
    problem = None
    try:
        absolute = urljoin(base, link.strip())
        canonical = canonical_url(absolute)
    # UnsafeURL too: a javascript: link is a bad entry, not a bad feed; ValueError: a
    # link urljoin cannot read ("http://[::1").
    except (InputRejected, ValueError) as exc:
        absolute = canonical = link.strip()
        problem = f"bad link: {exc.reason if isinstance(exc, InputRejected) else exc}"
    summary = item.get("summary") or next(
        (c.get("value") for c in item.get("content", []) if c.get("value")), None
    )
    return FeedEntry(
        entry_id=str(item.get("id") or canonical),
        link=absolute,
        url=canonical,
        title=html_to_text(item.get("title")),
        summary=html_to_text(summary),
        # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed
        # itself, with a DeprecationWarning.
        published=_iso(item.get("published_parsed") or dict.get(item, "updated_parsed")),
        problem=problem,
    )
