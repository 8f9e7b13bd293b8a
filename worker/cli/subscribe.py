"""`armswatch subscribe NAME`: follow a subscription's alert stream."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import click
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipelines.alerts import GroupReader, alert_json, format_alert
from pipelines.keys import SUBSCRIBE_GROUP

from .common import (
    State,
    fail,
    open_redis,
    shown,
    subscription_store,
)


@click.command()
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
    store = subscription_store(state)
    stream = settings.keys.alerts(name)
    reclaim = settings.subscribe_reclaim_seconds if reclaim_after is None else reclaim_after
    # The socket waits longer than any one blocking read; the retries are ours (_follow).
    options = {"socket_timeout": _BLOCK_SLICE + 10, "retry": Retry(NoBackoff(), 0)}
    with open_redis(settings, **options) as client:
        known = {s.name for s in store.current(client)}
        if name not in known and not client.exists(stream):
            fail(f"no subscription named {name!r} (known: {', '.join(sorted(known)) or 'none'})")
        reader = GroupReader(client, stream, group, consumer)
        reader.ensure(start="0")  # a new group starts at the beginning of the stream
        if from_start:
            reader.rewind()
        printer = _AlertPrinter(reader, as_json=as_json, limit=count)
        try:
            _follow(
                reader, printer, reclaim_ms=int(reclaim * 1000), timeout=timeout, url=shown(client)
            )
        except BrokenPipeError:  # the reader of our output went away; unprinted stays pending
            sys.stderr.close()
        except KeyboardInterrupt:
            sys.exit(130)


# Each blocking read waits at most this long (seconds): Ctrl-C and --timeout are seen
# promptly, and the socket timeout above stays longer than a read.
_BLOCK_SLICE = 2.0
# Waits between attempts to reach a Redis that went away: doubling, capped.
_RECONNECT_FIRST, _RECONNECT_MAX = 0.5, 5.0


@dataclass
class _AlertPrinter:
    reader: GroupReader
    as_json: bool
    limit: int | None
    printed: int = 0
    # Printed, but the acknowledgement did not reach Redis (it went away in between).
    unacked: list[str] = field(default_factory=list)

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
            if entry_id in self.unacked:  # pending again after a reconnect: printed already
                continue
            alert = alert_json(entry_id, fields)
            text = json.dumps(alert, ensure_ascii=False) if self.as_json else format_alert(alert)
            sys.stdout.write(text + ("\n" if self.as_json else "\n\n"))
            sys.stdout.flush()
            self.printed += 1
            # Acknowledged only once printed: a crash before this leaves it pending.
            self.unacked.append(entry_id)
            self.ack_printed()

    def ack_printed(self) -> None:
        self.reader.ack(*self.unacked)
        self.unacked.clear()


def _follow(
    reader: GroupReader,
    printer: _AlertPrinter,
    *,
    reclaim_ms: int,
    timeout: float | None,
    url: str,
) -> None:
    """Read until done, waiting out Redis restarts: the group keeps this reader's place."""
    delay = 0.0
    while True:
        try:
            if delay:
                reader.ensure(start="0")  # the group, should Redis have come back empty
                printer.ack_printed()
                click.echo(f"armswatch: reconnected to Redis at {url}; resuming", err=True)
                delay = 0.0
            _read_until_done(reader, printer, reclaim_ms=reclaim_ms, timeout=timeout)
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # refused, reset, loading
            if not delay:
                click.echo(f"armswatch: lost Redis at {url} ({exc}); reconnecting", err=True)
            delay = min(_RECONNECT_MAX, delay * 2 or _RECONNECT_FIRST)
            time.sleep(delay)


def _read_until_done(
    reader: GroupReader, printer: _AlertPrinter, *, reclaim_ms: int, timeout: float | None
) -> None:
    """Own pending entries first (a restart after a crash), then others' stale ones, then new."""
    after = "0"
    while not printer.done and (pending := reader.own_pending(after=after, count=printer.wanted)):
        printer.emit(pending)
        after = pending[-1][0]
    if not printer.done:
        printer.emit(reader.reclaim(min_idle_ms=reclaim_ms, count=printer.wanted))
    idle_since = time.monotonic()
    while not printer.done:
        if timeout == 0:
            block_ms = None  # one look, no wait
        else:
            left = _BLOCK_SLICE if timeout is None else timeout - (time.monotonic() - idle_since)
            block_ms = max(1, int(min(left, _BLOCK_SLICE) * 1000))
        entries = reader.read(count=printer.wanted, block_ms=block_ms)
        if entries:
            printer.emit(entries)
            idle_since = time.monotonic()
        elif timeout is not None and time.monotonic() - idle_since >= timeout:
            return
