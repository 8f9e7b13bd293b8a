"""The worker's heartbeat: written only while the worker can work.

A worker whose main process answers but which cannot process anything (Redis away, its
pool's processes dead and not replaced) must fail its health check. A thread of the main
process checks both every `worker_heartbeat_seconds` and writes `armswatch:alive:HOST:PID`
(JSON: time, live pool processes, pool size) only when Redis answers and at least one pool
process lives; the key expires, so a stale worker's check fails. A pool that stays empty for
`worker_stuck_seconds` stops the worker (warm shutdown) so that its supervisor (compose's
restart policy, systemd) starts a fresh one instead of leaving it idle for ever.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import structlog
from celery.signals import worker_ready, worker_shutdown

from .celery_app import ArmswatchApp
from .context import Context
from .kombu_internals import pool_processes

log = structlog.get_logger("armswatch.health")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Watch:
    """The heartbeat thread of one worker."""

    def __init__(self, ctx: Context, pool: Any, *, on_stuck: Callable[[], object] | None = None):
        self.ctx = ctx
        self.pool = pool
        self.key = self.ctx.keys.alive(worker_id())
        self.stop = threading.Event()
        self.empty_since: float | None = None
        # A supervisor (compose's restart policy, systemd) starts a fresh worker.
        self.on_stuck = on_stuck or (lambda: os.kill(os.getpid(), signal.SIGTERM))

    def beat(self) -> bool:
        """One check; True when the heartbeat was written."""
        s = self.ctx.settings
        live, size = pool_processes(self.pool)
        now = time.monotonic()
        self.empty_since = None if live else (self.empty_since or now)
        if self.empty_since is not None and now - self.empty_since > s.worker_stuck_seconds:
            log.error("worker_pool_gone", seconds=round(now - self.empty_since), size=size)
            self.on_stuck()
            return False
        if not live:
            return False
        value = json.dumps({"time": round(time.time(), 3), "processes": live, "size": size})
        try:
            self.ctx.redis.set(self.key, value, ex=max(1, int(s.worker_heartbeat_ttl_seconds)))
        except redis.RedisError as exc:
            log.warning("worker_redis_unavailable", error=str(exc))
            return False
        return True

    def run(self) -> None:
        while not self.stop.is_set():
            self.beat()
            self.stop.wait(self.ctx.settings.worker_heartbeat_seconds)
        with contextlib.suppress(redis.RedisError):
            self.ctx.redis.delete(self.key)


_watch: Watch | None = None


@worker_ready.connect
def _start(sender: Any = None, **_: Any) -> None:
    global _watch
    app = getattr(sender, "app", None)
    if not isinstance(app, ArmswatchApp) or _watch is not None:
        return
    _watch = Watch(app.armswatch, sender.pool)
    threading.Thread(target=_watch.run, name="armswatch-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop(**_: Any) -> None:
    if _watch is not None:
        _watch.stop.set()
        with contextlib.suppress(redis.RedisError):
            _watch.ctx.redis.delete(_watch.key)
