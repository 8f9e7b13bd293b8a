"""Live monitoring: `armswatch poll`, `beat` and `worker`."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any, NoReturn

import click
import structlog
from rich.table import Table

from ..feeds import Feed
from ..settings import Settings
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Problem,
    State,
    configured_feeds,
    open_app,
    progress_bar,
    report,
    stdout,
)

log = structlog.get_logger("armswatch.cli")


@click.command()
@click.option("--feed", "names", multiple=True, help="Poll only this feed (repeatable).")
@click.pass_obj
def poll(state: State, names: tuple[str, ...]) -> None:
    """Poll every feed of feeds.yaml once, process what is new, and return when done."""
    feeds = configured_feeds(state, names)
    with open_app(state.settings) as app:
        run_live(app, feeds)


def run_live(app: Any, feeds: Sequence[Feed], *, failed: bool = False) -> NoReturn:
    """Run one pass over `feeds` with progress, print the summary, exit 0 or 1."""
    from ..live import Outcome, PollReport, run_once
    from ..tasks import route_alerts

    ctx = app.armswatch

    route = partial(route_alerts, app)  # the alert stage, as the tasks run it

    with progress_bar() as progress:
        feed_bar = progress.add_task("feeds", total=len(feeds))
        article_bar = progress.add_task("articles", total=0)

        def on_event(kind: str, item: PollReport | Outcome) -> None:
            if isinstance(item, PollReport):
                progress.advance(feed_bar)
                total = progress.tasks[article_bar].total or 0
                progress.update(article_bar, total=total + len(item.jobs))
            else:
                progress.advance(article_bar)

        result = run_once(ctx, feeds, on_event=on_event, route=route)
    print_poll_table(result)
    problems = [Problem(f"feed {f.feed}", f.error or f.status) for f in result.failed_feeds] + [
        Problem(a.input, a.error or "rejected") for a in result.rejected
    ]
    report(problems)
    sys.exit(EXIT_REJECTED if problems or failed else EXIT_OK)


def print_poll_table(result: Any) -> None:
    table = Table(title="poll", title_justify="left")
    for column in (
        "feed",
        "status",
        "entries",
        "new",
        "published",
        "duplicates",
        "summary only",
        "rejected",
    ):
        table.add_column(column, overflow="fold")
    for feed in result.feeds:
        mine = [a for a in result.articles if a.feed == feed.feed]
        table.add_row(
            feed.feed,
            feed.status + (f" ({feed.error})" if feed.error else ""),
            str(feed.entries),
            str(len(feed.jobs)),
            str(sum(1 for a in mine if a.status == "published")),
            str(sum(1 for a in mine if a.status in ("duplicate", "already_published"))),
            str(sum(1 for a in mine if a.extraction == "feed_summary")),
            str(sum(1 for a in mine if a.status == "rejected")),
        )
    stdout.print(table)
    published = sum(1 for a in result.articles if a.status == "published")
    rejected = len(result.rejected)
    stdout.print(
        f"{len(result.feeds)} feeds, {len(result.articles)} new entries: {published} published"
        + (f", {rejected} rejected (in the dead-letter stream)." if rejected else ".")
    )


@click.command()
@click.pass_obj
def beat(state: State) -> None:
    """Enqueue each feed's poll at its interval (any number of beats may run at once)."""
    import signal
    import threading

    from ..ledger import resend_lost
    from ..mail_tasks import beat_digests
    from ..schedule import run_beat
    from ..tasks import poll_feed

    settings = state.settings
    feeds = configured_feeds(state)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with open_app(settings) as app:
        task = app.tasks[poll_feed.name]
        click.echo(f"armswatch beat: {len(feeds)} feeds from {settings.feeds_file}", err=True)
        run_beat(
            app.armswatch.redis,
            app.armswatch.keys,
            feeds,
            lambda feed: task.delay(feed.model_dump(mode="json")),
            default_interval=settings.feed_interval_seconds,
            tick=settings.beat_tick_seconds,
            stop=stop,
            sweep=lambda: (resend_lost(app), beat_digests(app)),
            sweep_every=settings.lost_message_check_seconds / 2,
            beat_id=f"{socket.gethostname()}:{os.getpid()}",
        )


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes [cores].")
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0, max=65535),
    help="Serve Prometheus metrics on this port, 0 for none [metrics_port: 9100].",
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def worker(
    state: State, concurrency: int | None, metrics_port: int | None, celery_args: tuple[str, ...]
) -> None:
    """Start a Celery worker for the armswatch tasks (extra args go to Celery)."""
    from .. import metrics

    settings = state.settings
    port = settings.metrics_port if metrics_port is None else metrics_port
    with open_app(settings) as app:
        served = _serve_metrics(app, settings, port)
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        end = metrics.advertise(app.armswatch.redis_url, settings.keys.worker(worker_id), served)
        argv = ["worker", "--loglevel", ("WARNING", "INFO", "DEBUG")[min(state.verbose, 2)]]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        try:
            app.worker_main([*argv, *celery_args])
        finally:
            end()


def _serve_metrics(app: Any, settings: Settings, port: int) -> dict[str, Any]:
    """Serve metrics if the port is free; a taken port (node_exporter's 9100 is common) is a
    warning, not a reason to stop a worker that may have been started in the background."""
    from .. import metrics

    if not port:
        return {"metrics": None, "reason": "turned off (metrics port 0)"}
    address = f"{settings.metrics_host}:{port}"
    try:
        metrics.serve(app.armswatch.redis_url, settings.keys, port=port, host=settings.metrics_host)
    except OSError as exc:
        reason = f"cannot serve metrics on {address}: {exc.strerror or exc}"
        click.echo(
            f"armswatch worker: WARNING: {reason}; running without metrics "
            "(choose a free port with --metrics-port N or ARMSWATCH_METRICS_PORT; 0: none)",
            err=True,
        )
        log.warning("metrics_not_served", address=address, reason=exc.strerror or str(exc))
        return {"metrics": None, "reason": reason}
    url = f"http://{address}/metrics"
    click.echo(f"armswatch worker: metrics on {url}", err=True)
    return {"metrics": url, "reason": None}
