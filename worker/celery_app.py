"""The Celery app, built from Settings: JSON only, late acks, limits, retries."""

from __future__ import annotations

from typing import Any, cast

from celery import Celery, Task
from celery.signals import setup_logging, worker_init, worker_process_init

from .context import Context, prepare_fork, single_blas_thread
from .settings import Settings


class ArmswatchApp(Celery):
    """A Celery app that carries the per-process Context its tasks use."""

    armswatch: Context


class ArmswatchTask(Task):  # type: ignore[type-arg]
    """Base task: reaches the per-process Context through its app."""

    @property
    def ctx(self) -> Context:
        return cast(ArmswatchApp, self.app).armswatch


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
        task_reject_on_worker_lost=True,
        # Tasks are long (NLP); prefetching more would strand messages on a busy worker.
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_annotations={
            "armswatch.*": {
                "max_retries": settings.max_retries,
                "retry_backoff_max": settings.retry_backoff_max,
            }
        },
        # Redelivery of unacknowledged messages happens after this; longer than any task.
        broker_transport_options={"visibility_timeout": 4 * settings.task_time_limit},
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_default_queue="armswatch",
    )
    app.armswatch = Context(settings=settings, redis_url=redis_url)
    # subscriptions.yaml is validated now: a bad file stops the start (ConfigError, exit 2).
    _ = app.armswatch.subscriptions
    # Register the shared tasks on this app.
    from . import tasks  # noqa: F401

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
