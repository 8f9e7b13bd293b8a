"""Celery tasks: thin shells that call the pipeline, publish, alert, and map errors.

TransientError, Redis down -> retried with exponential backoff and jitter
InputRejected, StageFailed -> a dead-letter entry; the task itself succeeds
retries exhausted          -> a dead-letter entry for every input of the task

After publish, `route_alerts` appends matching stories to the alert streams and hands new
alerts of webhook subscriptions to `deliver_webhook` (one task per alert and webhook).

poll_feed      one feed -> fetch_article per new entry; a failure is recorded in the feed's
               state and the feed polled again after its backoff (never given up)
fetch_article  one entry -> published, a duplicate, or dead-lettered; transient failures
               retried with jittered backoff (Retry-After honoured), then the feed summary
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

import redis
import structlog
from celery import shared_task

from pipelines.alert_formats import webhook_body
from pipelines.alerts import Alert, GroupReader, alert_json, route
from pipelines.errors import (
    ConfigError,
    HostBusy,
    InputRejected,
    RateLimited,
    TransientError,
)
from pipelines.keys import WEBHOOK_GROUP
from pipelines.ledger import ledger_step
from pipelines.publish import dead_letter
from pipelines.record import Story, from_payload
from pipelines.subscriptions import Subscription
from pipelines.webhooks import backoff, deliver, signing_key

from . import live
from .celery_app import REDIS_DOWN, ArmswatchApp, ArmswatchTask
from .context import Context
from .feeds import Feed
from .ingest import ingest

log = structlog.get_logger("armswatch.tasks")

RETRYABLE = (TransientError, *REDIS_DOWN)
# fetch_article counts its attempts in its argument (`Job.attempt`, bounded by max_retries),
# so that waiting for a busy host uses none; Celery's own count must not end it first.
UNBOUNDED = 2**31


class ProcessTask(ArmswatchTask):
    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Retries are exhausted (or something unforeseen): dead-letter every input."""
        payloads = args[0] if args else kwargs.get("payloads", [])
        ctx = self.ctx
        for payload in payloads:
            label = _label(payload)
            try:
                dead_letter(
                    client=ctx.redis,
                    keys=ctx.keys,
                    maxlen=ctx.settings.dlq_maxlen,
                    input=label,
                    stage="publish",
                    error=str(exc),
                    error_type=type(exc).__name__,
                    payload=payload,
                )
            except redis.RedisError:
                log.error("dead_letter_failed", input=label, error=str(exc))


