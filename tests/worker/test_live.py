"""The live path against a news site on loopback and a real Redis: poll, fetch, extract,
de-duplicate, tag, publish; and the faults real sites have."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest
import redis

from newssite import Article, NewsSite, Reply, page, publish_site, rss
from pipelines.keys import Keys
from tests.conftest import DATA, SEEDS
from tests.sitegen import filler_article
from worker.context import Context
from worker.feeds import Feed, FeedState
from worker.http import GuardedBackend, make_client
from worker.live import Job, fetch_article, run_once
from worker.settings import Settings

KEYS = Keys("armswatch:")
HTML = {"Content-Type": "text/html; charset=utf-8"}
RELEVANT = Article(
    slug="seed-003",
    title="Seed story",
    text=(SEEDS / "003_66b9e44e360c82d3.txt").read_text("utf-8"),
)


def tagged(client: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(f["record"]) for _, f in client.xrange(KEYS.tagged)]


def dead_letters(client: redis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in client.xrange(KEYS.dlq)]


def feed_at(
    site: NewsSite, articles: list[Article], name: str = "local", path: str = "/feed.xml"
) -> Feed:
    return Feed(name=name, url=publish_site(site, articles, feed_path=path), tags=("test",))


def test_every_story_is_fetched_extracted_tagged_and_published_once(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    articles = [RELEVANT, *(filler_article(n) for n in range(4))]
    feed = feed_at(site, articles)
    report = run_once(ctx, [feed])
    assert [f.status for f in report.feeds] == ["ok"]
    assert sorted(a.status for a in report.articles) == ["published"] * 5
    records = tagged(redis_client)
    assert len(records) == 5
    by_url = {r["source"]["url"]: r for r in records}
    seed = by_url[f"{site.url}/stories/seed-003.html"]
    assert seed["relevant"] is True and seed["transfers"]
    assert seed["extraction"] == "html"
    assert seed["source"] == {
        "kind": "feed",
        "path": None,
        "url": f"{site.url}/stories/seed-003.html",
        "feed": "local",
        "tags": ["test"],
    }
    assert [s["feed"] for s in seed["sources"]] == ["local"]
    assert all(site.hits(f"/stories/{a.slug}.html") == 1 for a in articles)

    # The server ignores conditional requests (no ETag): the body hash says nothing changed.
    again = run_once(ctx, [feed])
    assert [f.status for f in again.feeds] == ["unchanged"]
    assert again.articles == []
    assert all(site.hits(f"/stories/{a.slug}.html") == 1 for a in articles)
    assert len(tagged(redis_client)) == 5


def test_a_304_fetches_nothing_and_a_new_entry_only_itself(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    articles = [filler_article(n) for n in range(3)]
    publish_site(site, articles)
    versions = {"v1": rss(site.url, articles), "v2": rss(site.url, [*articles, filler_article(9)])}
    current = {"tag": "v1"}

    def feed_route(request: Any) -> Reply:
        etag = f'"{current["tag"]}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(304)
        return Reply(body=versions[current["tag"]], headers={"ETag": etag})

    site.routes["/feed.xml"] = feed_route
    feed = Feed(name="etag", url=f"{site.url}/feed.xml")
    assert len(run_once(ctx, [feed]).articles) == 3
    second = run_once(ctx, [feed])
    assert [f.status for f in second.feeds] == ["not_modified"] and second.articles == []
    assert site.requests[-1].headers["if-none-match"] == '"v1"'
    current["tag"] = "v2"
    site.routes["/stories/local-0-9.html"] = Reply(body=page(filler_article(9)), headers=HTML)
    third = run_once(ctx, [feed])
    assert [a.input.rsplit("/", 1)[-1] for a in third.articles] == ["local-0-9.html"]
    assert len(tagged(redis_client)) == 4
    assert all(site.hits(f"/stories/{a.slug}.html") == 1 for a in articles)


def _flaky(status: int, then: Reply, headers: dict[str, str] | None = None, times: int = 1):
    def route(request: Any) -> Reply:
        return Reply(status, b"try again", headers or {}) if request.count <= times else then

    return route


def test_a_500_then_200_is_retried_and_published_once(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    article = filler_article(1)
    feed = feed_at(site, [article])
    site.routes["/stories/local-0-1.html"] = _flaky(500, Reply(body=page(article), headers=HTML))
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["published"]
    assert site.hits("/stories/local-0-1.html") == 2
    assert len(tagged(redis_client)) == 1 and dead_letters(redis_client) == []


def test_a_429_with_retry_after_is_waited_for(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    article = filler_article(2)
    feed = feed_at(site, [article])
    site.routes["/stories/local-0-2.html"] = _flaky(
        429, Reply(body=page(article), headers=HTML), {"Retry-After": "1"}
    )
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["published"]
    assert site.hits("/stories/local-0-2.html") == 2
    # The host itself was paused for the Retry-After (no one hammers it meanwhile).
    assert float(redis_client.get(KEYS.host_next(site.url.split("//")[1]))) > 0


def test_a_feed_that_says_come_back_later_is_deferred_not_dropped(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    site.routes["/feed.xml"] = Reply(503, b"busy", {"Retry-After": "3600"})
    feed = Feed(name="busy", url=f"{site.url}/feed.xml")
    before = time.time()
    report = run_once(ctx, [feed])
    assert [(f.status, "HTTP 503" in (f.error or "")) for f in report.feeds] == [("failed", True)]
    state = FeedState.load(redis_client, KEYS, "busy")
    assert state.failures == 1 and "Retry-After 3600" in state.last_error
    assert state.next_poll >= before + 3600
    assert redis_client.zscore(KEYS.schedule, "busy") == pytest.approx(state.next_poll)
    # Polled again before then: deferred, the server is not asked.
    assert [f.status for f in run_once(ctx, [feed]).feeds] == ["deferred"]
    assert site.hits("/feed.xml") == 1


def test_a_failing_feed_backs_off_and_recovers(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    articles = [filler_article(3)]
    publish_site(site, articles)
    good = Reply(body=rss(site.url, articles))
    site.routes["/feed.xml"] = _flaky(500, good, times=2)
    feed = Feed(name="flaky", url=f"{site.url}/feed.xml")
    report = run_once(ctx, [feed])  # max_retries=2: the third try succeeds in the same run
    assert [f.status for f in report.feeds] == ["ok"] and len(report.articles) == 1
    state = FeedState.load(redis_client, KEYS, "flaky")
    assert (state.failures, state.last_error) == (0, "")


def test_a_server_that_never_answers_times_out_and_the_rest_goes_on(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    stuck, fine = filler_article(4, slug="stuck"), filler_article(5)
    feed = feed_at(site, [Article(stuck.slug, stuck.title, stuck.text, summary=""), fine])
    site.routes["/stories/stuck.html"] = Reply(hang=True)
    report = run_once(ctx, [feed])
    assert sorted(a.status for a in report.articles) == ["published", "rejected"]
    (dead,) = dead_letters(redis_client)
    assert dead["input"].endswith("/stories/stuck.html")
    assert "timed out" in dead["error"]
    assert site.hits("/stories/stuck.html") == 3  # the first try and max_retries=2 more


def _huge(total: int):
    def chunks() -> Iterator[bytes]:
        block = b"<p>" + b"x" * 65_530 + b"</p>"
        for _ in range(total // len(block)):
            yield block

    return chunks


def test_a_50_mb_body_is_capped_not_read(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    big, declared = filler_article(6, slug="big"), filler_article(7, slug="declared")
    feed = feed_at(
        site,
        [
            Article(big.slug, big.title, big.text, summary=""),
            Article(declared.slug, declared.title, declared.text, summary=""),
        ],
    )
    site.routes["/stories/big.html"] = lambda _: Reply(body=_huge(50_000_000)(), headers=HTML)
    site.routes["/stories/declared.html"] = lambda _: Reply(
        body=_huge(50_000_000)(), headers={**HTML, "Content-Length": "50000000"}
    )
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["rejected", "rejected"]
    errors = {d["input"].rsplit("/", 1)[-1]: d["error"] for d in dead_letters(redis_client)}
    assert "over the limit of 1,000,000 bytes" in errors["big.html"]
    assert "50,000,000 bytes declared" in errors["declared.html"]
    # The reader stopped at the cap: the server could not send anything near 50 MB.
    assert site.sent["/stories/big.html"] < 20_000_000
    assert site.sent.get("/stories/declared.html", 0) < 20_000_000


def test_malformed_and_misencoded_feeds_never_crash(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    for name in ("truncated", "wrong-encoding"):
        site.routes[f"/{name}.xml"] = Reply(body=(DATA / "feeds" / f"{name}.xml").read_bytes())
    site.routes["/garbage.xml"] = Reply(body=b"<html><body>Oops, a web page</body></html>")
    feeds = [
        Feed(name=n, url=f"{site.url}/{n}.xml") for n in ("truncated", "wrong-encoding", "garbage")
    ]
    # The entries point at hosts that do not exist: they fail, and the summaries stand in.
    report = run_once(ctx, feeds)
    status = {f.feed: f for f in report.feeds}
    assert status["truncated"].status == "ok" and status["truncated"].warning
    assert status["wrong-encoding"].status == "ok"
    assert status["garbage"].status == "failed"
    assert "not a readable RSS or Atom feed" in (status["garbage"].error or "")
    assert FeedState.load(redis_client, KEYS, "garbage").failures == 1
    titles = {r["title"] for r in tagged(redis_client)}
    assert "Café reopens in the old town" in titles


def test_unreachable_pages_fall_back_to_the_feed_summary(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    gone = Article(
        "gone",
        "Council approves new bridge",
        "",
        summary="The council approved "
        "a new footbridge over the river on Monday after a long debate. " * 3,
    )
    pdf = Article(
        "report",
        "Annual report published",
        "",
        summary="The harbour authority "
        "published its annual report, showing record passenger numbers. " * 3,
    )
    feed = feed_at(site, [gone, pdf])
    del site.routes["/stories/gone.html"]  # 404
    site.routes["/stories/report.html"] = Reply(
        body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}
    )
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["published", "published"]
    records = tagged(redis_client)
    assert {r["extraction"] for r in records} == {"feed_summary"}
    assert {r["title"] for r in records} == {
        "Council approves new bridge",
        "Annual report published",
    }
    assert dead_letters(redis_client) == []


def test_robots_txt_is_respected(ctx: Context, site: NewsSite, redis_client: redis.Redis) -> None:
    private = filler_article(8, slug="private")
    feed = feed_at(site, [Article(private.slug, private.title, private.text, summary="")])
    site.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /stories/private\n")
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["rejected"]
    assert "disallowed by robots.txt" in dead_letters(redis_client)[0]["error"]
    assert site.hits("/stories/private.html") == 0
    assert redis_client.get(KEYS.robots(site.url)) is not None  # cached for the next fetch


def test_a_redirect_to_the_metadata_address_is_refused(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    trap = filler_article(9, slug="trap")
    feed = feed_at(site, [trap])
    site.routes["/stories/trap.html"] = Reply(
        302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    report = run_once(ctx, [feed])
    assert [a.status for a in report.articles] == ["rejected"]  # no summary used either
    (dead,) = dead_letters(redis_client)
    assert dead["error_type"] == "UnsafeURL"
    assert "169.254.169.254" in dead["error"] and "cloud metadata" in dead["error"]
    assert tagged(redis_client) == []


@pytest.fixture
def strict_ctx(live_settings: Settings, redis_url: str) -> Iterator[Context]:
    """The production default: private networks refused."""
    settings = live_settings.model_copy(update={"allow_private_networks": False})
    context = Context(settings=settings, redis_url=redis_url)
    yield context
    context.fetcher.close()
    context.redis.close()


def test_loopback_is_refused_at_connect_time_when_private_networks_are_off(
    strict_ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    article = filler_article(10, slug="inside")
    feed = feed_at(site, [article])
    report = run_once(strict_ctx, [feed])
    assert [f.status for f in report.feeds] == ["failed"]
    assert "resolves to 127.0.0.1 is a loopback address" in (report.feeds[0].error or "")
    # A name that resolves to loopback is refused after resolution, as a redirect would be.
    port = site.url.rsplit(":", 1)[1]
    link = f"http://localhost:{port}/stories/inside.html"
    job = Job(feed="local", entry_id="x", link=link, url=link, summary="Summary text.")
    assert fetch_article(strict_ctx, job).status == "rejected"
    (dead,) = dead_letters(redis_client)
    assert dead["error_type"] == "UnsafeURL" and "loopback" in dead["error"]
    assert site.requests == []  # nothing at all reached the server
    assert tagged(redis_client) == []


def test_one_story_under_two_urls_and_two_feeds_is_one_story_with_its_sources(
    ctx: Context, site: NewsSite, redis_client: redis.Redis
) -> None:
    wire = filler_article(11, slug="wire-story")
    copy = Article(
        "mirror-story",
        wire.title,
        "Republished with permission from the wire.\n\n" + wire.text,
    )
    publish_site(site, [wire, copy])
    site.routes["/a.xml"] = Reply(body=rss(site.url, [wire]))
    # Feed B has the copy under its own URL and the original with tracking parameters.
    b_items = rss(site.url, [copy, wire]).replace(
        b"wire-story.html</link>", b"wire-story.html?utm_source=b&amp;utm_medium=rss</link>"
    )
    site.routes["/b.xml"] = Reply(body=b_items)
    feeds = [
        Feed(name="outlet-a", url=f"{site.url}/a.xml"),
        Feed(name="outlet-b", url=f"{site.url}/b.xml"),
    ]
    report = run_once(ctx, feeds)
    assert sorted(a.status for a in report.articles) == ["duplicate", "published"]
    (record,) = tagged(redis_client)
    sources = {
        (s["feed"], s["url"].rsplit("/", 1)[-1])
        for s in ctx.seen.sources(record["id"])
        for s in [s.model_dump()]
    }
    assert sources == {
        ("outlet-a", "wire-story.html"),
        ("outlet-b", "wire-story.html"),
        ("outlet-b", "mirror-story.html"),
    }
    assert record["sources"][0]["feed"] == "outlet-a"
    assert site.hits("/stories/wire-story.html") == 1  # the tracking variant was not fetched


class FirstHopOnly(GuardedBackend):
    """The production guard, except that one loopback port counts as a public site: the
    stand-in for a public page that redirects into the private network."""

    def __init__(self, public_port: int):
        super().__init__(allow_private=False)
        self.public_port = public_port

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if port == self.public_port:
            return httpcore.SyncBackend().connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        return super().connect_tcp(host, port, timeout, local_address, socket_options)


@pytest.mark.parametrize("target", ["127.0.0.1", "localhost"])
def test_a_redirect_into_the_private_network_is_refused_at_connect_time(
    strict_ctx: Context, site: NewsSite, redis_client: redis.Redis, target: str
) -> None:
    with NewsSite() as inside:
        inside.routes["/admin"] = Reply(body=b"secret", headers=HTML)
        inner_port = inside.url.rsplit(":", 1)[1]
        site.routes["/story.html"] = Reply(
            302, headers={"Location": f"http://{target}:{inner_port}/admin"}
        )
        strict_ctx.fetcher = make_client(
            strict_ctx.settings, backend=FirstHopOnly(int(site.url.rsplit(":", 1)[1]))
        )
        link = f"{site.url}/story.html"
        job = Job(feed="local", entry_id="1", link=link, url=link, summary="A summary.")
        outcome = fetch_article(strict_ctx, job)
        assert outcome.status == "rejected"
        assert site.hits("/story.html") == 1  # the public hop was fetched
        assert inside.requests == []  # the private one never was
    (dead,) = dead_letters(redis_client)
    assert dead["error_type"] == "UnsafeURL"
    assert f"{target} resolves to 127.0.0.1 is a loopback address" in dead["error"]
    assert tagged(redis_client) == []  # nor was the summary published in its place


def test_a_poll_that_dies_before_handing_its_jobs_on_is_read_again(
    ctx: Context, site: NewsSite
) -> None:
    from worker.live import commit_poll, poll_feed

    articles = [filler_article(n, seed=21) for n in range(3)]
    feed = feed_at(site, articles)
    other = feed_at(site, articles, name="mirror", path="/mirror.xml")
    first = poll_feed(ctx, feed)
    assert len(first.jobs) == 3
    # The poller dies here: nothing enqueued, nothing committed. Another feed listing the
    # same articles meanwhile leaves them to the first feed's claim ...
    assert poll_feed(ctx, other).jobs == ()
    # ... and the first feed's next poll (a redelivered task) takes them again.
    again = poll_feed(ctx, feed)
    assert {j.url for j in again.jobs} == {j.url for j in first.jobs}
    commit_poll(ctx, again)
    after = poll_feed(ctx, feed)
    assert after.status in ("not_modified", "unchanged") and after.jobs == ()
