"""The live path, shared by the Celery tasks and `armswatch poll`:

    Feed                     feeds.yaml entry
      poll_feed   -> list[Job]             conditional GET, parse, entries not seen before
    Job                      one new entry: link, canonical URL, title, summary
      fetch_page  -> Story(raw)            robots.txt, host turn, bounded GET (or the summary)
      process     -> Result                extract, clean, identify, dedup, tag (pipelines.pipeline)
      publish     -> Outcome               idempotent XADD; failures to the dead-letter stream

Transient failures (network, 5xx, 429) are raised to the caller, which retries with backoff
(Celery's retry in worker/tasks.py, an in-process queue in `run_once`); `give_up` ends an
article whose retries are exhausted: its feed summary if it has one, else the DLQ.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import httpx
import redis
import structlog
from pydantic import BaseModel, ConfigDict

from pipelines.decode import decode_text
from pipelines.errors import (
    ArmswatchError,
    HostBusy,
    InputRejected,
    RateLimited,
    TransientError,
    UnsafeURL,
)
from pipelines.extract import looks_like_html
from pipelines.fetch import (
    FeedEntry,
    check_page_type,
    check_status,
    content_digest,
    media_type,
    parse_feed,
)
from pipelines.publish import dead_letter
from pipelines.record import Source, Story
from pipelines.retry import backoff

from . import http, metrics
from .feeds import Feed, FeedState
from .ingest import Route, ingest

if TYPE_CHECKING:
    from .context import Context

log = structlog.get_logger("armswatch.live")


class Job(BaseModel):
    """A feed entry to fetch: the fetch_article task's argument (JSON)."""

    model_config = ConfigDict(frozen=True)

    feed: str
    tags: tuple[str, ...] = ()
    entry_id: str
    link: str
    url: str
    title: str | None = None
    summary: str | None = None
    published: str | None = None
    attempt: int = 0
    # When the poll found it: the poll-to-publish latency metric starts here.
    polled_at: float | None = None
    # Why its link cannot be fetched (pipelines.fetch.FeedEntry): dead-lettered, not fetched.
    problem: str | None = None

    @classmethod
    def of(cls, feed: Feed, entry: FeedEntry, polled_at: float | None = None) -> Job:
        return cls(feed=feed.name, tags=feed.tags, polled_at=polled_at, **asdict(entry))

    @property
    def source(self) -> Source:
        return Source(kind="feed", url=self.url, feed=self.feed, tags=self.tags)


PollStatus = Literal["ok", "not_modified", "unchanged", "deferred", "busy", "failed"]


@dataclass(frozen=True)
class PollReport:
    feed: str
    status: PollStatus
    jobs: tuple[Job, ...] = ()
    entries: int = 0
    error: str | None = None
    warning: str | None = None
    next_poll: float = 0.0
    # Saved by `commit_poll` once the jobs are handed on (until then, the next poll reads
    # the feed again and the claimed entries come back when their claim lapses).
    state: FeedState | None = None


ArticleStatus = Literal["published", "already_published", "duplicate", "rejected"]


@dataclass(frozen=True)
class Outcome:
    input: str
    feed: str
    status: ArticleStatus
    extraction: str | None = None
    story_ids: tuple[str, ...] = ()
    error: str | None = None


# --- feeds ------------------------------------------------------------------------------


def poll_feed(ctx: Context, feed: Feed, *, force: bool = False) -> PollReport:
    """Poll one feed: new entries become Jobs; a failure is recorded in the feed's state and
    raised when it may go away (TransientError), returned as `failed` when it may not."""
    s, r = ctx.settings, ctx.redis
    state = FeedState.load(r, ctx.keys, feed.name)
    now = time.time()
    if state.backing_off(now) and not force:
        return PollReport(feed.name, "deferred", next_poll=state.next_poll, error=state.last_error)
    lock = r.lock(ctx.keys.feed_lock(feed.name), timeout=s.http_total_timeout * 2 + 30)
    if not lock.acquire(blocking=False):  # another process is polling it right now
        return PollReport(feed.name, "busy")
    try:
        report = _poll(ctx, feed, state, now)
    except HostBusy:  # our own politeness, not the feed's failure
        raise
    except TransientError as exc:
        _failed(ctx, feed, state, exc, now)
        raise
    except InputRejected as exc:  # a malformed feed may be fixed: keep polling, say so
        state = _failed(ctx, feed, state, exc, now)
        return PollReport(feed.name, "failed", error=str(exc), next_poll=state.next_poll)
    finally:
        lock.release()
    log.info("feed_polled", feed=feed.name, status=report.status, new=len(report.jobs))
    return report


