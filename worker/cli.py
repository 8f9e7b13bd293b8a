"""The `armswatch` command line (CONTRACT.md, "Command line").

Exit codes: 0 done; 1 some inputs were rejected (each named on stderr, the rest
processed); 2 usage or configuration error.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import redis
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.alerts import GroupReader, alert_json, format_alert
from pipelines.clean import default_rules
from pipelines.decode import decode
from pipelines.errors import ArmswatchError, ConfigError, InputRejected, TransientError, UnsafeURL
from pipelines.keys import SUBSCRIBE_GROUP
from pipelines.netguard import check_url
from pipelines.record import STATUSES, SYSTEM_CLASSES, TOPICS, Source, Story, to_payload
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import load_subscriptions, validate_subscription

from .cli_ledger import ledger
from .feeds import Feed, load_feeds
from .logging import configure_logging
from .settings import Settings

# spaCy, trafilatura and Celery load on first use, in the commands that need them: `status
# --ping` (a health check) and `--help` must not pay seconds of CPU for a model they never use.
if TYPE_CHECKING:
    from .site import Article

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
INPUT_SUFFIXES = frozenset({".txt", ".text", ".html", ".htm", ".xhtml"})

# Rich only for the table and progress; a file or pipe gets a wide table, not 80 columns.
stderr = Console(stderr=True)
stdout = Console(width=None if sys.stdout.isatty() else 160)


@dataclass
class State:
    settings: Settings
    verbose: int


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"armswatch: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config-dir",
    type=click.Path(path_type=Path),
    envvar="ARMSWATCH_CONFIG_DIR",
    help="Folder with settings.toml, feeds.yaml, subscriptions.yaml [config/].",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--log-json", is_flag=True, help="Logs as JSON lines on stderr.")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None, verbose: int, log_json: bool) -> None:
    """Watch the news for drone and missile transfers."""
    configure_logging(level=("WARNING", "INFO", "DEBUG")[min(verbose, 2)], json=log_json)
    try:
        settings = Settings.load(**({"config_dir": config_dir} if config_dir else {}))
    except ConfigError as exc:
        fail(str(exc))
    ctx.obj = State(settings=settings, verbose=verbose)


# --- reading inputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    input: str
    reason: str


def collect_files(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    """Files named or found in folders (inputs by suffix), and the paths that are missing."""
    files: list[Path] = []
    problems: list[Problem] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in INPUT_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(name, "no such file or directory"))
    return files, problems


def read_input(name: str, data: bytes, *, settings: Settings) -> Story:
    """An input Story from bytes: decoded, sniffed as HTML or text."""
    from pipelines.extract import looks_like_html

    text = decode(data, name=name, max_bytes=settings.max_input_bytes)
    html = Path(name).suffix.lower() in {".html", ".htm", ".xhtml"} or looks_like_html(text)
    return Story(
        source=Source(kind="file", path=name), raw=text, raw_format="html" if html else "text"
    )


def read_inputs(names: Sequence[str], settings: Settings) -> tuple[list[Story], list[Problem]]:
    stories: list[Story] = []
    problems: list[Problem] = []
    for name in names:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            stories.append(read_input("<stdin>" if name == "-" else name, data, settings=settings))
        except OSError as exc:
            problems.append(Problem(name, exc.strerror or str(exc)))
        except InputRejected as exc:
            problems.append(Problem(name, exc.reason))
    return stories, problems


def report(problems: Sequence[Problem]) -> None:
    for problem in problems:
        click.echo(f"armswatch: rejected {problem.input}: {problem.reason}", err=True)


# --- tag --------------------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.pass_obj
def tag(state: State, files: tuple[str, ...]) -> None:
    """Clean and tag FILES (text or HTML; - for stdin); print JSON Lines. No Redis needed."""
    from pipelines.pipeline import process

    names: list[str] = []
    problems: list[Problem] = []
    for name in files:
        if name == "-":
            names.append(name)
            continue
        found, missing = collect_files([name])
        names.extend(str(p) for p in found)
        problems.extend(missing)
    inputs, unreadable = read_inputs(names, state.settings)
    problems.extend(unreadable)
    tagger = _load_tagger(state.settings)
    batch = state.settings.replay_batch_files
    for start in range(0, len(inputs), batch):
        for result in process(inputs[start : start + batch], tagger=tagger, rules=default_rules()):
            if result.error is not None:
                problems.append(Problem(result.input.label, _reason(result.error)))
            for story in result.stories:
                click.echo(story.to_json())
    report(problems)
    sys.exit(EXIT_REJECTED if problems else EXIT_OK)


def _reason(error: ArmswatchError) -> str:
    return f"{error.reason} (stage {error.stage})" if error.stage else error.reason


def _load_tagger(settings: Settings) -> Any:
    from .context import tagger_for

    try:
        return tagger_for(settings)
    except ConfigError as exc:
        fail(str(exc))


# --- replay -----------------------------------------------------------------------------


@contextmanager
def _app(settings: Settings) -> Iterator[Any]:
    """A Celery app on the configured Redis, or on an embedded one started for the command."""
    from .celery_app import create_app
    from .redis_server import redis_url

    try:
        with redis_url(settings.redis_url, settings.data_dir) as url:
            yield create_app(settings, url)
    except ConfigError as exc:
        fail(str(exc))


@cli.command()
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
    from .replay import Replayer, replay_plan

    settings = state.settings
    files, problems = collect_files(paths or ("seeds",))
    if via_http:
        report(problems)
        _replay_via_http(settings, files, failed=bool(problems))
    inputs, unreadable = read_inputs([str(f) for f in files], settings)
    problems.extend(unreadable)
    if queue:
        _replay_queued(settings, inputs, problems, timeout=timeout)
    rows: list[dict[str, Any]] = []
    size, processes = replay_plan(len(inputs), settings, processes)
    batches = [[to_payload(s) for s in inputs[i : i + size]] for i in range(0, len(inputs), size)]
    pids: set[int] = set()
    # The pool is forked before the progress display starts its thread.
    with _app(settings) as app, Replayer(app, processes) as replayer, _progress() as progress:
        bar = progress.add_task("replaying", total=len(inputs))
        # The task's own code path, in each process (no worker needed).
        for done in replayer.run(batches):
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
    from .replay import enqueue, wait_for

    size = settings.replay_batch_files
    batches = [[to_payload(s) for s in inputs[i : i + size]] for i in range(0, len(inputs), size)]
    rows: list[dict[str, Any]] = []
    with _app(settings) as app:
        task_ids = enqueue(app, batches)
        tasks = dict(zip(task_ids, batches, strict=True))
        click.echo(
            f"Queued {len(inputs)} files as {len(task_ids)} tasks; waiting for the workers "
            "(`armswatch worker`).",
            err=True,
        )
        with _progress() as progress:
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


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )


# Beyond this many files the table would scroll past: the totals say it all.
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
            row["input"],
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


# --- live monitoring --------------------------------------------------------------------


def _load_feeds(settings: Settings, names: Sequence[str] = ()) -> list[Feed]:
    try:
        feeds = load_feeds(settings.feeds_file)
    except ConfigError as exc:
        fail(str(exc))
    unknown = sorted(set(names) - {f.name for f in feeds})
    if unknown:
        fail(f"no feed named {', '.join(unknown)} in {settings.feeds_file}")
    return [f for f in feeds if not names or f.name in names]


@cli.command()
@click.option("--feed", "names", multiple=True, help="Poll only this feed (repeatable).")
@click.pass_obj
def poll(state: State, names: tuple[str, ...]) -> None:
    """Poll every feed of feeds.yaml once, process what is new, and return when done."""
    feeds = _load_feeds(state.settings, names)
    with _app(state.settings) as app:
        _run_live(app, feeds)


def _replay_via_http(settings: Settings, files: Sequence[Path], *, failed: bool) -> NoReturn:
    from .site import NewsSite, articles_from_files, publish_site

    articles: list[Article] = []
    for path in files:
        try:
            articles.extend(articles_from_files([path], max_bytes=settings.max_input_bytes))
        except ArmswatchError as exc:
            report([Problem(str(path), exc.reason)])
            failed = True
    # The site is ours and on loopback: private addresses and no delay are fine for it.
    local = settings.model_copy(
        update={"allow_private_networks": True, "host_min_delay_seconds": 0.0}
    )
    with NewsSite() as site, _app(local) as app:
        feed = Feed(name="replay-http", url=publish_site(site, articles), tags=("replay",))
        stdout.print(f"Serving {len(articles)} stories at {feed.url}")
        _run_live(app, [feed], failed=failed)


def _run_live(app: Any, feeds: Sequence[Feed], *, failed: bool = False) -> NoReturn:
    """Run one pass over `feeds` with progress, print the summary, exit 0 or 1."""
    from .live import Outcome, PollReport, run_once
    from .tasks import route_alerts

    ctx = app.armswatch

    def route(stories: Sequence[Story]) -> None:  # the alert stage, as replay runs it
        route_alerts(app, stories)

    with _progress() as progress:
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
    _print_poll_table(result)
    problems = [Problem(f"feed {f.feed}", f.error or f.status) for f in result.failed_feeds] + [
        Problem(a.input, a.error or "rejected") for a in result.rejected
    ]
    report(problems)
    sys.exit(EXIT_REJECTED if problems or failed else EXIT_OK)


def _print_poll_table(result: Any) -> None:
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


@cli.command()
@click.pass_obj
def beat(state: State) -> None:
    """Enqueue each feed's poll at its interval (any number of beats may run at once)."""
    import signal
    import threading

    from .ledger import resend_lost
    from .mail_tasks import beat_digests
    from .schedule import run_beat
    from .tasks import poll_feed

    settings = state.settings
    feeds = _load_feeds(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with _app(settings) as app:
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


# --- worker -----------------------------------------------------------------------------


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
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
    from . import metrics

    settings = state.settings
    port = settings.metrics_port if metrics_port is None else metrics_port
    with _app(settings) as app:
        if port:
            try:
                metrics.serve(app.armswatch.redis_url, settings.keys, port=port,
                              host=settings.metrics_host)  # fmt: skip
            except OSError as exc:
                fail(f"cannot serve metrics on {settings.metrics_host}:{port}: {exc.strerror}")
            click.echo(f"armswatch worker: metrics on http://{settings.metrics_host}:{port}/metrics",
                       err=True)  # fmt: skip
        argv = ["worker", "--loglevel", ("WARNING", "INFO", "DEBUG")[min(state.verbose, 2)]]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        app.worker_main([*argv, *celery_args])


# --- status -----------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@click.option("--ping", is_flag=True, help="Only check that Redis answers (health checks).")
@click.option("--errors", type=click.IntRange(min=0), default=5, show_default=True,
              help="Latest dead letters to show.")  # fmt: skip
@click.pass_obj
def status(state: State, as_json: bool, ping: bool, errors: int) -> None:
    """Queue depths, last poll and error per feed, stream lengths and dead letters."""
    settings = state.settings
    if ping:
        _ping(settings)
    from .status import collect_status, print_status

    try:
        feeds = load_feeds(settings.feeds_file) if settings.feeds_file.exists() else []
    except ConfigError as exc:
        fail(str(exc))
    with _redis(settings) as client:
        try:
            report = collect_status(client, settings.keys, [f.name for f in feeds], errors=errors)
        except redis.RedisError as exc:
            fail(f"Redis did not answer: {exc}", EXIT_REJECTED)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_status(report, stdout)


def _ping(settings: Settings) -> NoReturn:
    """Exit 0 when the configured Redis answers, 1 with the reason when not."""
    if not settings.redis_url:
        fail("no Redis configured (REDIS_URL): nothing to ping", EXIT_REJECTED)
    try:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=3, socket_connect_timeout=3
        )
        with client:
            client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        fail(f"Redis at {_redact(settings.redis_url)} did not answer: {exc}", EXIT_REJECTED)
    click.echo("ok")
    sys.exit(EXIT_OK)


