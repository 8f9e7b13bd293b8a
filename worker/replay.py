"""Replay on every core: batches of inputs through the Celery task's own code path.

    parent    loads the tagger once, freezes the GC, forks N children (the model's pages
              are shared copy-on-write: only what a child writes is its own)
    child     one BLAS thread (one process per core is the parallelism already); runs
              the tasks' job (`worker.ingest.ingest`) on each batch it is handed
    parent    gets each batch's summaries back in input order, with the child's pid, its
              stage clock and its peak RSS (the benchmark reads those)

With one process the batches run in the calling process, the same way.

`replay --queue` instead sends each batch as a `process_batch` message to the running
workers (`enqueue`) and waits for their results (`wait_for`).
"""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import os
import resource
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
import structlog
from celery import states

from pipelines.record import from_payload

from .celery_app import ArmswatchApp
from .context import prepare_fork, single_blas_thread
from .kombu_internals import broker_ids, read_broker, result_key
from .settings import Settings

Payloads = list[dict[str, Any]]
log = structlog.get_logger("armswatch.replay")


@dataclass(frozen=True)
class BatchDone:
    """What became of one batch, and where and at what cost it ran."""

    summaries: list[dict[str, Any]]
    pid: int
    clock: dict[str, dict[str, float]]  # the process's stage totals so far
    peak_rss: int  # bytes: the process's high-water mark so far


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def replay_plan(inputs: int, settings: Settings, processes: int | None) -> tuple[int, int]:
    """(inputs per batch, processes): every process gets work, batches stay bounded."""
    wanted = processes or settings.replay_processes or available_cores()
    size = max(1, min(settings.replay_batch_files, math.ceil(inputs / wanted)))
    return size, max(1, min(wanted, math.ceil(inputs / size)))


class Replayer:
    """A pool of `processes` forked workers (none when 1) that runs batches in order.

    At most two batches per process are in flight: inputs are read as the pool needs them,
    so memory does not grow with the folder. A child that dies breaks the pool
    (BrokenProcessPool, raised to the caller) instead of leaving a write to it hanging.
    """

    def __init__(self, app: ArmswatchApp, processes: int):
        self.app = app
        self.processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Replayer:
        if self.processes > 1:
            prepare_fork(self.app.armswatch)
            # fork: the children inherit the loaded model instead of loading it again.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_child_start,
                initargs=(self.app,),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            # On an error, queued batches are dropped and nothing waits on a dead child.
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self._pool = None
            gc.unfreeze()

    def run(self, batches: Iterable[Payloads]) -> Iterator[BatchDone]:
        """Each batch through the tasks' job (worker/ingest.py), in order."""
        if self._pool is None:
            yield from (_run(self.app, batch) for batch in batches)
            return
        window: deque[Future[BatchDone]] = deque()
        for batch in batches:
            window.append(self._pool.submit(_child_run, batch))
            if len(window) >= 2 * self.processes:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _run(app: ArmswatchApp, batch: Payloads) -> BatchDone:
    from . import metrics
    from .ingest import ingest
    from .tasks import route_alerts

    # The tasks' own job (worker/ingest.py), run in this process: no broker needed.
    inputs = [from_payload(p) for p in batch]
    summaries = [
        o.summary() for o in ingest(app.armswatch, inputs, route=partial(route_alerts, app))
    ]
    with contextlib.suppress(redis.RedisError):  # metrics never fail a batch
        metrics.record_stages(app.armswatch)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return BatchDone(summaries, os.getpid(), app.armswatch.clock.totals(), usage.ru_maxrss * 1024)


# The app of a pool child, set once by the pool's initializer (multiprocessing hands a
# function and its arguments to the children, not an object of ours).
_child_app: ArmswatchApp | None = None


def _child_start(app: ArmswatchApp) -> None:
    global _child_app
    _child_app = app
    single_blas_thread()


def _child_run(batch: Payloads) -> BatchDone:
    assert _child_app is not None, "the pool initializer sets the app"
    return _run(_child_app, batch)


# --- replay --queue: the batches as messages, for whatever workers are running ---------------


@dataclass(frozen=True)
class TaskDone:
    """A finished `process_batch` message: its summaries, or why it failed."""

    task_id: str
    summaries: list[dict[str, Any]]
    error: str | None = None


