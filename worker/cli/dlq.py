"""`armswatch dlq`: list, re-drive and purge the dead-letter stream."""

from __future__ import annotations

import json

import click

from .common import (
    EXIT_REJECTED,
    State,
    fail,
    open_app,
    open_redis,
    printable,
)


@click.group()
def dlq() -> None:
    """List, re-drive and purge the dead-letter stream (armswatch:dlq)."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@click.option("--count", type=click.IntRange(min=1), help="At most this many, oldest first.")
@click.pass_obj
def dlq_list(state: State, as_json: bool, count: int | None) -> None:
    """Show dead letters: when, what, the stage and the reason."""
    from ..dlq import entries, redrive

    with open_redis(state.settings) as client:
        rows = entries(client, state.settings.keys, count)
    for e in rows:
        target = redrive(e)
        if as_json:
            click.echo(json.dumps({"id": e.id, **e.fields, "redrive": target and target[0]}))
        else:
            f = e.fields
            note = "" if target else "  (nothing to re-drive)"
            click.echo(f"{e.id}  {f.get('stage')}  {printable(f.get('input') or '')}")
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
    from ..dlq import entries, redrive

    if not ids and not everything:
        fail("name entry ids, or --all")
    settings = state.settings
    with open_app(settings) as app:
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
    with open_redis(state.settings) as client:
        n = client.xlen(state.settings.keys.dlq)
        client.delete(state.settings.keys.dlq)
    click.echo(f"deleted {n} dead letters.")