def _redact(url: str) -> str:
    """A Redis URL without its password, for messages."""
    head, sep, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url


# --- dead letters -------------------------------------------------------------------------


@cli.group()
def dlq() -> None:
    """List, re-drive and purge the dead-letter stream (armswatch:dlq)."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@click.option("--count", type=click.IntRange(min=1), help="At most this many, oldest first.")
@click.pass_obj
def dlq_list(state: State, as_json: bool, count: int | None) -> None:
    """Show dead letters: when, what, the stage and the reason."""
    from .dlq import entries, redrive

    with _redis(state.settings) as client:
        rows = entries(client, state.settings.keys, count)
    for e in rows:
        target = redrive(e)
        if as_json:
            click.echo(json.dumps({"id": e.id, **e.fields, "redrive": target and target[0]}))
        else:
            f = e.fields
            note = "" if target else "  (nothing to re-drive)"
            click.echo(f"{e.id}  {f.get('stage')}  {f.get('input')}")
            click.echo(f"    {f.get('error_type')}: {f.get('error')}{note}")
    if not as_json:
        click.echo(f"{len(rows)} dead letters.", err=True)


@dlq.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every entry that can be re-driven.")
@click.option("--stage", help="Only entries that failed in this stage.")
@click.pass_obj
def dlq_retry(state: State, ids: tuple[str, ...], everything: bool, stage: str | None) -> None:
    """Queue the entries' tasks again for the workers, and remove them from the stream."""
    from .dlq import entries, redrive

    if not ids and not everything:
        fail("name entry ids, or --all")
    settings = state.settings
    with _app(settings) as app:
        client = app.armswatch.redis
        chosen = [
            e
            for e in entries(client, settings.keys)
            if (everything or e.id in ids) and (not stage or e.fields.get("stage") == stage)
        ]
        missing = set(ids) - {e.id for e in chosen}
        sent = skipped = 0
        for e in chosen:
            target = redrive(e)
            if target is None:
                skipped += 1
                continue
            name, args = target
            app.send_task(name, args=args)
            client.xdel(settings.keys.dlq, e.id)  # queued: the worker dead-letters it anew
            sent += 1
    click.echo(f"re-queued {sent}; left {skipped} that hold nothing to re-run.")
    if missing:
        fail(f"no dead letter {', '.join(sorted(missing))}", EXIT_REJECTED)


