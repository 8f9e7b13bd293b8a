"""`armswatch ledger`: the transfer ledger in the terminal (list, show, rebuild, export).

Not worker/ledger.py (the ledger of sent Celery messages): this is the transfer ledger of
pipelines/ledger, one entry per supplier -> recipient, class and kind.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
import redis
from rich.console import Console
from rich.table import Table

from pipelines.ledger import (
    consumer_name,
    get_entry,
    query_entries,
    rebuild,
    system_entries,
)
from pipelines.ledger.model import KINDS, digest
from pipelines.record import STATUSES, SYSTEM_CLASSES

from .settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGO = re.compile(r"^(\d+)([mhdw])$")
stdout = Console(width=None if sys.stdout.isatty() else 160)


def parse_since(value: str, *, now: float | None = None) -> float:
    """`7d`, `12h`, `30m`, `2w` ago, or an ISO date (`2026-12-01`), as epoch seconds."""
    found = _AGO.match(value.strip())
    if found:
        return (time.time() if now is None else now) - int(found[1]) * _UNITS[found[2]]
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a duration (7d, 12h, 30m, 2w) nor an ISO date (2026-12-01)"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _filters(fn: F) -> F:
    """The filter options shared by the listing and the export."""
    options = [
        click.option("--since", help="Reported since: 7d, 12h, 2w or an ISO date."),
        click.option("--new-since", help="First reported since (new relationships)."),
        click.option("--supplier", help="ISO code (IR) or group slug."),
        click.option("--recipient", help="ISO code (RU) or group slug."),
        click.option("--class", "system_class", type=click.Choice(list(SYSTEM_CLASSES))),
        click.option("--status", type=click.Choice(list(STATUSES))),
        click.option("--kind", type=click.Choice(list(KINDS))),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _client(settings: Settings) -> AbstractContextManager[redis.Redis]:
    """The command line's Redis client (configured, or embedded for the command)."""
    from .cli.common import open_redis  # at call time: worker.cli imports this module

    return open_redis(settings)


def _query(client: redis.Redis, settings: Settings, **filters: Any) -> list[dict[str, Any]]:
    for name in ("since", "new_since"):
        if filters.get(name):
            filters[name] = parse_since(filters[name])
    return query_entries(client, settings.keys, **filters)


@click.group(invoke_without_command=True)
@_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry (JSON Lines).")
@click.option("--systems", is_flag=True, help="Also the entries per named system.")
@click.pass_context
def ledger(ctx: click.Context, /, as_json: bool, **filters: Any) -> None:
    """The transfer ledger: one entry per supplier -> recipient, class and kind."""
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj.settings
    with _client(settings) as client:
        entries = _query(client, settings, **filters)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry, ensure_ascii=False))
        return
    _print_table(entries)


def _party(entry: dict[str, Any]) -> str:
    return f"{entry['supplier']} -> {entry['recipient']}"


def _denied(entry: dict[str, Any]) -> str:
    if not entry["denied"]:
        return "-"
    return "by " + ", ".join("unnamed" if p == "?" else p for p in entry["denied_by"])


def _print_table(entries: list[dict[str, Any]]) -> None:
    table = Table(title=f"transfer ledger: {len(entries)} entries")
    for column in (
        "transfer",
        "class",
        "kind",
        "systems",
        "status",
        "denied",
        "first seen",
        "last seen",
        "stories",
        "sources",
        "id",
    ):
        table.add_column(column)
    for e in entries:
        table.add_row(
            _party(e),
            e["system_class"],
            e["kind"],
            ", ".join(e["systems"]) or "-",
            e["status"],
            _denied(e),
            e["first_seen"][:10],
            e["last_seen"][:10],
            str(e["stories"]),
            str(e["sources"]),
            e["id"],
        )
    stdout.print(table)