def _poll(ctx: Context, feed: Feed, state: FeedState, now: float) -> PollReport:
    s = ctx.settings
    with ctx.hosts.turn(feed.url, min_delay=s.host_min_delay_seconds, wait=s.host_wait_max_seconds):
        response = http.get(
            ctx.fetcher,
            feed.url,
            headers=state.conditional_headers(),
            max_bytes=s.max_feed_bytes,
            max_redirects=s.max_redirects,
            total_timeout=s.http_total_timeout,
        )
    _check(ctx, response)
    ok = replace(state, last_poll=now, last_ok=now, last_error="", failures=0, next_poll=0.0)
    if response.status == 304:
        ok.save(ctx.redis, ctx.keys, feed.name)
        return PollReport(feed.name, "not_modified")
    body_hash = content_digest(response.body)
    ok = replace(
        ok,
        etag=response.headers.get("etag", ""),
        last_modified=response.headers.get("last-modified", ""),
        content_hash=body_hash,
    )
    if body_hash == state.content_hash:  # the server ignores conditional requests
        ok.save(ctx.redis, ctx.keys, feed.name)
        return PollReport(feed.name, "unchanged")
    parsed = parse_feed(
        response.body,
        url=response.url,
        content_type=response.headers.get("content-type"),
        max_entries=s.max_feed_entries,
    )
    if parsed.warning:
        log.warning("feed_malformed", feed=feed.name, warning=parsed.warning)
    source = Source(kind="feed", feed=feed.name, tags=feed.tags)
    # Entries with a bad link are taken too: each becomes one dead letter, not one per poll.
    fresh = ctx.seen.take_entries(feed.name, parsed.entries + parsed.rejected, source)
    if not fresh:
        ok.save(ctx.redis, ctx.keys, feed.name)
    return PollReport(
        feed.name,
        "ok",
        jobs=tuple(Job.of(feed, e, polled_at=now) for e in fresh),
        entries=len(parsed.entries),
        warning=parsed.warning,
        state=ok if fresh else None,
    )


def commit_poll(ctx: Context, report: PollReport) -> None:
    """The poll's jobs are handed on (enqueued, or queued in this process): its entries are
    taken for good and the feed's state (ETag, content hash) is saved."""
    if report.jobs:
        ctx.seen.confirm_entries(report.feed, [(j.url, j.entry_id) for j in report.jobs])
    if report.state is not None:
        report.state.save(ctx.redis, ctx.keys, report.feed)


def _failed(
    ctx: Context, feed: Feed, state: FeedState, exc: ArmswatchError, now: float
) -> FeedState:
    """Record a failed poll: the error, one more failure, and when to try again."""
    s = ctx.settings
    failures = state.failures + 1
    wait = backoff(
        failures - 1,
        base=s.feed_backoff_base_seconds,
        cap=s.feed_backoff_max_seconds,
        retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
    )
    new = replace(
        state, last_poll=now, last_error=str(exc), failures=failures, next_poll=now + wait
    )
    new.save(ctx.redis, ctx.keys, feed.name)
    metrics.count(ctx.redis, ctx.keys, f"failures|poll|{type(exc).__name__}")
    # The scheduler polls it again when the backoff ends (not before, not never).
    ctx.redis.zadd(ctx.keys.schedule, {feed.name: new.next_poll})
    log.warning("feed_failed", feed=feed.name, error=str(exc), failures=failures, retry_in=wait)
    return new


def _check(ctx: Context, response: http.Response) -> None:
    """Status to errors; a 429/503 also pauses the whole host."""
    s = ctx.settings
    try:
        check_status(
            response.status,
            url=response.url,
            retry_after=response.headers.get("retry-after"),
            now=time.time(),
            max_wait=s.max_retry_after_seconds,
        )
    except RateLimited as exc:
        if exc.retry_after > 0:
            ctx.hosts.pause(response.url, exc.retry_after)
        raise