@dlq.command("purge")
@click.option("--yes", is_flag=True, help="Really delete every dead letter.")
@click.pass_obj
def dlq_purge(state: State, yes: bool) -> None:
    """Delete the dead-letter stream."""
    if not yes:
        fail("purge deletes every dead letter: add --yes")
    with _redis(state.settings) as client:
        n = client.xlen(state.settings.keys.dlq)
        client.delete(state.settings.keys.dlq)
    click.echo(f"deleted {n} dead letters.")


# --- subscriptions ----------------------------------------------------------------------


@contextmanager
def _redis(settings: Settings) -> Iterator[redis.Redis]:
    """A client of the configured Redis, or of an embedded one started for the command."""
    from .redis_server import redis_url

    try:
        with redis_url(settings.redis_url, settings.data_dir) as url:
            client = redis.Redis.from_url(url, decode_responses=True)
            try:
                yield client
            finally:
                client.close()
    except ConfigError as exc:
        fail(str(exc))


def _store(settings: Settings) -> SubscriptionStore:
    try:
        return SubscriptionStore(load_subscriptions(settings.config_dir), settings.keys)
    except ConfigError as exc:
        fail(str(exc))


@cli.group()
def subscriptions() -> None:
    """Add, list and remove alert subscriptions (run-time ones live in Redis)."""


