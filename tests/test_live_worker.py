"""Live monitoring on a real Celery worker (solo pool, Redis broker) and the beat schedule."""

from __future__ import annotations

import json
import threading
from typing import Any

import redis
from celery.contrib.testing.worker import start_worker

from newssite import HTML_TYPE, NewsSite, Reply, page, publish_site
from pipelines.keys import Keys
from tests.sitegen import filler_article
from worker.celery_app import ArmswatchApp
from worker.feeds import Feed
from worker.schedule import claim_due, run_beat
from worker.tasks import poll_feed

KEYS = Keys("armswatch:")


def test_the_worker_polls_fetches_retries_and_publishes_once(
    live_app: ArmswatchApp, redis_client: redis.Redis, site: NewsSite
) -> None:
    articles = [filler_article(n, seed=4) for n in range(4)]
    url = publish_site(site, articles)
    flaky = articles[0]
    site.routes[f"/stories/{flaky.slug}.html"] = lambda request: (
        Reply(500) if request.count == 1 else Reply(body=page(flaky), headers=HTML_TYPE)
    )
    app = live_app
    feed = Feed(name="local", url=url)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        polled = app.tasks[poll_feed.name].delay(feed.model_dump(mode="json")).get(timeout=60)
        assert polled["status"] == "ok" and len(polled["tasks"]) == 4
        outcomes = [app.AsyncResult(t).get(timeout=60) for t in polled["tasks"]]
        # A second poll finds nothing new and enqueues nothing.
        again = app.tasks[poll_feed.name].delay(feed.model_dump(mode="json")).get(timeout=60)
    assert [o["status"] for o in outcomes] == ["published"] * 4
    assert again["status"] == "unchanged" and again["tasks"] == []
    assert site.hits(f"/stories/{flaky.slug}.html") == 2  # the 500, then the retry
    records = [json.loads(f["record"]) for _, f in redis_client.xrange(KEYS.tagged)]
    assert sorted(r["source"]["url"] for r in records) == sorted(
        f"{site.url}/stories/{a.slug}.html" for a in articles
    )
    assert redis_client.llen("armswatch") == 0
    # Every fetch ended, the retried one too: none is left in the ledger of sent messages.
    assert redis_client.zcard(KEYS.sent) == 0 and redis_client.hlen(KEYS.sent_messages) == 0


def test_two_schedulers_never_claim_the_same_poll(redis_client: redis.Redis) -> None:
    feeds = [Feed(name=f"f{i}", url=f"https://x{i}.example/rss", interval=60) for i in range(5)]
    claimed: list[str] = []
    for now in (1000.0, 1000.0, 1030.0, 1059.9):  # two beats at the same instant, then later
        for _beat in range(2):
            claimed += [
                f.name for f in claim_due(redis_client, KEYS, feeds, default_interval=300, now=now)
            ]
    assert sorted(claimed) == sorted(f.name for f in feeds)  # once each in the first interval
    more = claim_due(redis_client, KEYS, feeds, default_interval=300, now=1060.0)
    assert [f.name for f in more] == [f.name for f in feeds]


def test_concurrent_beats_enqueue_each_due_feed_once(
    redis_url: str, redis_client: redis.Redis
) -> None:
    feeds = [Feed(name=f"f{i}", url=f"https://x{i}.example/rss", interval=3600) for i in range(20)]
    redis_client.zadd(KEYS.schedule, {"removed-feed": 0})
    enqueued: list[Any] = []
    lock = threading.Lock()
    stop = threading.Event()

    def beat() -> None:
        client = redis.Redis.from_url(redis_url)

        def enqueue(feed: Feed) -> None:
            with lock:
                enqueued.append(feed.name)
                if len(enqueued) == len(feeds):
                    stop.set()

        run_beat(client, KEYS, feeds, enqueue, default_interval=300, tick=0.01, stop=stop)
        client.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for t in threads:
        t.start()
    assert stop.wait(30)
    for t in threads:
        t.join(10)
    assert sorted(enqueued) == sorted(f.name for f in feeds)
    assert redis_client.zscore(KEYS.schedule, "removed-feed") is None