def enqueue(app: ArmswatchApp, batches: Iterable[Payloads]) -> list[str]:
    """One `process_batch` message per batch; their task ids, in order."""
    return [send(app, batch) for batch in batches]


def send(app: ArmswatchApp, batch: Payloads, task_id: str | None = None) -> str:
    from .tasks import process_batch

    return str(app.tasks[process_batch.name].apply_async(args=(batch,), task_id=task_id).id)


def wait_for(
    app: ArmswatchApp,
    tasks: Mapping[str, Payloads],
    *,
    poll_seconds: float = 0.5,
    idle_timeout: float | None = None,
    lost_check_seconds: float = 30.0,
) -> Iterator[TaskDone]:
    """Each task as it finishes, in any order, until all have.

    Reads the result store directly (one MGET per round) rather than through AsyncResult:
    a Redis restart or a worker killed mid-run is waited out here, not raised, since the
    messages are still in Redis and a worker will finish them. `idle_timeout`: give up
    (TimeoutError) when nothing finished for this long.

    Once nothing has finished for `lost_check_seconds`, it looks for messages the broker
    lost (`lost_messages`) and sends those batches again under the same task id.
    """
    backend = app.backend
    pending = list(tasks)
    last_progress = last_check = time.monotonic()
    suspects: set[str] = set()
    while pending:
        try:
            finished = list(_finished(backend, pending))
        except (redis.RedisError, OSError) as exc:
            log.warning("result_store_unavailable", error=str(exc))
            finished = []
        now = time.monotonic()
        if finished:
            last_progress = now
            done = {t.task_id for t in finished}
            pending = [t for t in pending if t not in done]
            yield from finished
        elif idle_timeout is not None and now - last_progress > idle_timeout:
            raise TimeoutError(
                f"no task finished for {idle_timeout:.0f} s; {len(pending)} of "
                f"{len(tasks)} still queued or running (is `armswatch worker` running?)"
            )
        elif now - max(last_progress, last_check) > lost_check_seconds:
            last_check = now
            suspects = _resend_lost(app, tasks, pending, suspects)
        if pending:
            time.sleep(poll_seconds)


def _resend_lost(
    app: ArmswatchApp, tasks: Mapping[str, Payloads], pending: Sequence[str], suspects: set[str]
) -> set[str]:
    """Send again what was missing twice in a row; return what is missing now."""
    try:
        missing = lost_messages(app, pending)
    except (redis.RedisError, OSError) as exc:
        log.warning("lost_message_check_failed", error=str(exc))
        return set()
    for task_id in sorted(missing & suspects):
        log.warning("message_lost_sent_again", task_id=task_id, files=len(tasks[task_id]))
        send(app, tasks[task_id], task_id)
    return missing - suspects


def lost_messages(app: ArmswatchApp, task_ids: Sequence[str]) -> set[str]:
    """The tasks that are nowhere in Redis: not queued, not taken by a worker, no result.

    kombu takes a message with BRPOP and records it as taken in a second step (see
    worker/ledger.py): a worker killed between the two loses the message. One atomic read
    of the queue, the taken messages and the results finds such messages; one just being
    taken is missing for a moment too, so a caller acts only on a task missing in two
    reads some seconds apart.
    """
    backend: Any = app.backend  # the Redis result store
    pipe = app.armswatch.redis.pipeline(transaction=True)
    read_broker(pipe)
    pipe.mget([result_key(backend, t) for t in task_ids])
    *broker, results = pipe.execute()
    present = broker_ids(broker)
    return {t for t, result in zip(task_ids, results, strict=True) if result is None} - present


def _finished(backend: Any, task_ids: Sequence[str]) -> Iterator[TaskDone]:
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start : start + 500]
        values = backend.mget([result_key(backend, t) for t in chunk])
        for task_id, value in zip(chunk, values, strict=True):
            if value is None:
                continue
            meta = backend.decode_result(value)
            if meta["status"] == states.SUCCESS:
                yield TaskDone(task_id, list(meta["result"]))
            elif meta["status"] in states.READY_STATES:  # failed: its inputs are dead-lettered
                yield TaskDone(task_id, [], error=f"{meta['status']}: {meta.get('result')}")
