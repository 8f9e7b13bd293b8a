"""`armswatch subscribe NAME`: follow a subscription's alert stream."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import click

from pipelines.alerts import GroupReader, alert_json, format_alert
from pipelines.keys import SUBSCRIBE_GROUP

from .common import (
    State,
    fail,
    open_redis,
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
    store = subscription_store(settings)
    stream = settings.keys.alerts(name)
    reclaim = settings.subscribe_reclaim_seconds if reclaim_after is None else reclaim_after
    with open_redis(settings) as client:
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