# --- articles ---------------------------------------------------------------------------


def fetch_article(ctx: Context, job: Job, *, route: Route | None = None) -> Outcome:
    """Fetch, extract, de-duplicate, tag and publish one entry (then `route` the stories to
    the alert streams). TransientError (and HostBusy) propagate for the caller to retry;
    everything else ends here, published or dead-lettered."""
    if job.problem:  # a link nothing can fetch: the entry is dead-lettered with the reason
        return reject(ctx, job, InputRejected(job.problem, input=job.link, stage="poll"))
    try:
        story = fetch_page(ctx, job)
    except UnsafeURL as exc:  # a security refusal: nothing is fetched and nothing published
        return reject(ctx, job, exc)
    except InputRejected as exc:  # 404, not a page, too big, robots.txt: the feed's summary
        return _from_summary(ctx, job, exc, route)
    return _process(ctx, job, story, page_error=None, route=route)


def fetch_page(ctx: Context, job: Job) -> Story:
    """The article page as an input Story (raw HTML or text)."""
    s = ctx.settings

    def allowed(url: str) -> None:  # every hop: robots.txt (the transport checks addresses)
        ctx.hosts.check(url, ctx.fetcher)

    delay = ctx.hosts.check(job.link, ctx.fetcher)

    def page_type(response: httpx.Response) -> None:  # before reading the body
        check_page_type(response.headers.get("content-type"), url=str(response.url))

    with ctx.hosts.turn(job.link, min_delay=delay, wait=s.host_wait_max_seconds):
        response = http.get(
            ctx.fetcher,
            job.link,
            max_bytes=s.max_input_bytes,
            max_redirects=s.max_redirects,
            total_timeout=s.http_total_timeout,
            check_hop=allowed,
            check_headers=page_type,
        )
    _check(ctx, response)
    kind, declared = media_type(response.headers.get("content-type"))
    decoded = decode_text(
        response.body, name=response.url, declared=declared, max_bytes=s.max_input_bytes
    )
    html = kind != "text/plain" or looks_like_html(decoded.text)
    story = _input(job, decoded.text, "html" if html else "text")
    return story.model_copy(update={"decode_errors": decoded.errors or None})


def _input(job: Job, raw: str, raw_format: Literal["text", "html"]) -> Story:
    return Story(
        source=job.source,
        title=job.title,
        published=job.published,
        raw=raw,
        raw_format=raw_format,
    )


def _from_summary(
    ctx: Context, job: Job, page_error: ArmswatchError, route: Route | None
) -> Outcome:
    """The feed's own summary stands in for a page that cannot be had."""
    if not job.summary:
        return reject(ctx, job, page_error)
    log.info("using_feed_summary", url=job.link, reason=str(page_error))
    return _process(ctx, job, _input(job, job.summary, "text"), page_error=page_error, route=route)


def _process(
    ctx: Context,
    job: Job,
    story: Story,
    *,
    page_error: ArmswatchError | None,
    route: Route | None,
) -> Outcome:
    from_summary = page_error is not None
    if from_summary:
        story = story.model_copy(update={"extraction": "feed_summary"})
    (done,) = ingest(ctx, [story], route=route, live=True, reject=None)
    if done.error is not None:
        if not from_summary and job.summary and done.error.stage in ("extract", "clean"):
            return _from_summary(ctx, job, done.error, route)
        return reject(ctx, job, done.error)
    if job.polled_at is not None and done.new:
        metrics.observe_latency(ctx.redis, ctx.keys, time.time() - job.polled_at)
    if not done.stories:
        return Outcome(job.link, job.feed, "duplicate", error=done.duplicates[0].reason)
    status: ArticleStatus = "published" if done.new else "already_published"
    first = done.stories[0].story
    return Outcome(
        job.link, job.feed, status, first.extraction, tuple(s.story.id for s in done.stories)
    )


