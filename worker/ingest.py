"""One place runs a job: inputs to stories published, alerted and handed to webhooks.

    list[Story(raw)]      files, pages, feed entries (worker/live.py makes them from Jobs)
      process  -> list[Result]     extract, clean, identify, dedup (live), tag:
                                   pipelines/pipeline.py; identity is decided here for
                                   every path (worker/seen.py `Seen.identify`)
      publish  -> new or not       idempotent XADD to armswatch:tagged, once per story id
      route    -> list[Alert]      alert streams, then webhook tasks (worker/tasks.py)
      reject   -> armswatch:dlq    each input that failed, with what re-drives it
    list[Outcome]         per input: its stories (new or not, their alerts) or its error

Every entry point calls `ingest`: the process_batch task, `replay` in its own processes,
and the live path (fetch_article, `armswatch poll`) through worker/live.py. The shells
only adapt arguments and report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from pipelines.errors import ArmswatchError, Duplicate
from pipelines.pipeline import process
from pipelines.publish import dead_letter, publish
from pipelines.record import Story, to_payload

if TYPE_CHECKING:
    from pipelines.alerts import Alert

    from .context import Context

log = structlog.get_logger("armswatch.ingest")

# The alert stage after publish (worker.tasks.route_alerts on the app), given every story.
Route = Callable[[Sequence[Story]], "Sequence[Alert]"]
# What becomes of an input that failed: by default its dead letter (`dead_letter_input`).
Reject = Callable[["Context", ArmswatchError, Story], None]


@dataclass(frozen=True)
class StoryOutcome:
    """A story of an input: published now (`new`) or before, and the alerts it raised."""

    story: Story
    new: bool
    alerts: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        s = self.story
        return {
            "id": s.id,
            "title": s.title,
            "relevant": s.relevant,
            "new": self.new,
            "alerts": list(self.alerts),
            "transfers": [
                {
                    "supplier": t.supplier,
                    "recipient": t.recipient,
                    "class": t.system_class,
                    "status": t.status,
                    "denied": t.denied,
                }
                for t in s.transfers
            ],
        }


@dataclass(frozen=True)
class Outcome:
    """What became of one input."""

    input: Story
    stories: tuple[StoryOutcome, ...] = ()
    error: ArmswatchError | None = None
    duplicates: tuple[Duplicate, ...] = ()

    @property
    def new(self) -> bool:
        return any(s.new for s in self.stories)

    def summary(self) -> dict[str, Any]:
        """JSON-safe, for `replay --queue` (a task's result), progress and the replay table."""
        return {
            "input": self.input.label,
            "error": str(self.error) if self.error else None,
            "stage": self.error.stage if self.error else None,
            "stories": [s.summary() for s in self.stories],
        }


def dead_letter_input(ctx: Context, error: ArmswatchError, item: Story) -> None:
    """An input that failed for good, to `armswatch:dlq` with the payload that re-drives it."""
    log.warning("input_rejected", input=error.input, stage=error.stage, reason=error.reason)
    dead_letter(
        client=ctx.redis,
        keys=ctx.keys,
        maxlen=ctx.settings.dlq_maxlen,
        input=error.input or item.label,
        stage=error.stage,
        error=error.reason,
        error_type=type(error).__name__,
        payload=to_payload(item),
    )


def ingest(
    ctx: Context,
    inputs: Sequence[Story],
    *,
    route: Route | None,
    live: bool = False,
    reject: Reject | None = dead_letter_input,
) -> list[Outcome]:
    """Process, publish and alert a batch; each failed input to `reject` (None: the caller's).

    Every story gets its identity here: a body seen before is the story first seen with it.
    `live` (fetched pages): such copies and near-duplicates are dropped before tagging."""
    results = process(
        inputs,
        tagger=ctx.tagger,
        rules=ctx.rules,
        identify=partial(ctx.seen.identify, drop_copies=live),
        dedup=ctx.seen.dedup if live else None,
        extract_seconds=ctx.settings.extract_time_limit_seconds,
        clock=ctx.clock,
    )
    stories = [s for r in results for s in r.stories]
    with ctx.clock.timing("publish", len(stories)):
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
    for story in stories:  # one structured line per story, with its id (`--log-json`)
        log.info("story_published", story_id=story.id, input=story.source.path or story.source.url,
                 feed=story.source.feed, new=published.get(story.id, False),
                 relevant=story.relevant)  # fmt: skip
    alerted: dict[str, list[str]] = {}
    if route is not None and stories:
        with ctx.clock.timing("alerts", len(stories)):
            alerts = route(stories)
        for alert in alerts:
            log.info("alert", story_id=alert.story_id, subscription=alert.subscription,
                     kind=alert.kind)  # fmt: skip
            alerted.setdefault(alert.story_id, []).append(
                alert.subscription + ("" if alert.kind == "new" else f" ({alert.kind})")
            )
    outcomes = []
    for result in results:
        if result.error is not None and reject is not None:
            reject(ctx, result.error, result.input)
        outcomes.append(
            Outcome(
                result.input,
                tuple(
                    StoryOutcome(s, published.get(s.id, False), tuple(alerted.get(s.id, ())))
                    for s in result.stories
                ),
                result.error,
                result.duplicates,
            )
        )
    return outcomes
