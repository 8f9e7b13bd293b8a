"""The registry of phrasing patterns: each rule of the extractor by id, with the roles it
binds, one example and the exact (supplier, recipient, class, status, denied) tuples the
tagger gives on it (lexicon/patterns.yaml). A rule asks `on(id)` before it applies;
`switched_off(id)` turns it off (the tests that show each pattern changes its own example,
and tools/prune_patterns.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ...errors import ConfigError

REGISTRY_FILE = "lexicon/patterns.yaml"

# supplier, recipient, class, status, denied
Expected = tuple[str, str, str, str, bool]


@dataclass(frozen=True)
class Pattern:
    id: str
    # What the rule decides, in words.
    binds: str
    example: str
    expect: frozenset[Expected]


_OFF: set[str] = set()


def on(pattern_id: str) -> bool:
    """Whether a pattern applies (every one does, unless switched off)."""
    return pattern_id not in _OFF


@contextmanager
def switched_off(*ids: str) -> Iterator[None]:
    """The extractor with the given patterns off, within the block."""
    unknown = sorted(set(ids) - registry().keys())
    if unknown:
        raise KeyError(f"no such patterns: {unknown}")
    before = set(_OFF)
    _OFF.update(ids)
    try:
        yield
    finally:
        _OFF.clear()
        _OFF.update(before)


def _expected(value: Any, where: str, source: str) -> Expected:
    ok = (
        isinstance(value, list)
        and len(value) == 5
        and all(isinstance(v, str) and v for v in value[:4])
        and isinstance(value[4], bool)
    )
    if not ok:
        raise ConfigError(
            f"{where}: expect entries are [supplier, recipient, class, status, denied]; "
            f"got {value!r} (quote codes YAML reads as booleans, such as 'NO')",
            input=source,
        )
    return (value[0], value[1], value[2], value[3], value[4])


def parse_registry(data: Any, source: str = REGISTRY_FILE) -> dict[str, Pattern]:
    """Patterns by id from a parsed patterns.yaml; a malformed entry is a ConfigError."""
    entries = data.get("patterns") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError("expected a 'patterns' list", input=source)
    out: dict[str, Pattern] = {}
    for n, entry in enumerate(entries):
        where = f"patterns[{n}]"
        fields = ("id", "binds", "example", "expect")
        if not isinstance(entry, dict) or set(entry) != set(fields):
            raise ConfigError(f"{where}: needs exactly the fields {fields}", input=source)
        if not all(isinstance(entry[f], str) and entry[f].strip() for f in fields[:3]):
            raise ConfigError(f"{where}: id, binds and example must be text", input=source)
        if entry["id"] in out:
            raise ConfigError(f"{where}: pattern {entry['id']!r} listed twice", input=source)
        expect = entry["expect"] if isinstance(entry["expect"], list) else [None]
        out[entry["id"]] = Pattern(
            entry["id"],
            entry["binds"],
            entry["example"],
            frozenset(_expected(e, f"{where} {entry['id']}", source) for e in expect),
        )
    return out


@cache
def registry() -> dict[str, Pattern]:
    """The registered patterns of the package's patterns.yaml, by id."""
    path = resources.files("pipelines.tag").joinpath(REGISTRY_FILE)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the pattern registry: {exc}", input=str(path)) from exc
    return parse_registry(data, str(path))
