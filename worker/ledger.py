"""A ledger of sent messages whose loss would lose data, swept for messages the broker lost.

kombu's Redis transport takes a message with BRPOP and records it as taken (its `unacked`
hash, from where the visibility timeout redelivers it) in a second step. A worker killed
between the two has the message in its memory only: no timeout brings it back. For most
tasks that is harmless (a lost poll is polled again next interval), but a lost
`fetch_article` is an article never fetched and a lost `deliver_webhook` an alert never
sent. So those tasks are written down before they are sent and struck out when they end
(succeeded, or failed for good and dead-lettered), and `armswatch beat` sweeps the ledger:
a task that is in none of the broker's places (worker/kombu_internals.py) in two looks
`lost_message_check_seconds` apart is sent again under its own id (its output is
idempotent, so a false alarm costs a repeat, never a duplicate).

    sent            sorted set: task id -> when it is due (now, or its countdown's end)
    sent:messages   hash: task id -> {task, args, kwargs, retries}
    sent:missing    hash: task id -> when a sweep first found it nowhere
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis
import structlog

from pipelines.keys import Keys, as_text

from .kombu_internals import broker_ids, read_broker

if TYPE_CHECKING:
    from .celery_app import ArmswatchApp

log = structlog.get_logger("armswatch.ledger")


def record(
    client: redis.Redis,
    keys: Keys,
    task_id: str,
    *,
    task: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    retries: int,
    due: float,
) -> None:
    """Write a message down before it is sent (a retry overwrites its predecessor)."""
    message = {"task": task, "args": list(args), "kwargs": kwargs, "retries": retries}
    pipe = client.pipeline(transaction=True)
    pipe.zadd(keys.sent, {task_id: due})
    pipe.hset(keys.sent_messages, task_id, json.dumps(message))
    pipe.hdel(keys.sent_missing, task_id)
    pipe.execute()


def settle(client: redis.Redis, keys: Keys, task_id: str) -> None:
    """Strike a task out: it ended (published, a duplicate, or dead-lettered)."""
    pipe = client.pipeline(transaction=True)
    pipe.zrem(keys.sent, task_id)
    pipe.hdel(keys.sent_messages, task_id)
    pipe.hdel(keys.sent_missing, task_id)
    pipe.execute()


def sweep(
    client: redis.Redis, keys: Keys, *, check_seconds: float, now: float | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The ledger's messages lost by the broker, to be sent again; marks new suspects.

    One transaction reads the ledger's entries due `check_seconds` ago or earlier, every
    queued and taken message, and the marks of earlier sweeps: a task missing now and
    marked at least `check_seconds` ago is lost; one missing for the first time is marked;
    a mark on a task seen again (it was only being taken) is removed.
    """
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=True)
    pipe.zrangebyscore(keys.sent, "-inf", now - check_seconds)
    read_broker(pipe)
    pipe.hgetall(keys.sent_missing)
    replies = pipe.execute()
    due = {as_text(t) for t in replies[0]}
    present = broker_ids(replies[1:])
    marks = {as_text(k): float(as_text(v)) for k, v in replies[-1].items()}
    missing = due - present

    lost = sorted(t for t in missing if t in marks and marks[t] <= now - check_seconds)
    fresh = [t for t in missing if t not in marks]
    cleared = [t for t in marks if t not in missing]
    pipe = client.pipeline(transaction=True)
    if fresh:
        pipe.hset(keys.sent_missing, mapping=dict.fromkeys(fresh, now))
    if cleared:
        pipe.hdel(keys.sent_missing, *cleared)
    if lost:
        pipe.hmget(keys.sent_messages, lost)
    result = pipe.execute()
    if not lost:
        return []
    messages = result[-1]
    return [(t, json.loads(m)) for t, m in zip(lost, messages, strict=True) if m is not None]


def resend_lost(app: ArmswatchApp) -> int:
    """One sweep (unless another beat swept within the interval); sends the lost again."""
    from .metrics import count

    ctx = app.armswatch
    check = ctx.settings.lost_message_check_seconds
    if not ctx.redis.set(ctx.keys.sweep_lock, "1", nx=True, px=max(1, int(check * 900))):
        return 0
    lost = sweep(ctx.redis, ctx.keys, check_seconds=check)
    for task_id, message in lost:
        log.warning("message_lost_sent_again", task=message["task"], task_id=task_id)
        options = {"task_id": task_id, "retries": message["retries"]}  # the same message
        app.tasks[message["task"]].apply_async(message["args"], message["kwargs"], **options)
        count(ctx.redis, ctx.keys, f"resent|{message['task']}")
    return len(lost)
