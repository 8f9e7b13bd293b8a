"""The ledger of sent fetches and webhooks (a message the broker lost is sent again), and
the beat that sweeps it and keeps a heartbeat.

kombu takes a message with BRPOP and records it as taken in a second step; a worker
killed between the two loses it. Here the loss is made by hand (the RPOP a dying worker
did), on a real Redis, and a real worker then finishes the work.
"""

from __future__ import annotations

import json
import threading
import time

import redis
from celery.contrib.testing.worker import start_worker

from newssite import NewsSite, publish_site
from pipelines.keys import Keys
from tests.processes import wait_until
from tests.sitegen import filler_article
from worker.celery_app import ArmswatchApp
from worker.feeds import Feed
from worker.ledger import resend_lost
from worker.mail_tasks import deliver_email
from worker.metrics import counters
from worker.schedule import run_beat
from worker.tasks import deliver_webhook, fetch_article, poll_feed

KEYS = Keys("armswatch:")


def queued_ids(client: redis.Redis) -> set[str]:
    return {json.loads(m)["headers"]["id"] for m in client.lrange("armswatch", 0, -1)}


def test_a_fetch_the_broker_lost_is_sent_again_and_published_once(
    live_app: ArmswatchApp, redis_client: redis.Redis, site: NewsSite
) -> None:
    app = live_app
    articles = [filler_article(n, seed=7) for n in range(3)]
    feed = Feed(name="local", url=publish_site(site, articles))
    polled = app.tasks[poll_feed.name].apply(args=(feed.model_dump(mode="json"),)).get()
    sent = set(polled["tasks"])
    assert len(sent) == 3
    assert set(redis_client.zrange(KEYS.sent, 0, -1)) == sent == queued_ids(redis_client)

    # A worker took the oldest message and was killed before recording it as taken.
    lost = json.loads(redis_client.rpop("armswatch"))["headers"]["id"]
    time.sleep(0.3)  # lost_message_check_seconds: the entries are due
    assert resend_lost(app) == 0  # missing once: marked only (it may be just being taken)
    time.sleep(0.3)
    assert resend_lost(app) == 1  # missing twice: sent again; the queued two are left alone
    assert queued_ids(redis_client) == sent
    assert counters(redis_client, KEYS)["resent|armswatch.fetch_article"] == 1

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        wait_until(lambda: redis_client.zcard(KEYS.sent) == 0, deadline=120, what="the ledger")
    records = [json.loads(f["record"]) for _, f in redis_client.xrange(KEYS.tagged)]
    assert sorted(r["source"]["url"] for r in records) == sorted(
        f"{site.url}/stories/{a.slug}.html" for a in articles
    )
    assert redis_client.hlen(KEYS.sent_messages) == 0
    assert redis_client.hlen(KEYS.sent_missing) == 0
    assert lost in sent


def test_the_tasks_whose_loss_loses_data_are_ledgered_and_only_they(
    live_app: ArmswatchApp,
) -> None:
    ledgered = {name for name, task in live_app.tasks.items() if getattr(task, "ledgered", 0)}
    # A lost send_digest only delays: its alerts stay pending for the next day's digest.
    assert ledgered == {fetch_article.name, deliver_webhook.name, deliver_email.name}


def test_beat_sweeps_the_ledger_at_its_interval(redis_client: redis.Redis) -> None:
    sweeps: list[float] = []  # beat also sweeps when it has no feeds
    stop = threading.Event()

    def sweep() -> None:
        sweeps.append(time.monotonic())
        if len(sweeps) == 3:
            stop.set()

    run_beat(
        redis_client, KEYS, [], lambda feed: None, default_interval=60, tick=0.01,
        stop=stop, sweep=sweep, sweep_every=0.1,
    )  # fmt: skip
    assert len(sweeps) == 3


def test_beat_keeps_a_heartbeat_while_it_ticks_and_removes_it_when_stopped(
    redis_client: redis.Redis,
) -> None:
    stop = threading.Event()
    beat = threading.Thread(
        target=run_beat,
        args=(redis_client, KEYS, [], lambda feed: None),
        kwargs={"default_interval": 60, "tick": 0.05, "stop": stop, "beat_id": "host-a:42"},
    )
    beat.start()
    try:
        wait_until(lambda: redis_client.exists(KEYS.beat("host-a:42")) == 1, deadline=30,
                   what="the heartbeat")  # fmt: skip
        first = float(redis_client.get(KEYS.beat("host-a:42")))
        wait_until(lambda: float(redis_client.get(KEYS.beat("host-a:42")) or 0) > first,
                   deadline=30, what="a later tick")  # fmt: skip
        assert 0 < redis_client.ttl(KEYS.beat("host-a:42")) <= 60
    finally:
        stop.set()
        beat.join(timeout=30)
    assert redis_client.exists(KEYS.beat("host-a:42")) == 0
