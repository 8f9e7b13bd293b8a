"""`armswatch subscriptions`: add, list and remove alert subscriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from pipelines.errors import ConfigError, TransientError, UnsafeURL
from pipelines.netguard import check_url
from pipelines.record import STATUSES, SYSTEM_CLASSES, TOPICS
from pipelines.subscriptions import validate_subscription
from pipelines.yamlfile import load_yaml

from .common import (
    State,
    fail,
    open_redis,
    stdout,
    subscription_store,
)


@click.group()
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
    store = subscription_store(state)
    with open_redis(state.settings) as client:
        try:
            store.add(client, subscription, replace=options["replace"])
        except ConfigError as exc:
            fail(str(exc))
    click.echo(f"added {name}: alerts go to {state.settings.keys.alerts(name)}")


def _subscription_data(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The YAML entry shape from --file or from the options."""
    if options["from_file"] is not None:
        path = options["from_file"]
        try:
            loaded: Any = load_yaml(path.read_text(encoding="utf-8"), source=str(path))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{path}: {exc}")
        except ConfigError as exc:
            fail(str(exc))
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
    store = subscription_store(state)
    with open_redis(state.settings) as client:
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
    store = subscription_store(state)
    with open_redis(state.settings) as client:
        try:
            store.remove(client, name)
        except ConfigError as exc:
            fail(str(exc))
    click.echo(f"removed {name}")
