"""Celery tasks: thin shells that call the pipeline, publish, and map errors.

TransientError, Redis down -> retried with exponential backoff and jitter
InputRejected, StageFailed -> a dead-letter entry; the task itself succeeds
retries exhausted          -> a dead-letter entry for every input of the task

poll_feed      one feed -> fetch_article per new entry; a failure is recorded in the feed's
               state and the feed polled again after its backoff (never given up)
fetch_article  one entry -> published, a duplicate, or dead-lettered; transient failures
               retried with jittered backoff (Retry-After honoured), then the feed summary
"""

from __future__ import annotations

from typing import Any

import redis
import structlog
from celery import shared_task

from pipelines.errors import ArmswatchError, HostBusy, TransientError
from pipelines.pipeline import Result, process
from pipelines.publish import dead_letter, publish
from pipelines.record import Story, from_payload

from . import live
from .celery_app import ArmswatchTask
from .feeds import Feed

log = structlog.get_logger("armswatch.tasks")

RETRYABLE = (TransientError, redis.ConnectionError, redis.TimeoutError)
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


@shared_task(
    bind=True,
    base=ProcessTask,
    name="armswatch.process_batch",
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
)
def process_batch(self: ProcessTask, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Extract, clean, tag and publish a batch of inputs; return what became of each."""
    ctx = self.ctx
    inputs = [from_payload(p) for p in payloads]
    results = process(inputs, tagger=ctx.tagger, rules=ctx.rules)
    stories = [s for r in results for s in r.stories]
    published = {
        p.story_id: p.new
        for p in publish(
            stories,
            client=ctx.redis,
            keys=ctx.keys,
            maxlen=ctx.settings.stream_maxlen,
            seen_ttl=ctx.settings.seen_ttl_seconds,
        )
    }
    for result, payload in zip(results, payloads, strict=True):
        if result.error is not None:
            _reject(ctx, result.error, payload)
    return [summarize(r, published) for r in results]


def _reject(ctx: Any, error: ArmswatchError, payload: dict[str, Any]) -> None:
    log.warning("input_rejected", input=error.input, stage=error.stage, reason=error.reason)
    dead_letter(
        client=ctx.redis,
        keys=ctx.keys,
        maxlen=ctx.settings.dlq_maxlen,
        input=error.input or _label(payload),
        stage=error.stage,
        error=error.reason,
        error_type=type(error).__name__,
        payload=payload,
    )


def _label(payload: dict[str, Any]) -> str:
    source = payload.get("source") or {}
    return str(source.get("path") or source.get("url") or "<input>")


def summarize(result: Result, published: dict[str, bool]) -> dict[str, Any]:
    """A JSON-safe account of one input for progress and the replay table."""
    return {
        "input": result.input.label,
        "error": str(result.error) if result.error else None,
        "stage": result.error.stage if result.error else None,
        "stories": [_story_summary(s, published.get(s.id, False)) for s in result.stories],
    }


def _story_summary(story: Story, new: bool) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "relevant": story.relevant,
        "new": new,
        "transfers": [
            {
                "supplier": t.supplier,
                "recipient": t.recipient,
                "class": t.system_class,
                "status": t.status,
                "denied": t.denied,
            }
            for t in story.transfers
        ],
    }


# --- live monitoring ----------------------------------------------------------------------


@shared_task(bind=True, base=ArmswatchTask, name="armswatch.poll_feed")
def poll_feed(self: ArmswatchTask, feed: dict[str, Any]) -> dict[str, Any]:
    """Poll one feed; enqueue a fetch_article task per new entry."""
    ctx = self.ctx
    config = Feed.model_validate(feed)
    try:
        report = live.poll_feed(ctx, config)
    except HostBusy as exc:
        raise self.retry(countdown=exc.retry_after, max_retries=UNBOUNDED) from exc
    except TransientError as exc:  # recorded in the feed's state; the schedule retries it
        return {"feed": config.name, "status": "failed", "error": str(exc), "tasks": []}
    task = self.app.tasks[fetch_article.name]
    ids = [task.apply_async(args=(job.model_dump(mode="json"),)).id for job in report.jobs]
    return {
        "feed": config.name,
        "status": report.status,
        "error": report.error,
        "entries": report.entries,
        "tasks": ids,
    }


@shared_task(bind=True, base=ArmswatchTask, name="armswatch.fetch_article")
def fetch_article(self: ArmswatchTask, job: dict[str, Any]) -> dict[str, Any]:
    """Fetch, extract, de-duplicate, tag and publish one feed entry."""
    ctx = self.ctx
    entry = live.Job.model_validate(job)
    try:
        outcome = live.fetch_article(ctx, entry)
    except HostBusy as exc:  # our own politeness: come back when the host is free
        raise self.retry(countdown=exc.retry_after, max_retries=UNBOUNDED) from exc
    except RETRYABLE as exc:
        error = exc if isinstance(exc, TransientError) else TransientError(str(exc))
        if entry.attempt >= ctx.settings.max_retries:
            outcome = live.give_up(ctx, entry, error)
        else:
            # The attempt travels in the argument: deferrals above do not use up retries.
            again = entry.model_copy(update={"attempt": entry.attempt + 1})
            raise self.retry(
                args=(again.model_dump(mode="json"),),
                countdown=live.retry_delay(ctx, error, again.attempt),
                max_retries=UNBOUNDED,
            ) from exc
    return {
        "input": outcome.input,
        "status": outcome.status,
        "extraction": outcome.extraction,
        "stories": list(outcome.story_ids),
        "error": outcome.error,
    }
