"""`armswatch replay`: files through the live pipeline into Redis (here, --queue, --via-http)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.table import Table

from pipelines.errors import ArmswatchError
from pipelines.record import Story, to_payload

from ..feeds import Feed
from ..settings import Settings
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Problem,
    State,
    open_app,
    printable,
    progress_bar,
    report,
    stdout,
)
from .inputs import collect_files, read_inputs
from .live import run_live

if TYPE_CHECKING:
    from newssite import Article


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--processes", "-j", type=click.IntRange(min=1), help="Processes [replay_processes: cores]."
)
@click.option(
    "--via-http",
    is_flag=True,
    help="Serve the files as a news site on loopback (RSS + one page per story) and run "
    "the live path (poll, fetch, extract, dedup, tag, publish) against it.",
)
@click.option(
    "--queue",
    is_flag=True,
    help="Send the batches to the running workers (`armswatch worker`) instead of running "
    "them here, and wait until every one is done.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    help="With --queue: give up when no batch finished for this many seconds [wait forever].",
)
@click.pass_obj
def replay(
    state: State,
    paths: tuple[str, ...],
    processes: int | None,
    via_http: bool,
    queue: bool,
    timeout: float | None,
) -> None:
    """Replay files or folders (default seeds/) through the live pipeline into Redis."""
    from ..replay import Replayer, replay_plan

    settings = state.settings
    files, problems = collect_files(paths or ("seeds",))
    if via_http:
        replay_via_http(settings, files, problems)
    if queue:
        inputs, unreadable = read_inputs([str(f) for f in files], settings)
        problems.extend(unreadable)
        _replay_queued(settings, inputs, problems, timeout=timeout)
    rows: list[dict[str, Any]] = []
    size, processes = replay_plan(len(files), settings, processes)
    pids: set[int] = set()
    # The pool is forked before the progress display starts its thread.
    with (
        open_app(settings) as app,
        Replayer(app, processes) as replayer,
        progress_bar() as progress,
    ):
        dead_letter_unread(app, problems)
        bar = progress.add_task("replaying", total=len(files))

        def batches() -> Iterator[list[dict[str, Any]]]:
            """Files read a batch at a time, as the pool asks: memory does not grow with
            the folder."""
            for start in range(0, len(files), size):
                names = [str(f) for f in files[start : start + size]]
                inputs, unreadable = read_inputs(names, settings)
                problems.extend(unreadable)
                dead_letter_unread(app, unreadable)
                progress.advance(bar, len(unreadable))
                if inputs:
                    yield [to_payload(s) for s in inputs]

        # The tasks' own job (worker/ingest.py), in each process (no worker needed).
        for done in replayer.run(batches()):
            pids.add(done.pid)
            for summary in done.summaries:
                rows.append(summary)
                if summary["error"]:
                    problems.append(Problem(summary["input"], summary["error"]))
            progress.advance(bar, len(done.summaries))
    _print_replay_table(rows, processes=len(pids))
    report(problems)
    sys.exit(EXIT_REJECTED if problems else EXIT_OK)


def _replay_queued(
    settings: Settings, inputs: Sequence[Story], problems: list[Problem], *, timeout: float | None
) -> NoReturn:
    """replay --queue: one message per batch to the workers, then wait for every result."""
    from ..replay import enqueue, wait_for

    size = settings.replay_batch_files
    batches = [[to_payload(s) for s in inputs[i : i + size]] for i in range(0, len(inputs), size)]
    rows: list[dict[str, Any]] = []
    with open_app(settings) as app:
        dead_letter_unread(app, problems)
        task_ids = enqueue(app, batches)
        tasks = dict(zip(task_ids, batches, strict=True))
        click.echo(
            f"Queued {len(inputs)} files as {len(task_ids)} tasks; waiting for the workers "
            "(`armswatch worker`).",
            err=True,
        )
        with progress_bar() as progress:
            bar = progress.add_task("processed by workers", total=len(inputs))
            try:
                for done in wait_for(
                    app,
                    tasks,
                    idle_timeout=timeout,
                    lost_check_seconds=settings.lost_message_check_seconds,
                ):
                    if done.error:  # the task failed for good: its inputs are in the DLQ
                        problems.append(Problem(f"task {done.task_id}", done.error))
                    for summary in done.summaries:
                        rows.append(summary)
                        if summary["error"]:
                            problems.append(Problem(summary["input"], summary["error"]))
                    progress.advance(bar, len(tasks[done.task_id]))
            except TimeoutError as exc:
                problems.append(Problem("replay --queue", str(exc)))
    rows.sort(key=lambda r: r["input"])
    _print_replay_table(rows, processes=None)
    report(problems)
    sys.exit(EXIT_REJECTED if problems else EXIT_OK)


_TABLE_MAX_ROWS = 200


def _print_replay_table(rows: Sequence[dict[str, Any]], *, processes: int | None) -> None:
    table = Table(title="replay", title_justify="left", show_lines=False)
    for column in ("file", "stories", "relevant", "transfers", "published", "alerts"):
        table.add_column(column, overflow="fold")
    total = new = 0
    for row in rows:
        stories = row["stories"]
        transfers = "\n".join(
            f"{t['supplier']} -> {t['recipient']}, {t['class']}, {t['status']}"
            + (" (denied)" if t["denied"] else "")
            for s in stories
            for t in s["transfers"]
        )
        fresh = sum(1 for s in stories if s["new"])
        total += len(stories)
        new += fresh
        published = (
            "rejected"
            if row["error"]
            else "new"
            if fresh == len(stories)
            else "already seen"
            if fresh == 0
            else f"{fresh} new, {len(stories) - fresh} already seen"
        )
        table.add_row(
            printable(row["input"]),
            str(len(stories)),
            str(sum(1 for s in stories if s["relevant"])),
            transfers or "-",
            published,
            "\n".join(a for s in stories for a in s.get("alerts", [])) or "-",
        )
    if len(rows) <= _TABLE_MAX_ROWS:
        stdout.print(table)
    alerts = Counter(
        a.split(" ")[0] for row in rows for s in row["stories"] for a in s.get("alerts", [])
    )
    if alerts:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(alerts.items()))
        stdout.print(f"{alerts.total()} new alerts: {counts}.")
    if total and not new:
        stdout.print(f"Nothing new: all {total} stories were already published.")
    else:
        stdout.print(
            f"{total} stories from {len(rows)} files: {new} new, {total - new} already seen."
        )
    if processes is None:
        stdout.print("Processed by the workers (--queue).")
    else:
        stdout.print(f"Replayed on {processes} process{'es' if processes != 1 else ''}.")


def replay_via_http(settings: Settings, files: Sequence[Path], unread: list[Problem]) -> NoReturn:
    from newssite import NewsSite, articles_from_files, publish_site

    articles: list[Article] = []
    for path in files:
        try:
            articles.extend(articles_from_files([path], max_bytes=settings.max_input_bytes))
        except ArmswatchError as exc:
            unread.append(Problem(str(path), exc.reason))
    report(unread)
    # The site is ours and on loopback: private addresses and no delay are fine for it.
    local = settings.model_copy(
        update={"allow_private_networks": True, "host_min_delay_seconds": 0.0}
    )
    with NewsSite() as site, open_app(local) as app:
        dead_letter_unread(app, unread)
        feed = Feed(name="replay-http", url=publish_site(site, articles), tags=("replay",))
        stdout.print(f"Serving {len(articles)} stories at {feed.url}")
        run_live(app, [feed], failed=bool(unread))


def dead_letter_unread(app: Any, problems: Sequence[Problem]) -> None:
    """Inputs refused when read (missing, a loop, empty, binary, too large) are dead letters
    too, in stage `read`: nothing in them to re-drive, but the stream lists every failure."""
    from pipelines.publish import dead_letter

    ctx = app.armswatch
    for problem in problems:
        dead_letter(
            client=ctx.redis,
            keys=ctx.keys,
            maxlen=ctx.settings.dlq_maxlen,
            input=problem.input,
            stage="read",
            error=problem.reason,
            error_type="InputRejected",
        )
