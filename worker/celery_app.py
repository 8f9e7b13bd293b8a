"""The Celery app, built from Settings: JSON only, late acks, limits, retries."""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import Any, cast

import redis
import structlog
from celery import Celery, Task, states, uuid
from celery.signals import setup_logging, worker_init, worker_process_init

from .context import Context, prepare_fork, single_blas_thread
from .kombu_internals import QUEUE, retry_or_requeue
from .settings import Settings

log = structlog.get_logger("armswatch.tasks")

# Redis (broker and store in one) is away: nothing a task does can be finished or handed on.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
# Time kept back from the soft time limit after waiting for Redis, for the retry's publish.
_WAIT_MARGIN = 5.0


class ArmswatchApp(Celery):
    """A Celery app that carries the per-process Context its tasks use."""

    armswatch: Context


class ArmswatchTask(Task):  # type: ignore[type-arg]
    """Base task: reaches the per-process Context through its app; stops poison messages."""

    @property
    def ctx(self) -> Context:
        return cast(ArmswatchApp, self.app).armswatch

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # With late acks and requeue on worker loss, a message that kills its worker (out of
        # memory, a crash in C code) would come back forever. Count the starts of each
        # message in Redis; one started too often is dead-lettered instead of run again.
        request = self.request
        self.started = time.monotonic()
        if not request.is_eager and request.id:
            ctx = self.ctx
            key = ctx.keys.deliveries(request.id, request.retries or 0)
            pipe = ctx.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, ctx.settings.visibility_timeout_seconds * 4)
            try:
                starts = int(pipe.execute()[0])
            except (redis.ConnectionError, redis.TimeoutError):
                # Redis restarting: run uncounted rather than fail here, outside the task's
                # own retries (its first write will wait for Redis the way the task does).
                starts = 0
            if starts > ctx.settings.max_deliveries:
                self.dead_letter_poison(args, kwargs, starts - 1)
                return None
        return super().__call__(*args, **kwargs)

    # When the running task started (a pool process runs one task at a time).
    started: float = 0.0

    # The stubs spell out every option of retry; they are passed on unchanged.
    def retry(  # type: ignore[override]
        self, args: Any = None, kwargs: Any = None, exc: Exception | None = None, **options: Any
    ) -> Any:
        """Celery's retry, made safe for a Redis outage.

        Celery sends the retry as a new message and, when the broker is away, turns that
        into Reject(requeue=False): the message is dropped and its inputs lost. So a task
        that failed on Redis first waits for it (within its soft time limit); if the retry
        still cannot be sent, the message is handed back (requeue) instead. Should Redis
        still be away for that too, the message stays among kombu's unacknowledged ones and
        comes back after the visibility timeout: late, never lost.
        """
        if isinstance(exc, REDIS_DOWN):
            self.wait_for_redis()
        retry = partial(super().retry, args, kwargs, exc=exc, **options)
        return retry_or_requeue(retry, exc, self._requeued)

    def _requeued(self, reason: str) -> None:
        log.warning("retry_not_sent_requeued", task=self.name, error=reason)
        self._forget_start()

    def wait_for_redis(self) -> bool:
        """Wait until Redis answers, at most until shortly before the soft time limit."""
        started = self.started or time.monotonic()
        limit = float(self.soft_time_limit or self.app.conf.task_soft_time_limit or 60)
        deadline = started + limit - _WAIT_MARGIN
        pause = 0.25
        while True:
            try:
                return bool(self.ctx.redis.ping())
            except REDIS_DOWN:
                if time.monotonic() + pause > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _forget_start(self) -> None:
        """A message handed back for a Redis outage has not killed its worker: uncount it."""
        request = self.request
        if request.id:
            with contextlib.suppress(redis.RedisError):
                self.ctx.redis.decr(self.ctx.keys.deliveries(request.id, request.retries or 0))

    # Tasks whose loss would lose data (an article, a webhook) set this: they are written in
    # the ledger before they are sent and struck out when they end (worker/ledger.py).
    ledgered: bool = False

    def apply_async(  # type: ignore[override]
        self, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any
    ) -> Any:
        if self.ledgered and not self.app.conf.task_always_eager:
            from . import ledger

            ctx = self.ctx
            task_id = task_id or uuid()
            countdown = options.get("countdown") or 0
            eta = options.get("eta")
            due = eta.timestamp() if eta is not None else time.time() + countdown
            ledger.record(
                ctx.redis,
                ctx.keys,
                task_id,
                task=self.name,
                args=args or (),
                kwargs=kwargs or {},
                retries=int(options.get("retries") or 0),
                due=due,
            )
        return super().apply_async(args, kwargs, task_id=task_id, **options)

    def after_return(
        self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # A retry has written its own message down already; anything else ended for good.
        if self.ledgered and status in (states.SUCCESS, states.FAILURE) and task_id:
            from . import ledger

            # Left in the ledger if Redis is away: a sweep may run it again, harmlessly.
            with contextlib.suppress(redis.RedisError):
                ledger.settle(self.ctx.redis, self.ctx.keys, task_id)
        super().after_return(status, retval, task_id, args, kwargs, einfo)

    def dead_letter_poison(self, args: Any, kwargs: Any, lost: int) -> None:
        from pipelines.publish import dead_letter

        ctx = self.ctx
        dead_letter(
            client=ctx.redis,
            keys=ctx.keys,
            maxlen=ctx.settings.dlq_maxlen,
            input=f"task {self.name} {self.request.id}",
            stage="worker",
            error=f"the task was started {lost} times and never finished (its worker died)",
            error_type="PoisonMessage",
            payload={"task": self.name, "args": list(args), "kwargs": kwargs},
        )


def create_app(settings: Settings, redis_url: str) -> ArmswatchApp:
    """A Celery app on `redis_url` (broker and results) with the reliability settings."""
    app = ArmswatchApp(
        "armswatch",
        broker=redis_url,
        backend=redis_url,
        set_as_current=False,
        task_cls=ArmswatchTask,
    )
    app.conf.update(
        # JSON only: a message is data, never code (no pickle).
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Acknowledge after the task ran: a worker killed mid-task leaves the message to
        # be redelivered, and publishing is idempotent, so redelivery adds nothing twice.
        task_acks_late=True,
        # A pool child killed mid-task (OOM, hard time limit) requeues its message too.
        task_reject_on_worker_lost=True,
        # Tasks are long (NLP); prefetching more would strand messages on a busy worker.
        worker_prefetch_multiplier=1,
        # Soft limit: the task gets SoftTimeLimitExceeded and can dead-letter cleanly;
        # hard limit: the child is killed (a C extension stuck in a loop ignores signals).
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_annotations={"armswatch.*": {"max_retries": settings.max_retries}},
        broker_transport_options={
            # Unacknowledged messages go back to the queue after this: longer than any
            # countdown plus a run (Settings checks it), shorter than an operator's patience.
            "visibility_timeout": settings.visibility_timeout_seconds,
            # Look for them every restore_interval seconds (kombu scans every 10th call by
            # default, which makes a 10 s interval 100 s).
            "unacked_restore_interval": settings.restore_interval_seconds,
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": settings.restore_lock_seconds,
            # A broker that vanished without closing the socket must not hang a publish.
            "socket_timeout": 30,
            "socket_connect_timeout": 10,
            "health_check_interval": 30,
        },
        # The result store answers `replay --queue`; a day is enough to collect results.
        result_expires=24 * 3600,
        result_backend_transport_options={"retry_policy": {"timeout": 30.0}},
        # A result stored just as Redis goes away is stored again once it is back: otherwise
        # Celery fails a task whose work was done ("Exception raised outside body"), and
        # `replay --queue` reports its inputs rejected. Bounded (about 2 minutes); past the
        # hard time limit the task is killed and its message redelivered anyway.
        result_backend_always_retry=True,
        result_backend_max_retries=30,
        result_backend_base_sleep_between_retries_ms=200,
        result_backend_max_sleep_between_retries_ms=5000,
        redis_backend_health_check_interval=30,
        # Redis restarting must never end the worker: retry connecting forever.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # Enqueueing (poll_feed -> fetch_article, webhooks) retries while Redis comes back.
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 10,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 3,
        },
        # On a lost broker connection, let running tasks finish: their output is idempotent
        # and their messages are redelivered anyway if the acknowledgement cannot be sent.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Replace a pool child after N tasks: memory stays flat over months of running.
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
        worker_hijack_root_logger=False,
        task_default_queue=QUEUE,
        # Events for Flower and `celery events` (cheap: a few Redis publishes per task).
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    app.armswatch = Context(settings=settings, redis_url=redis_url)
    # subscriptions.yaml is validated now: a bad file stops the start (ConfigError, exit 2).
    _ = app.armswatch.subscriptions
    # Register the shared tasks on this app; the metrics module's signal handlers with them.
    from . import health, mail_tasks, metrics, tasks  # noqa: F401

    return app


@setup_logging.connect
def _keep_our_logging(**_: Any) -> None:
    """Logging is configured once by the command line (worker/logging.py), not by Celery."""


@worker_init.connect
def _load_before_fork(sender: Any = None, **_: Any) -> None:
    """A prefork worker loads the model before forking its pool: the children share it."""
    app = getattr(sender, "app", None)
    if isinstance(app, ArmswatchApp) and "prefork" in str(getattr(sender, "pool_cls", "")):
        prepare_fork(app.armswatch)


@worker_process_init.connect
def _child_started(**_: Any) -> None:
    """A pool child: one process per core already, so one BLAS thread each."""
    single_blas_thread()
