"""The `armswatch` command line (CONTRACT.md, "Command line").

Exit codes: 0 done; 1 some inputs were rejected (each named on stderr, the rest
processed); 2 usage or configuration error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.clean import default_rules
from pipelines.decode import decode
from pipelines.errors import ArmswatchError, ConfigError, InputRejected
from pipelines.extract import looks_like_html
from pipelines.pipeline import process
from pipelines.record import Source, Story, to_payload
from pipelines.tag import load_tagger

from .feeds import Feed, load_feeds
from .logging import configure_logging
from .settings import Settings
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
    try:
        return load_tagger(settings.model, batch_size=settings.nlp_batch_size)
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
    "--via-http",
    is_flag=True,
    help="Serve the files as a news site on loopback (RSS + one page per story) and run "
    "the live path (poll, fetch, extract, dedup, tag, publish) against it.",
)
@click.pass_obj
def replay(state: State, paths: tuple[str, ...], via_http: bool) -> None:
    """Replay files or folders (default seeds/) through the live pipeline into Redis."""
    from .tasks import process_batch

    settings = state.settings
    files, problems = collect_files(paths or ("seeds",))
    if via_http:
        report(problems)
        _replay_via_http(settings, files, failed=bool(problems))
    inputs, unreadable = read_inputs([str(f) for f in files], settings)
    problems.extend(unreadable)
    rows: list[dict[str, Any]] = []
    with _app(settings) as app:
        task = app.tasks[process_batch.name]
        batch = settings.replay_batch_files
        with _progress() as progress:
            bar = progress.add_task("replaying", total=len(inputs))
            for start in range(0, len(inputs), batch):
                chunk = [to_payload(s) for s in inputs[start : start + batch]]
                # The task's own code path, run in this process (no worker needed).
                for summary in task.apply(args=[chunk]).get(disable_sync_subtasks=False):
                    rows.append(summary)
                    if summary["error"]:
                        problems.append(Problem(summary["input"], summary["error"]))
                progress.advance(bar, len(chunk))
    _print_replay_table(rows)
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


def _print_replay_table(rows: Sequence[dict[str, Any]]) -> None:
    table = Table(title="replay", title_justify="left", show_lines=False)
    for column in ("file", "stories", "relevant", "transfers", "published"):
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
        )
    stdout.print(table)
    if total and not new:
        stdout.print(f"Nothing new: all {total} stories were already published.")
    else:
        stdout.print(
            f"{total} stories from {len(rows)} files: {new} new, {total - new} already seen."
        )


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
        _run_live(app.armswatch, feeds)


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
        _run_live(app.armswatch, [feed], failed=failed)


def _run_live(ctx: Any, feeds: Sequence[Feed], *, failed: bool = False) -> NoReturn:
    """Run one pass over `feeds` with progress, print the summary, exit 0 or 1."""
    from .live import Outcome, PollReport, run_once

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

        result = run_once(ctx, feeds, on_event=on_event)
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
        )


# --- worker -----------------------------------------------------------------------------


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes [cores].")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def worker(state: State, concurrency: int | None, celery_args: tuple[str, ...]) -> None:
    """Start a Celery worker for the armswatch tasks (extra args go to Celery)."""
    with _app(state.settings) as app:
        argv = ["worker", "--loglevel", ("WARNING", "INFO", "DEBUG")[min(state.verbose, 2)]]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        app.worker_main([*argv, *celery_args])


def main() -> None:
    """Console script entry point."""
    try:
        cli.main(prog_name="armswatch", standalone_mode=True)
    except ArmswatchError as exc:  # a configuration problem found late
        fail(str(exc))
