"""`armswatch beat`: polls each feed at its interval, from a schedule kept in Redis.

The schedule is a sorted set, feed name -> time its next poll is due. Each tick, a Lua script
claims the due feeds and moves their time one interval on, in one atomic step: any number
of beat processes may run (for availability) and each due poll is enqueued exactly once.
A feed that fails moves its own entry to the end of its backoff (worker/live.py).

Why not celery-redbeat: it keeps one lock for the whole schedule, so a second beat only
waits; this is a few lines, lets every beat work, and shares the sorted set with the
per-feed backoff. Celery's own beat keeps its schedule in a local file: two of them
double-schedule.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence

import redis
import structlog

from pipelines.keys import Keys

from .feeds import Feed

log = structlog.get_logger("armswatch.beat")

# ARGV: now, then (name, interval) pairs. A feed not in the set yet is due at once.
_CLAIM = """
local now = tonumber(ARGV[1])
local due = {}
for i = 2, #ARGV, 2 do
  local at = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if (not at) or tonumber(at) <= now then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i + 1]), ARGV[i])
    table.insert(due, ARGV[i])
  end
end
return due
"""


def claim_due(
    client: redis.Redis, keys: Keys, feeds: Sequence[Feed], *, default_interval: int, now: float
) -> list[Feed]:
    """The feeds due at `now`, claimed: no other caller gets them until their next interval."""
    if not feeds:
        return []
    args: list[str | float] = [f"{now:.3f}"]
    for feed in feeds:
        args += [feed.name, feed.every(default_interval)]
    names = {
        n.decode() if isinstance(n, bytes) else str(n)
        for n in client.eval(_CLAIM, 1, keys.schedule, *args)
    }
    return [f for f in feeds if f.name in names]


def forget_removed(client: redis.Redis, keys: Keys, feeds: Sequence[Feed]) -> None:
    """Drop schedule entries of feeds no longer in feeds.yaml."""
    names = {f.name for f in feeds}
    members: list[bytes | str] = client.zrange(keys.schedule, 0, -1)  # type: ignore[assignment]
    stale = [m for m in members if (m.decode() if isinstance(m, bytes) else m) not in names]
    if stale:
        client.zrem(keys.schedule, *stale)


def run_beat(
    client: redis.Redis,
    keys: Keys,
    feeds: Sequence[Feed],
    enqueue: Callable[[Feed], object],
    *,
    default_interval: int,
    tick: float,
    stop: threading.Event,
    sweep: Callable[[], object] | None = None,
    sweep_every: float = 60.0,
    beat_id: str | None = None,
    heartbeat_ttl: float = 60.0,
) -> int:
    """Enqueue each feed's poll when it is due, until `stop` is set; returns polls enqueued.

    `sweep`, when given, runs every `sweep_every` seconds (the ledger of sent messages).
    `beat_id` ("host:pid"): each tick writes the time to its heartbeat key, which expires
    after `heartbeat_ttl` and is removed on a clean stop, so a health check can tell a beat
    that still schedules from one that hangs.
    """
    forget_removed(client, keys, feeds)
    count = 0
    next_sweep = time.monotonic()
    heartbeat = keys.beat(beat_id) if beat_id else None
    while not stop.is_set():
        try:
            if heartbeat:
                client.set(heartbeat, f"{time.time():.3f}", ex=max(1, int(heartbeat_ttl)))
            if sweep is not None and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + sweep_every
                sweep()
            for feed in claim_due(
                client, keys, feeds, default_interval=default_interval, now=time.time()
            ):
                enqueue(feed)
                count += 1
                log.info("feed_due", feed=feed.name)
        except redis.ConnectionError as exc:  # Redis restarting: keep ticking
            log.warning("beat_redis_unavailable", error=str(exc))
        stop.wait(tick)
    if heartbeat:
        with contextlib.suppress(redis.RedisError):
            client.delete(heartbeat)
    return count
