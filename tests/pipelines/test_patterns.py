"""Every registered phrasing pattern (lexicon/patterns.yaml) on its own example, through the
real tagger (rules only, real model): the exact tuples, and a change when it is off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipelines.errors import ConfigError
from pipelines.record import Source, Story
from pipelines.tag import Tagger
from pipelines.tag.rules.patterns import Expected, Pattern, parse_registry, registry, switched_off

RULES = Path(__file__).parents[2] / "pipelines/tag/rules"
PATTERNS = sorted(registry().values(), key=lambda p: p.id)


def _tuples(tagger: Tagger, text: str) -> frozenset[Expected]:
    story = tagger.tag(Story(source=Source(kind="file"), text=text))
    return frozenset(
        (t.supplier, t.recipient, t.system_class, t.status, t.denied) for t in story.transfers
    )


def test_every_rule_gate_is_registered_and_every_pattern_gated() -> None:
    gates = {
        m for p in RULES.glob("*.py") for m in re.findall(r'\bon\("([\w.]+)"\)', p.read_text())
    }
    assert gates == registry().keys()


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.id for p in PATTERNS])
def test_each_example_gives_exactly_its_tuples(tagger: Tagger, pattern: Pattern) -> None:
    assert _tuples(tagger, pattern.example) == pattern.expect


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.id for p in PATTERNS])
def test_each_pattern_switched_off_changes_its_example(tagger: Tagger, pattern: Pattern) -> None:
    with switched_off(pattern.id):
        off = _tuples(tagger, pattern.example)
    assert off != pattern.expect
    assert _tuples(tagger, pattern.example) == pattern.expect  # on again after the block


def test_an_unknown_pattern_cannot_be_switched_off() -> None:
    with pytest.raises(KeyError, match=r"no\.such"), switched_off("no.such"):
        pass


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "a.b", "binds": "x", "example": "y"}, "needs exactly the fields"),
        ({"id": "a.b", "binds": "x", "example": "y", "expect": [["IR", "RU", "drone", "delivered"]]},
         "expect entries are"),
        ({"id": "a.b", "binds": "x", "example": "y", "expect": [[False, "RO", "aircraft", "delivered", False]]},
         "quote codes"),
    ],
)  # fmt: skip
def test_a_malformed_entry_is_refused_naming_the_file(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_registry({"patterns": [entry]}, "patterns.yaml")
    assert err.value.input == "patterns.yaml"


def test_a_pattern_listed_twice_is_refused() -> None:
    entry = yaml.safe_load(
        '{id: a.b, binds: x, example: y, expect: [["IR", "RU", "drone", "delivered", false]]}'
    )
    with pytest.raises(ConfigError, match="listed twice"):
        parse_registry({"patterns": [entry, entry]}, "patterns.yaml")
