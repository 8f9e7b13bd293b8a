"""Prometheus metrics, counted in Redis and served by the worker on `metrics_port`.

Counters live in one Redis hash (`armswatch:metrics`) rather than in process memory:
Celery's pool children, replay processes and every scaled-out worker add to the same
totals, nothing is lost when a child is replaced, and `armswatch status` reads the same
numbers without a worker. Every worker serves the same cluster-wide values, so scrape one
(or take `max` across instances, not `sum`). Gauges are read from Redis at scrape time.

    armswatch_items_total{stage}                  items through each stage
    armswatch_stage_seconds_total{stage}          time spent in each stage
    armswatch_published_total{outcome}            stories published: new / already_seen
    armswatch_failures_total{stage,reason}        dead-lettered inputs, failed polls, by reason
    armswatch_task_retries_total{task}            task retries (Redis down, transient errors)
    armswatch_poll_to_publish_seconds             histogram: feed poll -> story published
    armswatch_queue_depth{queue}                  messages waiting in the Celery queue
    armswatch_queue_unacked                       messages taken by workers, not yet acknowledged
    armswatch_dlq_entries                         length of the dead-letter stream
    armswatch_tagged_entries                      length of the tagged stream
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import redis
import structlog
from celery.signals import task_postrun, task_retry
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from pipelines.keys import Keys, as_text

from .kombu_internals import QUEUE, UNACKED

log = structlog.get_logger("armswatch.metrics")

# Poll-to-publish latency buckets, seconds: a story should land within seconds of its poll;
# minutes mean a backlog, hours a retry schedule.
BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)


def count(client: redis.Redis, keys: Keys, field: str, n: float = 1) -> None:
    """Add `n` to one counter (fields are `kind|label|label`)."""
    if isinstance(n, float) and not n.is_integer():
        client.hincrbyfloat(keys.metrics, field, n)
    else:
        client.hincrby(keys.metrics, field, int(n))


def observe_latency(client: redis.Redis, keys: Keys, seconds: float) -> None:
    """One poll-to-publish observation into the histogram's buckets."""
    pipe = client.pipeline(transaction=False)
    for bound in BUCKETS:
        if seconds <= bound:
            pipe.hincrby(keys.metrics, f"latency_bucket|{bound}", 1)
    pipe.hincrby(keys.metrics, "latency_bucket|+Inf", 1)
    pipe.hincrbyfloat(keys.metrics, "latency_sum", max(0.0, seconds))
    pipe.execute()


def record_stages(ctx: Any) -> None:
    """Add what this process's stage clock counted since the last call (after each task)."""
    totals = ctx.clock.totals()
    seen: dict[str, dict[str, float]] = ctx.counted
    pipe = ctx.redis.pipeline(transaction=False)
    for stage, now in totals.items():
        before = seen.get(stage, {"items": 0, "seconds": 0.0})
        if now["items"] > before["items"]:
            pipe.hincrby(ctx.keys.metrics, f"items|{stage}", int(now["items"] - before["items"]))
        if now["seconds"] > before["seconds"]:
            pipe.hincrbyfloat(
                ctx.keys.metrics, f"seconds|{stage}", now["seconds"] - before["seconds"]
            )
        seen[stage] = dict(now)
    pipe.execute()


def counters(client: redis.Redis, keys: Keys) -> dict[str, float]:
    raw = client.hgetall(keys.metrics)
    return {as_text(k): float(as_text(v)) for k, v in raw.items()}


@task_postrun.connect
def _after_task(sender: Any = None, **_: Any) -> None:
    ctx = getattr(getattr(sender, "app", None), "armswatch", None)
    if ctx is None:
        return
    with contextlib.suppress(redis.RedisError):  # metrics never fail a task
        record_stages(ctx)


@task_retry.connect
def _on_retry(sender: Any = None, **_: Any) -> None:
    ctx = getattr(getattr(sender, "app", None), "armswatch", None)
    if ctx is None:
        return
    with contextlib.suppress(redis.RedisError):
        count(ctx.redis, ctx.keys, f"retries|{sender.name}")


