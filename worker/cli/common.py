"""Shared by the commands: exit codes, the failure message, Redis and Celery for a command."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import click
import redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipelines.errors import ArmswatchError, ConfigError
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import load_subscriptions

from ..feeds import Feed, load_feeds
from ..settings import Settings

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


# --- problems with inputs -----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    input: str
    reason: str


def report(problems: Sequence[Problem]) -> None:
    for problem in problems:
        click.echo(f"armswatch: rejected {problem.input}: {problem.reason}", err=True)


def describe(error: ArmswatchError) -> str:
    return f"{error.reason} (stage {error.stage})" if error.stage else error.reason


def tagger_or_fail(settings: Settings) -> Any:
    from ..context import tagger_for

    try:
        return tagger_for(settings)
    except ConfigError as exc:
        fail(str(exc))


@contextmanager
def open_app(settings: Settings) -> Iterator[Any]:
    """A Celery app on the configured Redis, or on an embedded one started for the command."""
    from ..celery_app import create_app
    from ..redis_server import redis_url

    try:
        with redis_url(settings.redis_url, settings.data_dir) as url:
            yield create_app(settings, url)
    except ConfigError as exc:
        fail(str(exc))


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )


def configured_feeds(settings: Settings, names: Sequence[str] = ()) -> list[Feed]:
    try:
        feeds = load_feeds(settings.feeds_file)
    except ConfigError as exc:
        fail(str(exc))
    unknown = sorted(set(names) - {f.name for f in feeds})
    if unknown:
        fail(f"no feed named {', '.join(unknown)} in {settings.feeds_file}")
    return [f for f in feeds if not names or f.name in names]


def redact(url: str) -> str:
    """A Redis URL without its password, for messages."""
    head, sep, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url


@contextmanager
def open_redis(settings: Settings) -> Iterator[redis.Redis]:
    """A client of the configured Redis, or of an embedded one started for the command."""
    from ..redis_server import redis_url

    try:
        with redis_url(settings.redis_url, settings.data_dir) as url:
            client = redis.Redis.from_url(url, decode_responses=True)
            try:
                yield client
            finally:
                client.close()
    except ConfigError as exc:
        fail(str(exc))


def subscription_store(settings: Settings) -> SubscriptionStore:
    try:
        return SubscriptionStore(load_subscriptions(settings.config_dir), settings.keys)
    except ConfigError as exc:
        fail(str(exc))