@ledger.command("show")
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True, help="The entry as one JSON object.")
@click.pass_obj
def show(state: Any, entry_id: str, as_json: bool) -> None:
    """One entry with its history, denials, evidence and its systems."""
    settings: Settings = state.settings
    with _client(settings) as client:
        entry = get_entry(client, settings.keys, entry_id)
        systems = system_entries(client, settings.keys, entry_id) if entry else []
    if entry is None:
        click.echo(f"armswatch: no ledger entry {entry_id!r} (see `armswatch ledger`)", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({**entry, "system_entries": systems}, ensure_ascii=False))
        return
    click.echo(f"{_party(entry)}  {entry['system_class']}  {entry['kind']}  [{entry['id']}]")
    click.echo(f"  status: {entry['status']}   denied: {_denied(entry)}")
    click.echo(f"  systems: {', '.join(entry['systems']) or '-'}")
    click.echo(
        f"  first seen {entry['first_seen']} (story {entry['first_story']}), "
        f"last seen {entry['last_seen']} (story {entry['last_story']})"
    )
    click.echo(
        f"  {entry['stories']} stories from {entry['sources']} sources: "
        f"{', '.join(entry['source_names'])}; latest confidence {entry['confidence']}"
    )
    click.echo("  history:")
    for step in entry["history"]:
        behind = "  (after a more advanced report: status kept)" if step["behind"] else ""
        click.echo(f"    {step['date']}  {step['status']}  story {step['story']}{behind}")
        click.echo(f'      "{step["evidence"]}"')
    for denial in entry["denials"]:
        by = "an unnamed party" if denial["by"] == "?" else denial["by"]
        click.echo(f"  denied by {by} on {denial['date']} (story {denial['story']})")
        click.echo(f'      "{denial["evidence"]}"')
        if denial["withdrawn"]:
            w = denial["withdrawn"]
            click.echo(f"    withdrawn: confirmed on {w['date']} (story {w['story']})")
    for s in systems:
        click.echo(
            f"  system {s['system']}: {s['status']}, {s['stories']} stories, "
            f"{s['first_seen'][:10]} .. {s['last_seen'][:10]}  [{s['id']}]"
        )


@ledger.command("rebuild")
@click.pass_obj
def rebuild_command(state: Any) -> None:
    """Forget the ledger and replay armswatch:tagged into it (the same ledger comes back)."""
    settings: Settings = state.settings
    with _client(settings) as client:
        before = digest(query_entries(client, settings.keys, systems=True))
        done = rebuild(
            client, settings.keys, consumer=consumer_name(), maxlen=settings.stream_maxlen
        )
        entries = query_entries(client, settings.keys, systems=True)
    after = digest(entries)
    same = "identical to" if before == after else "differs from"
    click.echo(
        f"rebuilt from {done.read} tagged stories ({done.applied} with transfers): "
        f"{len(entries)} entries, digest {after}, {same} the ledger before ({before})"
    )


SIPRI_COLUMNS = (
    "Supplier",
    "Recipient",
    "Designation",
    "Description",
    "Status",
    "Denied by",
    "First report",
    "Last report",
    "Stories",
    "Sources",
    "Entry",
)


def sipri_rows(
    client: redis.Redis, settings: Settings, entries: list[dict[str, Any]]
) -> Iterator[list[str]]:
    """One row per named system (SIPRI's register is per designation), else one per pair."""
    for entry in entries:
        rows = system_entries(client, settings.keys, entry["id"]) or [entry]
        for e in rows:
            description = e["system_class"] + (" (production)" if e["kind"] == "production" else "")
            yield [
                e["supplier"],
                e["recipient"],
                e["system"] or "",
                description,
                e["status"],
                "; ".join(e["denied_by"]),
                e["first_seen"][:10],
                e["last_seen"][:10],
                str(e["stories"]),
                "; ".join(e["source_names"]),
                e["id"],
            ]


@ledger.command("export")
@_filters
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="CSV file to write [stdout].",
)
@click.pass_obj
def export(state: Any, /, output: Any, **filters: Any) -> None:
    """The ledger as CSV with the SIPRI trade register's columns where they apply."""
    settings: Settings = state.settings
    with _client(settings) as client:
        entries = _query(client, settings, **filters)
        writer = csv.writer(output)
        writer.writerow(SIPRI_COLUMNS)
        writer.writerows(sipri_rows(client, settings, entries))
