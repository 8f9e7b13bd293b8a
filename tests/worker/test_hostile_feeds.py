"""Hostile and mistaken feeds and pages: bad links, huge feeds, empty feeds with harmless
warnings, stray bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from newssite import Article, NewsSite, Reply, articles_from_files, page, publish_site
from pipelines.fetch import FeedEntry, parse_feed
from pipelines.keys import Keys
from pipelines.record import Source
from tests.sitegen import filler_article
from worker.celery_app import ArmswatchApp
from worker.context import Context
from worker.feeds import Feed, FeedState
from worker.live import Job, fetch_article, poll_feed, run_once

KEYS = Keys("armswatch:")
HTML = {"Content-Type": "text/html; charset=utf-8"}
BAD_LINKS = ["http://0177.0.0.1/x", "http://127.000.000.001/x", "javascript:alert(1)"]


def _rss(links: list[str], *, title: str = "Links") -> bytes:
    items = "".join(
        f"<item><title>Entry {n}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>Summary {n}.</description></item>"
        for n, link in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"{items}</channel></rss>"
    ).encode()


def test_bad_links_are_entries_to_reject_not_a_bad_feed() -> None:
    feed = parse_feed(_rss(["http://example.org/a", *BAD_LINKS]), url="http://example.org/f")
    assert [e.url for e in feed.entries] == ["http://example.org/a"]
    problems = {e.link: e.problem or "" for e in feed.rejected}
    assert set(problems) == set(BAD_LINKS)
    assert "Invalid IPv4 address" in problems["http://0177.0.0.1/x"]
    assert "scheme 'javascript'" in problems["javascript:alert(1)"]


def dead_letters(client: redis.Redis) -> list[dict[str, Any]]:
    return [{k.decode(): v.decode() for k, v in f.items()} for _, f in client.xrange(KEYS.dlq)]


def test_a_link_httpx_cannot_parse_is_a_dead_letter_and_the_entries_after_it_are_fetched(
    ctx: Context, site: NewsSite, redis_url: str
) -> None:
    before, after = filler_article(1, seed=7), filler_article(2, seed=7)
    for a in (before, after):
        site.routes[f"/stories/{a.slug}.html"] = Reply(body=page(a), headers=HTML)
    links = [f"{site.url}/stories/{before.slug}.html", *BAD_LINKS[:2]]
    site.routes["/feed.xml"] = Reply(body=_rss([*links, f"{site.url}/stories/{after.slug}.html"]))
    feed = Feed(name="links", url=f"{site.url}/feed.xml")
    report = run_once(ctx, [feed])
    assert [f.status for f in report.feeds] == ["ok"]
    outcomes = {a.input: a.status for a in report.articles}
    assert outcomes == {
        links[0]: "published",
        BAD_LINKS[0]: "rejected",
        BAD_LINKS[1]: "rejected",
        f"{site.url}/stories/{after.slug}.html": "published",
    }
    client = redis.Redis.from_url(redis_url)
    dead = dead_letters(client)
    assert {d["input"] for d in dead} == set(BAD_LINKS[:2])
    assert all("malformed URL" in d["error"] and d["stage"] == "poll" for d in dead)
    assert json.loads(dead[0]["payload"])["feed"] == "links"  # re-drivable as an entry
    # The feed changes (a new entry): the bad ones are not dead-lettered again.
    site.routes["/feed.xml"] = Reply(body=_rss([*links, "http://example.invalid/new"]))
    again = run_once(ctx, [feed])
    assert [a.input for a in again.articles] == ["http://example.invalid/new"]
    assert len(dead_letters(client)) == 2  # (the new one fell back to its summary)


@pytest.mark.timeout(90)
def test_taking_the_entries_of_a_huge_feed_is_linear(ctx: Context) -> None:
    # 50,000 entries: the quadratic membership test took ~3 minutes over these (20,000: 31 s).
    entries = [
        FeedEntry(f"e{n}", f"http://example.org/{n}", f"http://example.org/{n}", None, None, None)
        for n in range(50_000)
    ]
    source = Source(kind="feed", feed="big")
    assert len(ctx.seen.take_entries("big", entries, source)) == 50_000
    assert ctx.seen.take_entries("mirror", entries, source) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # An undefined entity: feedparser warns, and reads version and title all the same.
        (b'<rss version="2.0"><channel><title>Quiet &nbsp; wire</title></channel></rss>', None),
        # text/xml carrying UTF-8 (feedparser warns: text/xml means us-ascii).
        (
            '<rss version="2.0"><channel><title>Caf\u00e9</title></channel></rss>'.encode(),
            "text/xml",
        ),
        (
            '<?xml version="1.0" encoding="utf-16"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Atom</title></feed>".encode("utf-16"),
            "text/xml",
        ),
    ],
)
def test_an_empty_feed_with_a_harmless_warning_is_an_empty_poll(
    ctx: Context, site: NewsSite, redis_url: str, body: bytes, content_type: str | None
) -> None:
    site.routes["/feed.xml"] = Reply(
        body=body, headers={"Content-Type": content_type or "application/rss+xml"}
    )
    feed = Feed(name="quiet", url=f"{site.url}/feed.xml")
    report = poll_feed(ctx, feed)
    assert (report.status, report.jobs, report.error) == ("ok", (), None)
    state = FeedState.load(redis.Redis.from_url(redis_url), KEYS, "quiet")
    assert (state.failures, state.last_error) == (0, "")


def test_a_web_page_is_still_not_a_feed() -> None:
    with pytest.raises(Exception, match="not a readable RSS or Atom feed"):
        parse_feed(b"<html><head><title>Home</title></head><body>Hi</body></html>", url="u")


def test_a_page_with_a_stray_byte_keeps_its_text_and_says_so(
    ctx: Context, site: NewsSite, redis_url: str
) -> None:
    story = filler_article(3, seed=9)
    text = "Türkiye und İzmir: " + story.text
    html = page(Article(story.slug, story.title, text)).replace(b"</h1>", b"</h1>\x9d")
    site.routes["/stray.html"] = Reply(body=html, headers={"Content-Type": "text/html"})
    link = f"{site.url}/stray.html"
    outcome = fetch_article(ctx, Job(feed="local", entry_id="s", link=link, url=link))
    assert outcome.status == "published"
    (record,) = [
        json.loads(f[b"record"]) for _, f in redis.Redis.from_url(redis_url).xrange(KEYS.tagged)
    ]
    assert record["decode_errors"] == 1
    assert "Türkiye und İzmir" in record["text"]


def test_a_non_ascii_file_name_is_served_and_fetched_by_replay_via_http(
    ctx: Context, site: NewsSite, tmp_path: Path, redis_url: str
) -> None:
    story = filler_article(4, seed=11)
    (tmp_path / "café.txt").write_text(f"{story.title}\n\n{story.text}", encoding="utf-8")
    articles = list(articles_from_files([tmp_path / "café.txt"], max_bytes=1_000_000))
    feed = Feed(name="replay-http", url=publish_site(site, articles))  # as replay --via-http
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["published"]
    assert site.hits("/stories/caf%C3%A9-0.html") == 1
    (record,) = [
        json.loads(f[b"record"]) for _, f in redis.Redis.from_url(redis_url).xrange(KEYS.tagged)
    ]
    assert record["extraction"] == "html"  # the page, not the feed's summary


def test_in_a_worker_a_bad_link_is_a_dead_letter_and_its_neighbours_are_published(
    live_app: ArmswatchApp, site: NewsSite, redis_url: str
) -> None:
    from celery.contrib.testing.worker import start_worker

    from worker.tasks import poll_feed as poll_task

    good = filler_article(5, seed=13)
    site.routes[f"/stories/{good.slug}.html"] = Reply(body=page(good), headers=HTML)
    site.routes["/feed.xml"] = Reply(
        body=_rss([BAD_LINKS[0], f"{site.url}/stories/{good.slug}.html"])
    )
    feed = Feed(name="links", url=f"{site.url}/feed.xml")
    with start_worker(live_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        polled = live_app.tasks[poll_task.name].delay(feed.model_dump(mode="json")).get(timeout=60)
        outcomes = [live_app.AsyncResult(t).get(timeout=60) for t in polled["tasks"]]
    assert sorted(o["status"] for o in outcomes) == ["published", "rejected"]
    client = redis.Redis.from_url(redis_url)
    (dead,) = dead_letters(client)
    assert dead["input"] == BAD_LINKS[0] and "Invalid IPv4 address" in dead["error"]
    assert client.xlen(KEYS.tagged) == 1