def reject(ctx: Context, job: Job, error: ArmswatchError) -> Outcome:
    """Dead-letter the entry with its reason."""
    log.warning("article_rejected", url=job.link, stage=error.stage, reason=error.reason)
    dead_letter(
        client=ctx.redis,
        keys=ctx.keys,
        maxlen=ctx.settings.dlq_maxlen,
        input=job.link,
        stage=error.stage or "fetch",
        error=error.reason,
        error_type=type(error).__name__,
        payload=job.model_dump(mode="json"),
    )
    return Outcome(job.link, job.feed, "rejected", error=str(error))


def give_up(
    ctx: Context, job: Job, error: ArmswatchError, *, route: Route | None = None
) -> Outcome:
    """Retries are exhausted: the feed's summary if there is one, else the DLQ."""
    return _from_summary(ctx, job, error.at(stage=error.stage or "fetch"), route)


def retry_delay(ctx: Context, error: TransientError, attempt: int) -> float:
    """When to try a failed article again: Retry-After if given, else jittered backoff."""
    s = ctx.settings
    wait = backoff(attempt - 1, base=s.fetch_retry_base_seconds, cap=s.retry_backoff_max)
    # A Retry-After (already bounded by max_retry_after_seconds) wins when it is longer.
    return max(wait, error.retry_after if isinstance(error, RateLimited) else 0.0)


# --- one pass over every feed (`armswatch poll`) -----------------------------------------


@dataclass
class RunReport:
    feeds: list[PollReport] = field(default_factory=list)
    articles: list[Outcome] = field(default_factory=list)

    @property
    def failed_feeds(self) -> list[PollReport]:
        return [f for f in self.feeds if f.status in ("failed", "deferred")]

    @property
    def rejected(self) -> list[Outcome]:
        return [a for a in self.articles if a.status == "rejected"]


Event = Callable[[str, Any], None]


def run_once(
    ctx: Context,
    feeds: Sequence[Feed],
    *,
    on_event: Event | None = None,
    route: Route | None = None,
) -> RunReport:
    """Poll every feed once and process every new entry, retrying in-process; returns when
    nothing is left. Retries longer than `poll_wait_max_seconds` are reported, not awaited."""
    s = ctx.settings
    report = RunReport()
    emit = on_event or (lambda kind, item: None)
    order = itertools.count()
    # (ready at, order, attempt, feed or job): one queue, so articles of a fast host are not
    # stuck behind a slow one.
    queue: list[tuple[float, int, int, Feed | Job]] = []
    for feed in feeds:
        heapq.heappush(queue, (0.0, next(order), 0, feed))
    while queue:
        ready, _, attempt, item = heapq.heappop(queue)
        if (pause := ready - time.monotonic()) > 0:
            time.sleep(pause)
        try:
            if isinstance(item, Feed):
                polled = poll_feed(ctx, item, force=attempt > 0)
                commit_poll(ctx, polled)  # its jobs are in this run's queue now
                report.feeds.append(polled)
                emit("feed", polled)
                for job in polled.jobs:
                    heapq.heappush(queue, (0.0, next(order), 0, job))
            else:
                job = item.model_copy(update={"attempt": attempt})
                outcome = fetch_article(ctx, job, route=route)
                report.articles.append(outcome)
                emit("article", outcome)
        except HostBusy as exc:  # our own politeness: wait for the host, no attempt used
            heapq.heappush(queue, (time.monotonic() + exc.retry_after, next(order), attempt, item))
        except (TransientError, redis.ConnectionError) as exc:
            error = exc if isinstance(exc, TransientError) else TransientError(str(exc))
            wait = retry_delay(ctx, error, attempt + 1)
            if attempt < s.max_retries and wait <= s.poll_wait_max_seconds:
                heapq.heappush(queue, (time.monotonic() + wait, next(order), attempt + 1, item))
                continue
            if isinstance(item, Feed):
                failed = PollReport(item.name, "failed", error=str(error))
                report.feeds.append(failed)
                emit("feed", failed)
            else:
                outcome = give_up(ctx, item, error, route=route)
                report.articles.append(outcome)
                emit("article", outcome)
    # No task ran, so no task_postrun added the stage counts: add them here.
    with contextlib.suppress(redis.RedisError):  # the pass is done; counters never fail it
        metrics.record_stages(ctx)
    return report
