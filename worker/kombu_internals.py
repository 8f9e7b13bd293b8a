"""Everything armswatch relies on that kombu and Celery do not document as their API.

Checked against kombu 5.7.0 and celery 5.7.0 (`CHECKED`). tests/worker/test_kombu_internals.py
fails when either installed version differs: re-read the places named below in the new
version, run that test file (it exercises each of them on a real Redis), then update CHECKED.

kombu.transport.redis (Channel, QoS):
- A queue is a Redis list named after it; a message sent with priority 3, 6 or 9 goes to a
  list of its own, the name + `sep` ('\\x06\\x16') + the priority (`_q_for_pri`,
  `priority_steps` [0, 3, 6, 9]).
- A message taken and not yet acknowledged is a field of the hash `unacked` (`unacked_key`),
  its value JSON `[message, exchange, routing_key]` (`QoS.append`); taking is BRPOP, then
  that HSET: a worker killed in between holds the message in memory only (worker/ledger.py).
- A message is JSON with the task id in `headers.id` (Celery's task protocol 2).

celery:
- `Task.retry` sends the retry with `apply_async(..., retries=N)` and, when that send fails
  (the broker is away), raises `Reject(exc, requeue=False)`: the message would be dropped
  (celery/app/task.py, `retry`). `retry_or_requeue` hands it back instead.
- The Redis result store keeps a task's result at `backend.get_key_for_task(id)`.
- A prefork pool's processes are `pool._pool._pool` (billiard), each with `exitcode` and
  `is_alive()` (the worker's health check, worker/health.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from celery.exceptions import Reject

# The versions the notes above were checked against.
CHECKED = {"kombu": "5.7.0", "celery": "5.7.0"}

QUEUE = "armswatch"  # the Celery queue (celery_app: task_default_queue)
UNACKED = "unacked"  # kombu's hash of taken, unacknowledged messages
PRIORITY_SEP = "\x06\x16"
# Priority 0 is the queue itself; 3, 6 and 9 are lists of their own.
QUEUES = [QUEUE, *(f"{QUEUE}{PRIORITY_SEP}{p}" for p in (3, 6, 9))]


def message_ids(queued: Iterable[bytes | str], taken: Iterable[bytes | str]) -> set[str]:
    """The task ids of kombu messages as stored in the queue lists and (with their exchange
    and routing key) in the unacked hash."""
    ids = set()
    for raw, is_taken in [*((q, False) for q in queued), *((t, True) for t in taken)]:
        try:
            message = json.loads(raw)
            ids.add(str((message[0] if is_taken else message)["headers"]["id"]))
        except (ValueError, LookupError, TypeError):
            continue
    return ids


def read_broker(pipe: Any) -> None:
    """Queue the broker's reads on a transaction; `broker_ids` reads their replies."""
    for key in QUEUES:
        pipe.lrange(key, 0, -1)
    pipe.hvals(UNACKED)


def broker_ids(replies: Sequence[Any]) -> set[str]:
    """The task ids queued or taken, from the replies of `read_broker`."""
    *queues, taken = replies[: len(QUEUES) + 1]
    return message_ids((m for q in queues for m in q), taken)


def result_key(backend: Any, task_id: str) -> bytes:
    """Where Celery's Redis result store keeps a task's result (a key as bytes)."""
    return bytes(backend.get_key_for_task(task_id))


def pool_processes(pool: Any) -> tuple[int, int]:
    """(live, configured) processes of a Celery pool; a solo or thread pool is one."""
    inner = getattr(pool, "_pool", None)
    procs = getattr(inner, "_pool", None)
    if procs is None:
        return 1, 1
    live = sum(1 for p in list(procs) if p.exitcode is None and p.is_alive())
    return live, int(getattr(pool, "limit", None) or len(procs) or 1)


def retry_or_requeue(
    retry: Callable[[], Any], cause: BaseException | None, requeued: Callable[[str], None]
) -> Any:
    """Call Celery's `Task.retry`; a retry it could not send is handed back (requeue) rather
    than dropped. `requeued` is told why, before the Reject is raised."""
    try:
        return retry()
    except Reject as rejected:
        reason: Any = rejected.reason  # type: ignore[attr-defined]
        if rejected.requeue:  # type: ignore[attr-defined]
            raise
        requeued(str(reason))
        raise Reject(reason, requeue=True) from cause