_CLASSES = click.Choice(list(SYSTEM_CLASSES))


@subscriptions.command("add")
@click.argument("name")
@click.option("--topic", "topics", multiple=True, type=click.Choice(list(TOPICS)))
@click.option("--min-relevance", type=float, help="Story relevance at least this (0..1).")
@click.option("--keyword", "keywords", multiple=True, help="Story text contains any (any case).")
@click.option("--supplier", "suppliers", multiple=True, help="ISO code (IR) or group slug.")
@click.option("--recipient", "recipients", multiple=True, help="ISO code (RU) or group slug.")
@click.option("--class", "system_classes", multiple=True, type=_CLASSES)
@click.option("--system", "systems", multiple=True, help="A system name (Shahed-136).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(list(STATUSES)))
@click.option("--exclude-denied", is_flag=True, help="Skip transfers a party denies.")
@click.option("--webhook", "webhook_url", help="POST each alert here, signed.")
@click.option("--secret-env", help="Environment variable of the worker holding the secret.")
@click.option(
    "--file",
    "from_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="One subscription in the subscriptions.yaml entry format (instead of options).",
)
@click.option("--replace", is_flag=True, help="Overwrite a stored subscription of that name.")
@click.option("--changes-only", is_flag=True, help="Alert only when the transfer ledger changes.")
@click.pass_obj
def subscriptions_add(state: State, /, name: str, **options: Any) -> None:
    """Add subscription NAME; the worker picks it up without a restart."""
    data = _subscription_data(name, options)
    try:
        subscription = validate_subscription(data)
    except ConfigError as exc:
        fail(str(exc))
    hook = subscription.webhook
    if hook is not None:
        try:
            check_url(hook.url, state.settings.allow_private_networks)
        except UnsafeURL as exc:
            fail(f"subscription {name!r}: deliver.webhook.url: {exc.reason}")
        except TransientError as exc:
            click.echo(f"armswatch: warning: {exc.reason}", err=True)
    store = _store(state.settings)
    with _redis(state.settings) as client:
        try:
            store.add(client, subscription, replace=options["replace"])
        except ConfigError as exc:
            fail(str(exc))
    click.echo(f"added {name}: alerts go to {state.settings.keys.alerts(name)}")


def _subscription_data(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The YAML entry shape from --file or from the options."""
    if options["from_file"] is not None:
        try:
            loaded: Any = yaml.safe_load(options["from_file"].read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            fail(f"{options['from_file']}: {exc}")
        if not isinstance(loaded, dict):
            fail(f"{options['from_file']}: expected one subscription (a mapping)")
        return {**loaded, "name": name}
    fields = ("topics", "keywords", "suppliers", "recipients", "system_classes", "systems")
    match: dict[str, Any] = {f: list(options[f]) for f in (*fields, "statuses") if options[f]}
    if options["min_relevance"] is not None:
        match["min_relevance"] = options["min_relevance"]
    if options["exclude_denied"]:
        match["include_denied"] = False
    data: dict[str, Any] = {"name": name, "match": match}
    if options["changes_only"]:
        data["changes_only"] = True
    if options["webhook_url"] or options["secret_env"]:
        data["deliver"] = {
            "webhook": {"url": options["webhook_url"], "secret_env": options["secret_env"]}
        }
    return data


@subscriptions.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per subscription.")
@click.pass_obj
def subscriptions_list(state: State, as_json: bool) -> None:
    """List the subscriptions: from subscriptions.yaml and from Redis (YAML wins a clash)."""
    store = _store(state.settings)
    with _redis(state.settings) as client:
        stored = store.stored(client)
        lengths = {s.name: client.xlen(state.settings.keys.alerts(s.name)) for s in stored}
        lengths |= {
            s.name: client.xlen(state.settings.keys.alerts(s.name)) for s in store.configured
        }
    yaml_names = {s.name for s in store.configured}
    rows = [(s, "subscriptions.yaml") for s in store.configured] + [
        (s, "redis (shadowed by subscriptions.yaml)" if s.name in yaml_names else "redis")
        for s in stored
    ]
    if as_json:
        for sub, source in rows:
            data = sub.model_dump(mode="json", exclude_defaults=True)
            click.echo(json.dumps({**data, "source": source, "alerts": lengths[sub.name]}))
        return
    table = Table(title="subscriptions", title_justify="left")
    for column in ("name", "source", "match", "webhook", "alerts"):
        table.add_column(column, overflow="fold")
    for sub, source in rows:
        match = sub.match.model_dump(mode="json", exclude_defaults=True)
        hook = sub.webhook
        table.add_row(
            sub.name + (" (changes only)" if sub.changes_only else ""),
            source,
            json.dumps(match) if match else "(everything)",
            f"{hook.url} ({hook.secret_env})" if hook else "-",
            str(lengths[sub.name]),
        )
    stdout.print(table)


@subscriptions.command("remove")
@click.argument("name")
@click.pass_obj
def subscriptions_remove(state: State, name: str) -> None:
    """Remove stored subscription NAME (its alert stream stays readable)."""
    store = _store(state.settings)
    with _redis(state.settings) as client:
        try:
            store.remove(client, name)
        except ConfigError as exc:
            fail(str(exc))
    click.echo(f"removed {name}")


# --- subscribe --------------------------------------------------------------------------


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert (JSON Lines).")
@click.option("--from-start", is_flag=True, help="Deliver the whole stream again to the group.")
@click.option("--count", type=click.IntRange(min=1), help="Exit after this many alerts.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    help="Exit when no alert came for this many seconds [follow forever].",
)
@click.option(
    "--consumer",
    default=socket.gethostname,
    show_default="the host name",
    help="Consumer name: a restart under the same name gets back what it had not acknowledged.",
)
@click.option("--group", default=SUBSCRIBE_GROUP, show_default=True, help="Consumer group.")
@click.option(
    "--reclaim-after",
    type=click.FloatRange(min=0),
    help="Take over alerts other consumers left unacknowledged this long, in seconds "
    "[subscribe_reclaim_seconds].",
)
@click.pass_obj
def subscribe(
    state: State,
    name: str,
    as_json: bool,
    from_start: bool,
    count: int | None,
    timeout: float | None,
    consumer: str,
    group: str,
    reclaim_after: float | None,
) -> None:
    """Print the alerts of subscription NAME, acknowledging each once printed."""
    settings = state.settings
    store = _store(settings)
    stream = settings.keys.alerts(name)
    reclaim = settings.subscribe_reclaim_seconds if reclaim_after is None else reclaim_after
    with _redis(settings) as client:
        known = {s.name for s in store.current(client)}
        if name not in known and not client.exists(stream):
            fail(f"no subscription named {name!r} (known: {', '.join(sorted(known)) or 'none'})")
        reader = GroupReader(client, stream, group, consumer)
        reader.ensure(start="0")  # a new group starts at the beginning of the stream
        if from_start:
            reader.rewind()
        printer = _AlertPrinter(reader, as_json=as_json, limit=count)
        try:
            _follow(reader, printer, reclaim_ms=int(reclaim * 1000), timeout=timeout)
        except BrokenPipeError:  # the reader of our output went away; unprinted stays pending
            sys.stderr.close()
        except KeyboardInterrupt:
            sys.exit(130)


@dataclass
class _AlertPrinter:
    reader: GroupReader
    as_json: bool
    limit: int | None
    printed: int = 0

    @property
    def done(self) -> bool:
        return self.limit is not None and self.printed >= self.limit

    @property
    def wanted(self) -> int:
        return 100 if self.limit is None else max(0, min(100, self.limit - self.printed))

    def emit(self, entries: Sequence[tuple[str, dict[str, str]]]) -> None:
        for entry_id, fields in entries:
            if self.done:
                return
            alert = alert_json(entry_id, fields)
            text = json.dumps(alert, ensure_ascii=False) if self.as_json else format_alert(alert)
            sys.stdout.write(text + ("\n" if self.as_json else "\n\n"))
            sys.stdout.flush()
            # Acknowledged only once printed: a crash before this leaves it pending.
            self.reader.ack(entry_id)
            self.printed += 1


def _follow(
    reader: GroupReader, printer: _AlertPrinter, *, reclaim_ms: int, timeout: float | None
) -> None:
    """Own pending entries first (a restart after a crash), then others' stale ones, then new."""
    after = "0"
    while not printer.done and (pending := reader.own_pending(after=after, count=printer.wanted)):
        printer.emit(pending)
        after = pending[-1][0]
    if not printer.done:
        printer.emit(reader.reclaim(min_idle_ms=reclaim_ms, count=printer.wanted))
    # Block in slices when following forever, so that Ctrl-C is seen promptly.
    block_ms = 5000 if timeout is None else int(timeout * 1000) or None
    while not printer.done:
        entries = reader.read(count=printer.wanted, block_ms=block_ms)
        if not entries and timeout is not None:
            return
        printer.emit(entries)


from .cli_web import web as _web  # noqa: E402 (after the group it joins)

cli.add_command(ledger)  # the transfer ledger's commands (worker/cli_ledger.py)
cli.add_command(_web)


def main() -> None:
    """Console script entry point."""
    try:
        cli.main(prog_name="armswatch", standalone_mode=True)
    except ArmswatchError as exc:  # a configuration problem found late
        fail(str(exc))
