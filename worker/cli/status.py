"""`armswatch status`: queues, feeds, streams and dead letters; `--ping` for health checks."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click
import redis

from ..settings import Settings
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    State,
    fail,
    open_redis,
    redact,
    stdout,
)


@click.command()
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
    from ..status import collect_status, print_status

    feeds = state.feeds or []
    with open_redis(settings) as client:  # a Redis away: one line naming it, exit 2
        report = collect_status(client, settings.keys, [f.name for f in feeds], errors=errors)
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
        fail(f"Redis at {redact(settings.redis_url)} did not answer: {exc}", EXIT_REJECTED)
    click.echo("ok")
    sys.exit(EXIT_OK)