@shared_task(bind=True, base=ProcessTask, name="armswatch.process_batch")
def process_batch(self: ProcessTask, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Extract, clean, tag and publish a batch of inputs; return what became of each."""
    try:
        return _process_batch(self, payloads)
    except RETRYABLE as exc:
        # Redis away, or a transient failure: again later, then the dead-letter stream
        # (on_failure). By hand, so that the countdown follows the settings' caps.
        s = self.ctx.settings
        wait = backoff(self.request.retries, base=1.0, cap=s.retry_backoff_max)
        log.warning("batch_retry", retries=self.request.retries, error=str(exc), retry_in=wait)
        raise self.retry(exc=exc, countdown=s.countdown(wait), max_retries=s.max_retries) from exc


def _process_batch(self: ProcessTask, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    app = cast(ArmswatchApp, self.app)
    inputs = [from_payload(p) for p in payloads]
    return [o.summary() for o in ingest(app.armswatch, inputs, route=partial(route_alerts, app))]


# --- alerts -----------------------------------------------------------------------------


def route_alerts(app: ArmswatchApp, stories: Sequence[Story]) -> list[Alert]:
    """The matcher stage after publish: alert streams, then webhook tasks (any code path).

    Pass every story of the batch, new or already published: the alert state, not the
    publish marker, decides what is new for each subscription.
    """
    from .mail_tasks import dispatch_email, ensure_outboxes  # imports this module

    ctx = app.armswatch
    subscriptions = ctx.subscriptions.current(ctx.redis)
    ensure_outboxes(ctx, subscriptions)
    alerts = route(
        stories,
        subscriptions,
        client=ctx.redis,
        keys=ctx.keys,
        maxlen=ctx.settings.stream_maxlen,
        seen_ttl=ctx.settings.seen_ttl_seconds,
        webhook_group=WEBHOOK_GROUP,
    )
    alerts += ledger_step(ctx, subscriptions)
    dispatch_webhooks(app, subscriptions)
    dispatch_email(app, subscriptions)
    return alerts


_DISPATCH_BATCH = 100


def dispatch_webhooks(app: ArmswatchApp, subscriptions: Sequence[Subscription]) -> int:
    """Enqueue a delivery for each alert not yet handed on; acknowledge it once enqueued.

    The alert stream's `webhooks` group is the outbox: an alert read here but never
    enqueued (the process died) stays pending and is reclaimed by a later call.
    """
    ctx = app.armswatch
    task = app.tasks[deliver_webhook.name]
    sent = 0
    for sub in subscriptions:
        hook = sub.webhook
        if hook is None:
            continue
        reader = GroupReader(ctx.redis, ctx.keys.alerts(sub.name), WEBHOOK_GROUP, "dispatcher")
        entries = reader.reclaim(
            min_idle_ms=ctx.settings.webhook_reclaim_seconds * 1000, count=_DISPATCH_BATCH
        )
        while True:
            fresh = reader.read(count=_DISPATCH_BATCH, block_ms=None)
            entries.extend(fresh)
            if len(fresh) < _DISPATCH_BATCH:
                break
        for entry_id, fields in entries:
            body = webhook_body(hook.format, alert_json(entry_id, fields))
            task.apply_async(args=(sub.name, entry_id, hook.url, hook.secret_env, body))
            reader.ack(entry_id)
            sent += 1
    return sent


@shared_task(
    bind=True,
    base=ArmswatchTask,
    name="armswatch.deliver_webhook",
    ledgered=True,  # a lost message is an alert never sent (worker/ledger.py)
    # Redis down (the marker, the dead-letter stream): retried like process_batch.
    autoretry_for=REDIS_DOWN,
    retry_backoff=True,
    retry_jitter=True,
)
def deliver_webhook(
    self: ArmswatchTask, subscription: str, entry_id: str, url: str, secret_env: str, body: str
) -> int | None:
    """POST one alert to its webhook, signed; retry with backoff; dead-letter when hopeless."""
    ctx = self.ctx
    settings = ctx.settings
    marker = ctx.keys.seen_webhook(subscription, entry_id)
    if ctx.redis.exists(marker):  # a repeated task (a reclaimed outbox entry): sent already
        return None
    args = (subscription, entry_id, url, secret_env, body)
    try:
        secret = os.environ.get(secret_env)
        if not secret:
            raise ConfigError(f"the environment variable {secret_env} (secret_env) is not set")
        status = deliver(
            ctx.http,
            url=url,
            body=body,
            msg_id=f"msg_{subscription}_{entry_id}",
            key=signing_key(secret),
            timestamp=int(time.time()),
            allow_private=settings.allow_private_networks,
        )
    except (InputRejected, ConfigError) as exc:
        _webhook_failed(ctx, args, f"{exc.reason}", type(exc).__name__)
        return None
    except TransientError as exc:
        # Retried by hand rather than by autoretry_for, whose countdown is whole seconds
        # from decoration-time options: here it follows the settings and Retry-After.
        attempts = self.request.retries + 1
        if self.request.retries >= settings.webhook_max_retries:
            reason = f"gave up after {attempts} tries: {exc.reason}"
            _webhook_failed(ctx, args, reason, type(exc).__name__)
            return None
        log.info("webhook_retry", subscription=subscription, entry_id=entry_id, error=str(exc))
        wait = backoff(
            self.request.retries,
            base=settings.webhook_backoff_base,
            cap=settings.webhook_backoff_max,
            retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
        )
        raise self.retry(
            exc=exc, countdown=settings.countdown(wait), max_retries=settings.webhook_max_retries
        ) from exc
    ctx.redis.set(marker, status, ex=settings.seen_ttl_seconds)
    log.info("webhook_delivered", subscription=subscription, entry_id=entry_id, status=status)
    return status


def _webhook_failed(ctx: Context, args: tuple[str, ...], reason: str, error_type: str) -> None:
    subscription, entry_id, url, secret_env, body = args
    log.warning("webhook_failed", subscription=subscription, entry_id=entry_id, reason=reason)
    dead_letter(
        client=ctx.redis,
        keys=ctx.keys,
        maxlen=ctx.settings.dlq_maxlen,
        input=f"webhook {subscription} {entry_id} -> {url}",
        stage="deliver",
        error=reason,
        error_type=error_type,
        payload={
            "subscription": subscription,
            "entry_id": entry_id,
            "url": url,
            "secret_env": secret_env,
            "body": body,
        },
    )


def _label(payload: dict[str, Any]) -> str:
    source = payload.get("source") or {}
    return str(source.get("path") or source.get("url") or "<input>")


# --- live monitoring ----------------------------------------------------------------------


@shared_task(bind=True, base=ArmswatchTask, name="armswatch.poll_feed")
def poll_feed(self: ArmswatchTask, feed: dict[str, Any]) -> dict[str, Any]:
    """Poll one feed; enqueue a fetch_article task per new entry."""
    ctx = self.ctx
    config = Feed.model_validate(feed)
    try:
        report = live.poll_feed(ctx, config)
    except HostBusy as exc:
        countdown = ctx.settings.countdown(exc.retry_after)
        raise self.retry(countdown=countdown, max_retries=UNBOUNDED) from exc
    except TransientError as exc:  # recorded in the feed's state; the schedule retries it
        return {"feed": config.name, "status": "failed", "error": str(exc), "tasks": []}
    task = self.app.tasks[fetch_article.name]
    ids = [task.apply_async(args=(job.model_dump(mode="json"),)).id for job in report.jobs]
    # Only now: a poll that dies before this (killed, Redis gone) is read again later.
    live.commit_poll(ctx, report)
    return {
        "feed": config.name,
        "status": report.status,
        "error": report.error,
        "entries": report.entries,
        "tasks": ids,
    }


@shared_task(bind=True, base=ArmswatchTask, name="armswatch.fetch_article", ledgered=True)
def fetch_article(self: ArmswatchTask, job: dict[str, Any]) -> dict[str, Any]:
    """Fetch, extract, de-duplicate, tag and publish one feed entry."""
    ctx = self.ctx
    entry = live.Job.model_validate(job)
    route = partial(route_alerts, cast(ArmswatchApp, self.app))
    try:
        outcome = live.fetch_article(ctx, entry, route=route)
    except HostBusy as exc:  # our own politeness: come back when the host is free
        countdown = ctx.settings.countdown(exc.retry_after)
        raise self.retry(countdown=countdown, max_retries=UNBOUNDED) from exc
    except REDIS_DOWN as exc:  # not the page's fault: uses none of its attempts
        raise self.retry(exc=exc, countdown=0, max_retries=UNBOUNDED) from exc
    except TransientError as error:
        if entry.attempt >= ctx.settings.max_retries:
            outcome = live.give_up(ctx, entry, error, route=route)
        else:
            # The attempt travels in the argument: deferrals above do not use up retries.
            again = entry.model_copy(update={"attempt": entry.attempt + 1})
            raise self.retry(
                args=(again.model_dump(mode="json"),),
                countdown=ctx.settings.countdown(live.retry_delay(ctx, error, again.attempt)),
                max_retries=UNBOUNDED,
            ) from error
    return {
        "input": outcome.input,
        "status": outcome.status,
        "extraction": outcome.extraction,
        "stories": list(outcome.story_ids),
        "error": outcome.error,
    }
