"""The transfer ledger: one entry per (supplier, recipient, system class, kind) and per named
system under it, projected from `armswatch:tagged` (not worker/ledger.py, which is the
ledger of sent Celery messages).

    model    pure: story -> reports, entry merge, the JSON view of an entry
    store    Redis: apply each tagged story once (consumer group + Lua), query, rebuild
    changes  changes-only subscriptions: ledger changes -> alert streams
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any, Protocol

from ..alerts import Alert
from ..keys import Keys
from ..subscriptions import Subscription
from .changes import route_changes
from .model import entry_view, reports
from .store import (
    Projection,
    get_entry,
    project,
    query_entries,
    rebuild,
    recent_changes,
    system_entries,
)


class _Settings(Protocol):
    stream_maxlen: int
    ledger_reclaim_seconds: int


class _Context(Protocol):
    @property
    def redis(self) -> Any: ...
    @property
    def keys(self) -> Keys: ...
    @property
    def settings(self) -> _Settings: ...


def consumer_name() -> str:
    """This process as a consumer of the ledger's groups (a dead one's entries are reclaimed)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def ledger_step(ctx: _Context, subscriptions: Sequence[Subscription]) -> list[Alert]:
    """After publish and alerts: apply new tagged stories, then alert changes-only subscribers."""
    reclaim_ms = ctx.settings.ledger_reclaim_seconds * 1000
    maxlen = ctx.settings.stream_maxlen
    consumer = consumer_name()
    project(ctx.redis, ctx.keys, consumer=consumer, maxlen=maxlen, reclaim_ms=reclaim_ms)
    return route_changes(ctx.redis, ctx.keys, subscriptions, consumer=consumer, maxlen=maxlen,
                         reclaim_ms=reclaim_ms)  # fmt: skip


__all__ = [
    "Projection",
    "entry_view",
    "get_entry",
    "ledger_step",
    "project",
    "query_entries",
    "rebuild",
    "recent_changes",
    "reports",
    "system_entries",
]
