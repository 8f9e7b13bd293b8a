"""Shared by the commands: exit codes, the failure message, Redis and Celery for a command."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import click
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipelines.errors import ArmswatchError, ConfigError
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import Subscription, load_subscriptions

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
    # Validated when the command starts; None: there is no feeds.yaml.
    feeds: list[Feed] | None = None
    subscriptions: tuple[Subscription, ...] = ()


def load_state(config_dir: Path | None, verbose: int) -> State:
    """Settings, feeds and subscriptions, each checked: a bad one stops any command (exit 2)."""
    if config_dir is not None and not config_dir.is_dir():
        fail(f"config folder {config_dir} does not exist (--config-dir, ARMSWATCH_CONFIG_DIR)")
    try:
        settings = Settings.load(**({"config_dir": config_dir} if config_dir else {}))
        feeds = load_feeds(settings.feeds_file) if settings.feeds_file.exists() else None
        subscriptions = load_subscriptions(settings.config_dir)
    except ConfigError as exc:
        fail(str(exc))
    return State(settings, verbose, feeds, subscriptions)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"armswatch: {message}", err=True)
    sys.exit(code)


# --- problems with inputs -----------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    input: str
    reason: str


def printable(name: str) -> str:
    """A name as it may be printed: quoted with escapes when it holds control characters,
    so that a file name with a newline cannot forge a line of its own."""
    return name if name.isprintable() else repr(name)


def report(problems: Sequence[Problem]) -> None:
    for problem in problems:
        click.echo(f"armswatch: rejected {printable(problem.input)}: {problem.reason}", err=True)


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
    from kombu.exceptions import OperationalError

    from ..celery_app import create_app
    from ..redis_server import redis_url

    try:
        with redis_url(settings.redis_url, settings.data_dir) as url:
            check_reachable(url)
            try:
                yield create_app(settings, url)
            except (redis.ConnectionError, redis.TimeoutError, OperationalError) as exc:
                fail(f"lost Redis at {redact(url)}: {_hide_password(str(exc), url)}")
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


def configured_feeds(state: State, names: Sequence[str] = ()) -> list[Feed]:
    """The feeds of feeds.yaml (all, or those named); exit 2 when it is absent or lacks one."""
    settings = state.settings
    feeds = state.feeds
    if feeds is None:
        fail(f"{settings.feeds_file}: no feeds file (see README, 'How to add a feed')")
    unknown = sorted(set(names) - {f.name for f in feeds})
    if unknown:
        fail(f"no feed named {', '.join(unknown)} in {settings.feeds_file}")
    return [f for f in feeds if not names or f.name in names]


def redact(url: str) -> str:
    """A Redis URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return str(urlunsplit(parts._replace(netloc=f"{user}:***@{host}")))


def shown(client: redis.Redis) -> str:
    """The URL of `client`'s server, password hidden, for messages."""
    kw = client.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}"
    user = f"{kw.get('username') or ''}:***@" if kw.get("password") else ""
    return f"redis://{user}{kw.get('host')}:{kw.get('port')}/{kw.get('db', 0)}"


# How long a command waits for Redis to answer its first PING before it gives up.
_REACH_SECONDS = 3.0


def check_reachable(url: str) -> None:
    """Exit 2 naming the server (password hidden) when Redis at `url` does not answer."""
    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=_REACH_SECONDS,
            socket_connect_timeout=_REACH_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        with client:
            client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        fail(f"cannot reach Redis at {redact(url)}: {_hide_password(str(exc), url)}")


def _hide_password(text: str, url: str) -> str:
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


@contextmanager
def open_redis(settings: Settings, **options: Any) -> Iterator[redis.Redis]:
    """A client of the configured Redis, or of an embedded one started for the command."""
    from ..redis_server import redis_url

    try:
        with redis_url(settings.redis_url, settings.data_dir) as url:
            check_reachable(url)
            client = redis.Redis.from_url(url, decode_responses=True, **options)
            try:
                yield client
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                fail(f"lost Redis at {redact(url)}: {_hide_password(str(exc), url)}")
            finally:
                client.close()
    except ConfigError as exc:
        fail(str(exc))


def subscription_store(state: State) -> SubscriptionStore:
    return SubscriptionStore(state.subscriptions, state.settings.keys)