class RedisCollector(Collector):
    """Reads the counters and the queue and stream lengths from Redis at each scrape."""

    def __init__(self, client: redis.Redis, keys: Keys):
        self.client = client
        self.keys = keys

    def collect(self) -> Iterator[Any]:
        try:
            values = counters(self.client, self.keys)
            pipe = self.client.pipeline(transaction=False)
            pipe.llen(QUEUE)
            pipe.hlen(UNACKED)
            pipe.xlen(self.keys.dlq)
            pipe.xlen(self.keys.tagged)
            pipe.zcard(self.keys.sent)
            depth, unacked, dlq, tagged, sent = pipe.execute()
        except redis.RedisError as exc:  # a scrape during a Redis restart: report that
            log.warning("metrics_unavailable", error=str(exc))
            up = GaugeMetricFamily("armswatch_redis_up", "Redis answered this scrape.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("armswatch_redis_up", "Redis answered this scrape.")
        up.add_metric([], 1)
        yield up
        families = {
            "items": CounterMetricFamily(
                "armswatch_items", "Items through each stage.", labels=["stage"]
            ),
            "seconds": CounterMetricFamily(
                "armswatch_stage_seconds", "Seconds spent in each stage.", labels=["stage"]
            ),
            "published": CounterMetricFamily(
                "armswatch_published", "Stories published.", labels=["outcome"]
            ),
            "failures": CounterMetricFamily(
                "armswatch_failures",
                "Inputs dead-lettered and polls failed, by stage and reason.",
                labels=["stage", "reason"],
            ),
            "retries": CounterMetricFamily(
                "armswatch_task_retries", "Task retries.", labels=["task"]
            ),
            "resent": CounterMetricFamily(
                "armswatch_messages_resent",
                "Messages the broker lost (a worker killed as it took them), sent again.",
                labels=["task"],
            ),
        }
        buckets: dict[str, float] = {}
        for field, value in sorted(values.items()):
            kind, _, rest = field.partition("|")
            if kind in families:
                families[kind].add_metric(rest.split("|"), value)
            elif kind == "latency_bucket":
                buckets[rest] = value
        yield from families.values()
        latency = HistogramMetricFamily(
            "armswatch_poll_to_publish_seconds", "Seconds from a feed poll to its story's publish."
        )
        cumulative = [(str(b), buckets.get(str(b), 0.0)) for b in BUCKETS]
        latency.add_metric(
            [], [*cumulative, ("+Inf", buckets.get("+Inf", 0.0))], values.get("latency_sum", 0.0)
        )
        yield latency
        for name, doc, value in (
            (
                "armswatch_queue_unacked",
                "Messages taken by workers, not yet acknowledged.",
                unacked,
            ),
            ("armswatch_dlq_entries", "Entries in the dead-letter stream.", dlq),
            ("armswatch_tagged_entries", "Entries in the tagged stream.", tagged),
            (
                "armswatch_ledger_entries",
                "Fetches and webhooks sent and not yet ended (worker/ledger.py).",
                sent,
            ),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], value)
            yield gauge
        queue = GaugeMetricFamily(
            "armswatch_queue_depth", "Messages waiting in the queue.", labels=["queue"]
        )
        queue.add_metric([QUEUE], depth)
        yield queue


def serve(url: str, keys: Keys, *, port: int, host: str) -> Any:
    """Serve /metrics on host:port from a thread of this process; returns the server."""
    registry = CollectorRegistry(auto_describe=False)
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    registry.register(RedisCollector(client, keys))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def advertise(
    url: str, key: str, info: dict[str, Any], *, every: float = 20.0
) -> Callable[[], None]:
    """Keep `info` (JSON) at `key` while this process runs, for `armswatch status`; returns
    the function that stops it and removes the key. Redis away: tried again next time."""
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    stop = threading.Event()
    value = json.dumps(info)

    def refresh() -> None:
        while not stop.is_set():
            with contextlib.suppress(redis.RedisError, OSError):
                client.set(key, value, ex=int(every * 3))  # lapses once the process is gone
            stop.wait(every)

    threading.Thread(target=refresh, name="armswatch-advertise", daemon=True).start()

    def end() -> None:
        stop.set()
        with contextlib.suppress(redis.RedisError, OSError):
            client.delete(key)
        client.close()

    return end
