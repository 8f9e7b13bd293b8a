"""The worker's heartbeat (worker/health.py) on a real Redis, over real child processes."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from worker.context import Context
from worker.health import Watch, worker_id
from worker.kombu_internals import pool_processes
from worker.settings import Settings


@dataclass
class Pool:
    """The shape of a prefork pool that the watch reads: `pool._pool._pool` processes."""

    _pool: Any = None
    limit: int = 2
    procs: list[Any] = field(default_factory=list)


def _sleep() -> None:
    time.sleep(60)


@pytest.fixture
def children() -> Iterator[list[Any]]:
    procs = [multiprocessing.get_context("fork").Process(target=_sleep) for _ in range(2)]
    for p in procs:
        p.start()
    yield procs
    for p in procs:
        p.kill()
        p.join()


def pool_of(procs: list[Any]) -> Pool:
    pool = Pool(procs=procs)
    pool._pool = type("Inner", (), {"_pool": procs})()
    return pool


def test_a_worker_with_a_live_pool_and_redis_writes_its_heartbeat(
    settings: Settings, redis_url: str, children: list[Any]
) -> None:
    ctx = Context(settings=settings, redis_url=redis_url)
    watch = Watch(ctx, pool_of(children))
    assert watch.beat()
    beat = json.loads(ctx.redis.get(ctx.keys.alive(worker_id())) or b"{}")
    assert beat["processes"] == 2 and beat["size"] == 2
    assert time.time() - beat["time"] < 60
    assert 0 < ctx.redis.ttl(ctx.keys.alive(worker_id())) <= settings.worker_heartbeat_ttl_seconds


def test_a_pool_whose_processes_died_writes_no_heartbeat_and_stops_the_worker_in_time(
    settings: Settings, redis_url: str, children: list[Any]
) -> None:
    for p in children:
        p.kill()
        p.join()
    assert pool_processes(pool_of(children)) == (0, 2)
    stuck: list[bool] = []
    ctx = Context(settings=settings.model_copy(update={"worker_stuck_seconds": 0.2}),
                  redis_url=redis_url)  # fmt: skip
    watch = Watch(ctx, pool_of(children), on_stuck=lambda: stuck.append(True))
    assert not watch.beat()
    assert not stuck, "stopped at the first look, before the grace period"
    time.sleep(0.3)
    assert not watch.beat()
    assert stuck == [True]
    assert ctx.redis.get(ctx.keys.alive(worker_id())) is None


def test_redis_away_writes_no_heartbeat(settings: Settings, children: list[Any]) -> None:
    ctx = Context(settings=settings, redis_url="redis://127.0.0.1:1/0")
    assert not Watch(ctx, pool_of(children)).beat()
