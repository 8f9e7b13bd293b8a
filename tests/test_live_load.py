"""Done-when for live monitoring: a local site of 200+ articles served with realistic faults;
a real worker runs to completion, every fetchable story is published exactly once and every
failure is in armswatch:dlq with its reason."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from newssite import HTML_TYPE, Article, NewsSite, Reply, articles_from_files, page, rss
from pipelines.keys import Keys
from tests.conftest import DATA, SEEDS
from tests.sitegen import filler_article
from worker.celery_app import ArmswatchApp
from worker.feeds import Feed
from worker.tasks import poll_feed

KEYS = Keys("armswatch:")


def _once(status: int, good: Reply, times: int = 1, headers: dict[str, str] | None = None):
    def route(request: Any) -> Reply:
        return Reply(status, b"", headers or {}) if request.count <= times else good

    return route


def _huge() -> Iterator[bytes]:
    for _ in range(800):
        yield b"<p>" + b"y" * 65_000 + b"</p>"


@pytest.mark.slow
def test_a_200_article_site_with_faults_runs_to_completion(
    live_app: ArmswatchApp, redis_client: redis.Redis, site: NewsSite
) -> None:
    started = time.monotonic()
    relevant = list(
        articles_from_files(
            sorted((DATA / "dev").glob("*.txt")) + sorted(SEEDS.glob("*.txt")), max_bytes=10**6
        )
    )
    fillers = [filler_article(n, seed=11) for n in range(170)]
    base = site.url
    good: dict[str, Article] = {}  # path -> article expected to be published from its page
    summary_only: set[str] = set()  # path -> published from the feed summary
    failing: dict[str, str] = {}  # path -> the reason expected in the DLQ

    def serve(a: Article) -> str:
        path = f"/stories/{a.slug}.html"
        site.routes[path] = Reply(body=page(a), headers=HTML_TYPE)
        return path

    for a in relevant:
        good[serve(a)] = a
    wire_items = list(relevant)
    local_items: list[Article] = []
    for n, a in enumerate(fillers):
        path = serve(a)
        kind = n % 20
        item = a
        if kind in (1, 11):  # a 500, then fine
            site.routes[path] = _once(500, Reply(body=page(a), headers=HTML_TYPE))
        elif kind == 3:  # rate limited once, told when to come back
            site.routes[path] = _once(
                429, Reply(body=page(a), headers=HTML_TYPE), 1, {"Retry-After": "1"}
            )
        elif kind == 5:  # 503 twice without a Retry-After: backoff
            site.routes[path] = _once(503, Reply(body=page(a), headers=HTML_TYPE), times=2)
        elif kind == 7:  # moved permanently, on the same site
            site.routes[path] = Reply(301, headers={"Location": f"/moved/{a.slug}.html"})
            site.routes[f"/moved/{a.slug}.html"] = Reply(body=page(a), headers=HTML_TYPE)
        elif kind == 9 and n < 100:  # gone, but the feed's summary stands in
            site.routes[path] = Reply(404)
            summary_only.add(path)
            local_items.append(item)
            continue
        elif kind in (13, 17):
            item = Article(a.slug, a.title, a.text, summary="")  # no summary to fall back on
            reason = {
                0: ("HTTP 404", Reply(404)),
                1: ("timed out", Reply(hang=True)),
                2: ("body too large", Reply(body=_huge(), headers=HTML_TYPE)),
                3: (
                    "is not an article page",
                    Reply(body=b"%PDF", headers={"Content-Type": "application/pdf"}),
                ),
                4: ("cloud metadata", Reply(302, headers={"Location": "http://169.254.169.254/"})),
                5: ("redirects", Reply(302, headers={"Location": path})),
                6: ("disallowed by robots.txt", None),
                7: ("HTTP 403", Reply(403)),
            }[(n // 10) % 8]
            if reason[1] is None:
                del site.routes[path]
                path = f"/private/{a.slug}.html"
                item = Article(f"../private/{a.slug}", a.title, a.text, summary="")
            else:
                site.routes[path] = reason[1]
            failing[path] = reason[0]
            local_items.append(item)
            continue
        good[path] = a
        (wire_items if n % 2 else local_items).append(item)
    site.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /private/\n")
    # A third outlet syndicates ten wire stories under its own URLs, and lists ten local
    # stories again with tracking parameters: all twenty are copies, not new stories.
    copies = [
        Article(f"syndicated-{a.slug}", a.title, "From our partners at the wire.\n\n" + a.text)
        for a in wire_items[:10]
    ]
    for c in copies:
        serve(c)
    tracked = rss(base, [*copies, *local_items[:10]]).replace(
        b".html</link>", b".html?utm_source=partner&amp;utm_campaign=feed</link>"
    )
    site.routes["/wire.xml"] = Reply(body=rss(base, wire_items))
    site.routes["/local.xml"] = Reply(body=rss(base, local_items))
    site.routes["/partner.xml"] = Reply(body=tracked)
    feeds = [Feed(name=n, url=f"{base}/{n}.xml") for n in ("wire", "local", "partner")]
    total = len(wire_items) + len(local_items)
    assert total >= 200

    app = live_app
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        polls = [app.tasks[poll_feed.name].delay(f.model_dump(mode="json")) for f in feeds]
        task_ids = [t for p in polls for t in p.get(timeout=120)["tasks"]]
        outcomes = [app.AsyncResult(t).get(timeout=300) for t in task_ids]

    records = [json.loads(f["record"]) for _, f in redis_client.xrange(KEYS.tagged)]
    dead = [fields for _, fields in redis_client.xrange(KEYS.dlq)]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a story was published twice"
    published_paths = {r["source"]["url"].removeprefix(base) for r in records}
    assert published_paths == set(good) | summary_only
    assert {
        r["source"]["url"].removeprefix(base) for r in records if r["extraction"] == "feed_summary"
    } == summary_only
    dead_by_path = {d["input"].removeprefix(base).split("?")[0]: d for d in dead}
    assert len(dead) == len(failing)
    assert set(dead_by_path) == set(failing)
    for path, reason in failing.items():
        assert reason in dead_by_path[path]["error"], (path, dead_by_path[path])
    statuses = Counter(o["status"] for o in outcomes)
    assert statuses["duplicate"] == 10  # the syndicated copies (tracked URLs were never fetched)
    assert statuses["rejected"] == len(failing)
    print(
        f"\n{total} feed entries + 20 copies, {len(task_ids)} articles fetched, "
        f"{len(records)} stories published ({sum(r['relevant'] for r in records)} relevant, "
        f"{len(summary_only)} from feed summaries), {statuses['duplicate']} near-duplicates, "
        f"{len(dead)} dead letters, in {time.monotonic() - started:.1f} s"
    )
