"""A small news site on loopback: an RSS feed plus one HTML page per story.

`armswatch replay --via-http` serves the seed corpus with it and runs the live path against
it; the tests serve feeds, pages and faults (errors, hangs, huge bodies, redirects) with it.
"""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pipelines.clean import clean, default_rules
from pipelines.decode import decode
from pipelines.extract import extract, looks_like_html
from pipelines.record import Source, Story


@dataclass(frozen=True)
class Reply:
    """What the site answers; `body` may be an iterable of chunks (streamed, no length)."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: bool = False  # accept the request and never answer (until the site stops)


@dataclass(frozen=True)
class Request:
    path: str  # with the query
    headers: Mapping[str, str]
    count: int  # how many times this path was asked for, this one included


Route = Reply | Callable[[Request], Reply]
HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}


class NewsSite:
    """A threaded HTTP server on 127.0.0.1 answering from a table of routes."""

    def __init__(self, routes: Mapping[str, Route] | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self.sent: dict[str, int] = {}  # body bytes written per path
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> NewsSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def hits(self, path: str) -> int:
        """How many requests asked for `path` (the query ignored)."""
        with self._lock:
            return sum(1 for r in self.requests if urlsplit(r.path).path == path)

    def _answer(self, path: str, headers: Mapping[str, str]) -> Reply:
        with self._lock:
            count = sum(1 for r in self.requests if r.path == path) + 1
            request = Request(path, headers, count)
            self.requests.append(request)
        # Routes are keyed by the decoded path: /stories/café.html is asked for quoted.
        route = self.routes.get(path) or self.routes.get(unquote(urlsplit(path).path))
        if route is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        return route(request) if callable(route) else route

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = site._answer(self.path, {k.lower(): v for k, v in self.headers.items()})
                if reply.hang:
                    site._stop.wait(60)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if isinstance(reply.body, bytes):
                        if "content-length" not in {k.lower() for k in reply.headers}:
                            self.send_header("Content-Length", str(len(reply.body)))
                        self.end_headers()
                        self._write(reply.body)
                    else:
                        self.end_headers()
                        for chunk in reply.body:
                            self._write(chunk)

            def do_POST(self) -> None:  # webhook receivers in the tests: answered like GET
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.do_GET()

            def _write(self, data: bytes) -> None:
                self.wfile.write(data)
                with site._lock:
                    site.sent[self.path] = site.sent.get(self.path, 0) + len(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        return Handler


# --- pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    text: str  # paragraphs separated by blank lines
    published: str | None = None  # RFC 822 date for the feed
    summary: str | None = None


def page(article: Article, *, outlet: str = "The Loopback Times") -> bytes:
    """An article page with the usual furniture around the story."""
    paragraphs = "\n".join(
        f"<p>{html.escape(p.strip())}</p>" for p in article.text.split("\n\n") if p.strip()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(article.title)}</title></head>
<body>
<header><nav><a href="/">Home</a> <a href="/world">World</a>
<a href="/business">Business</a></nav></header>
<main><article>
<h1>{html.escape(article.title)}</h1>
{paragraphs}
</article></main>
<footer><p>&copy; {html.escape(outlet)}. All rights reserved.</p></footer>
</body></html>
""".encode()


def rss(base_url: str, articles: Sequence[Article], *, title: str = "Loopback news") -> bytes:
    """An RSS 2.0 feed of the articles, linking to /stories/<slug>.html (quoted)."""
    items = "\n".join(
        f"""<item><title>{html.escape(a.title)}</title>
<link>{_story_url(base_url, a)}</link><guid>{_story_url(base_url, a)}</guid>
<pubDate>{a.published or formatdate(0, usegmt=True)}</pubDate>
<description>{html.escape(_summary(a))}</description></item>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{html.escape(title)}</title><link>{base_url}/</link>
<description>{html.escape(title)}</description>
{items}
</channel></rss>
""".encode()


def _story_url(base_url: str, article: Article) -> str:
    return f"{base_url}/stories/{quote(article.slug)}.html"


def _summary(article: Article) -> str:
    return article.summary if article.summary is not None else article.text[:300]


def publish_site(
    site: NewsSite, articles: Sequence[Article], *, feed_path: str = "/feed.xml"
) -> str:
    """Add the articles and their feed to the site; returns the feed's URL."""
    for a in articles:
        site.routes[f"/stories/{a.slug}.html"] = Reply(body=page(a), headers=HTML_TYPE)
    site.routes[feed_path] = Reply(
        body=rss(site.url, articles), headers={"Content-Type": "application/rss+xml"}
    )
    return site.url + feed_path


def articles_from_files(paths: Sequence[Path], *, max_bytes: int) -> Iterator[Article]:
    """One Article per story of each file (a file may hold several)."""
    rules = default_rules()
    for path in paths:
        with path.open("rb") as f:  # no further than the limit: /dev/zero has no end
            text = decode(f.read(max_bytes + 1), name=str(path), max_bytes=max_bytes)
        raw_format = "html" if looks_like_html(text) else "text"
        story = extract(
            Story(source=Source(kind="file", path=str(path)), raw=text, raw_format=raw_format)
        )
        for s in clean(story, rules=rules):
            yield Article(
                slug=f"{path.stem}-{s.story_index}",
                title=s.title or path.stem,
                text=s.text,
            )
