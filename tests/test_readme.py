"""README.md's examples run as written: every `armswatch` command in its shell blocks is a
real command whose options parse, the files they name exist, and the first example (tagging
the shipped sample inputs) gives what the README says."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import click
import pytest

from pipelines.subscriptions import load_subscriptions
from tests.conftest import ROOT
from worker.cli import cli
from worker.feeds import load_feeds

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
# Options of the group itself, taken before the command (`armswatch --log-json worker`).
GROUP_FLAGS = {"--log-json", "-v", "-vv", "--verbose"}


def commands() -> list[list[str]]:
    """Each `armswatch ...` of the shell blocks, as argv (pipes and `&` split off)."""
    found = []
    for block in BLOCKS:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            segment: list[str] = []
            for word in [*words, "|"]:
                if word in ("|", "&", "&&", ";"):
                    if segment and segment[0] == "armswatch":
                        found.append(segment)
                    segment = []
                else:
                    segment.append(word)
    return found


def parse(argv: list[str]) -> None:
    """Resolve the command (and subcommand) and parse its options, running nothing."""
    args = argv[1:]
    while args and args[0] in GROUP_FLAGS:
        args = args[1:]
    command: click.Command = cli
    ctx = click.Context(cli, info_name="armswatch")
    while isinstance(command, click.Group):
        # A group that runs by itself (`armswatch ledger --since 7d`) takes the options.
        if command.invoke_without_command and (not args or args[0].startswith("-")):
            break
        name, sub, args = command.resolve_command(ctx, args)
        assert name and sub is not None, f"no command in {argv}"
        command = sub
        ctx = click.Context(sub, info_name=name, parent=ctx)
    command.make_context(ctx.info_name, list(args), parent=ctx.parent)


COMMANDS = commands()


def test_the_readme_has_examples() -> None:
    assert len(COMMANDS) > 20


FEEDS = {f.name for f in load_feeds(ROOT / "config" / "feeds.yaml")}
# Subscriptions: those shipped, and those the README's examples add before using them.
SUBSCRIPTIONS = {s.name for s in load_subscriptions(ROOT / "config")} | {
    argv[3] for argv in COMMANDS if argv[1:3] == ["subscriptions", "add"]
}


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_each_example_is_a_real_command(argv: list[str]) -> None:
    parse(argv)
    for arg in argv[1:]:
        if re.fullmatch(r"[\w./-]+\.(txt|html)|[\w.-]+/[\w./-]*", arg) and "://" not in arg:
            assert (ROOT / arg).exists(), f"{' '.join(argv)}: {arg} is not shipped"
    if "--feed" in argv:
        assert argv[argv.index("--feed") + 1] in FEEDS
    if argv[1] == "subscribe":
        assert argv[2] in SUBSCRIPTIONS


def test_tagging_the_sample_inputs() -> None:
    """The first example, as written, from the repository's root."""
    out = subprocess.run(
        [sys.executable, "-m", "worker", "tag", "examples/article.txt", "examples/page.html"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["relevant"] for r in records] == [True, True]
    found = {
        (t["supplier"], t["recipient"], t["system_class"]) for r in records for t in r["transfers"]
    }
    assert {("CN", "BY", "drone"), ("IN", "ID", "missile")} <= found
