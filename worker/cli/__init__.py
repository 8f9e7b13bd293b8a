"""The `armswatch` command line (CONTRACT.md, "Command line").

Exit codes: 0 done; 1 some inputs were rejected (each named on stderr, the rest
processed); 2 usage or configuration error.

One module per command group; each defines its commands with `click.command` and is
registered below. spaCy, trafilatura and Celery load on first use, in the commands that need
them: `status --ping` (a health check) and `--help` must not pay seconds of CPU for a model
they never use.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.errors import ArmswatchError

from ..logging import configure_logging
from .common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, State, fail, load_state

__all__ = ["EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "State", "cli", "fail", "main"]


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
    ctx.obj = load_state(config_dir, verbose)


def main() -> None:
    """Console script entry point."""
    try:
        cli.main(prog_name="armswatch", standalone_mode=True)
    except ArmswatchError as exc:  # a configuration problem found late
        fail(str(exc))


# --- the commands: one line per command or group; new command modules register here too ----
# Imported after `cli` exists, so that a command module may import from this package.
from .. import cli_ledger, cli_web  # noqa: E402 (the ledger's and the page's commands)
from . import dlq, live, replay, status, subscribe, subscriptions, tag  # noqa: E402

cli.add_command(tag.tag)
cli.add_command(replay.replay)
cli.add_command(live.poll)
cli.add_command(live.beat)
cli.add_command(live.worker)
cli.add_command(status.status)
cli.add_command(dlq.dlq)
cli.add_command(subscriptions.subscriptions)
cli.add_command(subscribe.subscribe)
cli.add_command(cli_ledger.ledger)
cli.add_command(cli_web.web)
