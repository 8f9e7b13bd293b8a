"""The pipeline: the named stages, in order, with the item's shape between them.

    Story(raw, raw_format)               a file, a page or a feed entry, as given
      extract  -> Story(text)            HTML through trafilatura; text passes through
      clean    -> list[Story(text, id)]  furniture removed, stories split, titles found
      identify -> list[Story(id)]        the id of the first story seen with the same body
                                         (worker/seen.py: a copy from a file or another URL
                                         is that story; live: dropped as a duplicate)
      dedup    -> list[Story(sources)]   (live only) near-duplicates of known stories dropped
      prefilter-> list[bool]             does the story name a weapon at all (most do not)
      tag      -> list[Story(tagged)]    entities, weapons, topics, transfers (nlp.pipe over
                                         the stories the prefilter let through)
    (publish is I/O: worker/tasks.py hands the result to pipelines.publish)

A failure in one input fails that input alone; the stage names fill the DLQ `stage` field,
and a StageClock, when given, adds up the time each stage takes (logs, bench/).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .clean import CleanRules, clean
from .errors import ArmswatchError, Duplicate, StageFailed
from .extract import extract
from .limits import time_limit
from .record import Story
from .tag import Tagger

T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    """What became of one input: its stories, or the error that stopped it."""

    input: Story
    stories: tuple[Story, ...] = ()
    error: ArmswatchError | None = None
    # Stories dropped by the dedup stage: copies of stories already known.
    duplicates: tuple[Duplicate, ...] = ()


# A dedup stage: the story (with its sources) if it is new, Duplicate if it is a copy.
Dedup = Callable[[Story], Story]
# The identity stage, over every story of a batch at once (one round trip): each story
# under its id for good, or the Duplicate that drops it (Redis errors pass).
Identify = Callable[[Sequence[Story]], Sequence[Story | Duplicate]]


@dataclass
class StageClock:
    """Seconds spent and items handled per stage, added up within one process."""

    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def timing(self, stage: str, items: int) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
            self.items[stage] = self.items.get(stage, 0) + items

    def totals(self) -> dict[str, dict[str, float]]:
        """{stage: {"seconds", "items"}}: JSON-safe, for logs and the benchmark."""
        return {s: {"seconds": t, "items": self.items[s]} for s, t in self.seconds.items()}


def run_stage(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a stage; any failure comes out as an ArmswatchError that names the stage."""
    try:
        return fn(*args, **kwargs)
    except ArmswatchError as exc:
        raise exc.at(stage=name) from exc.__cause__
    except Exception as exc:  # a bug in a stage must not take the other inputs down
        raise StageFailed(f"{type(exc).__name__}: {exc}", stage=name) from exc


def process(
    inputs: Sequence[Story],
    *,
    tagger: Tagger,
    rules: CleanRules,
    dedup: Dedup | None = None,
    identify: Identify | None = None,
    extract_seconds: float | None = None,
    clock: StageClock | None = None,
) -> list[Result]:
    """Run every input through the stages; stories of all inputs are tagged in one batch."""
    clock = clock or StageClock()
    results: list[Result | None] = [None] * len(inputs)
    cleaned: list[tuple[int, list[Story]]] = []
    duplicates: dict[int, list[Duplicate]] = {}
    for i, item in enumerate(inputs):
        try:
            with clock.timing("extract", 1), time_limit(extract_seconds, input=item.label):
                extracted = run_stage("extract", extract, item)
            with clock.timing("clean", 1):
                cleaned.append((i, run_stage("clean", clean, extracted, rules=rules)))
        except ArmswatchError as exc:
            results[i] = Result(item, error=exc.at(input=item.label))
    if identify is not None:
        with clock.timing("identify", sum(len(stories) for _, stories in cleaned)):
            cleaned = _identify(cleaned, identify, duplicates)
    if dedup is not None:
        kept: list[tuple[int, list[Story]]] = []
        for i, stories in cleaned:
            try:
                with clock.timing("dedup", len(stories)):
                    kept.append((i, _dedup(stories, dedup, duplicates.setdefault(i, []))))
            except ArmswatchError as exc:
                results[i] = Result(inputs[i], error=exc.at(input=inputs[i].label))
        cleaned = kept

    flat = [story for _, stories in cleaned for story in stories]
    try:
        with clock.timing("prefilter", len(flat)):
            needs = run_stage("prefilter", lambda: [tagger.needs_nlp(s) for s in flat])
        with clock.timing("tag", sum(needs)):
            tagged = iter(run_stage("tag", tagger.tag_many, flat, needs=needs))
        for i, stories in cleaned:
            results[i] = Result(
                inputs[i],
                stories=tuple(next(tagged) for _ in stories),
                duplicates=tuple(duplicates.get(i, ())),
            )
    except ArmswatchError:
        # Tag the inputs one by one so that only the input that breaks the tagger fails.
        for i, stories in cleaned:
            try:
                results[i] = Result(
                    inputs[i],
                    stories=tuple(run_stage("tag", tagger.tag_many, stories)),
                    duplicates=tuple(duplicates.get(i, ())),
                )
            except ArmswatchError as exc:
                results[i] = Result(inputs[i], error=exc.at(input=inputs[i].label))
    return [r for r in results if r is not None]


def _identify(
    cleaned: list[tuple[int, list[Story]]],
    identify: Identify,
    duplicates: dict[int, list[Duplicate]],
) -> list[tuple[int, list[Story]]]:
    # Not a run_stage: Redis going away must fail the batch (the task retries it), not
    # dead-letter its inputs, the way publish does.
    found = iter(identify([story for _, stories in cleaned for story in stories]))
    out: list[tuple[int, list[Story]]] = []
    for i, stories in cleaned:
        kept: list[Story] = []
        for _ in stories:
            story = next(found)
            if isinstance(story, Duplicate):
                duplicates.setdefault(i, []).append(story)
            else:
                kept.append(story)
        out.append((i, kept))
    return out


def _dedup(stories: list[Story], dedup: Dedup, dropped: list[Duplicate]) -> list[Story]:
    kept: list[Story] = []
    for story in stories:
        try:
            kept.append(run_stage("dedup", dedup, story))
        except Duplicate as exc:
            dropped.append(exc)
    return kept
