"""`armswatch tag`: clean and tag files, JSON Lines on stdout; no Redis."""

from __future__ import annotations

import sys

import click

from pipelines.clean import default_rules

from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Problem,
    State,
    describe,
    report,
    tagger_or_fail,
)
from .inputs import collect_files, read_inputs


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.pass_obj
def tag(state: State, files: tuple[str, ...]) -> None:
    """Clean and tag FILES (text or HTML; - for stdin); print JSON Lines. No Redis needed."""
    from pipelines.pipeline import process

    names: list[str] = []
    problems: list[Problem] = []
    for name in files:
        if name == "-":
            names.append(name)
            continue
        found, missing = collect_files([name])
        names.extend(str(p) for p in found)
        problems.extend(missing)
    inputs, unreadable = read_inputs(names, state.settings)
    problems.extend(unreadable)
    tagger = tagger_or_fail(state.settings)
    batch = state.settings.replay_batch_files
    for start in range(0, len(inputs), batch):
        for result in process(inputs[start : start + batch], tagger=tagger, rules=default_rules()):
            if result.error is not None:
                problems.append(Problem(result.input.label, describe(result.error)))
            for story in result.stories:
                click.echo(story.to_json())
    report(problems)
    sys.exit(EXIT_REJECTED if problems else EXIT_OK)
