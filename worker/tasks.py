"""Celery tasks: thin shells that call the pipeline, publish, and map errors.

TransientError, Redis down -> retried with exponential backoff and jitter
InputRejected, StageFailed -> a dead-letter entry; the task itself succeeds
retries exhausted          -> a dead-letter entry for every input of the task
"""

from __future__ import annotations

from typing import Any

import redis
import structlog
from celery import shared_task

from pipelines.errors import ArmswatchError, TransientError
from pipelines.pipeline import Result, process
from pipelines.publish import dead_letter, publish
from pipelines.record import Story, from_payload

from .celery_app import ArmswatchTask

log = structlog.get_logger("armswatch.tasks")

RETRYABLE = (TransientError, redis.ConnectionError, redis.TimeoutError)


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
