"""The extractor's word sets (tag/lexicon/rules.yaml), loaded once and checked at load."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ...errors import ConfigError

LEXICON = "lexicon/rules.yaml"


@dataclass(frozen=True)
class Words:
    """One frozen set per name in rules.yaml (the comments there say what each is for)."""

    reporting: frozenset[str]
    raising: frozenset[str]
    recipient_preps: frozenset[str]
    location_preps: frozenset[str]
    list_preps: frozenset[str]
    equip: frozenset[str]
    made_words: frozenset[str]
    generic_themes: frozenset[str]
    theme_pronouns: frozenset[str]
    role_nouns: frozenset[str]
    know_how: frozenset[str]
    production_heads: frozenset[str]
    clause_boundaries: frozenset[str]
    strong_use: frozenset[str]
    destination: frozenset[str]
    coming: frozenset[str]
    disruptions: frozenset[str]
    personnel: frozenset[str]
    launch: frozenset[str]
    targets: frozenset[str]
    deal_like: frozenset[str]
    arriving: frozenset[str]
    containing: frozenset[str]
    buying: frozenset[str]
    making_verbs: frozenset[str]
    actorish: frozenset[str]
    own: frozenset[str]

    @classmethod
    def from_mapping(cls, data: Any, source: str = LEXICON) -> Words:
        """The sets of a parsed rules.yaml; a missing, unknown or malformed set is an error."""
        if not isinstance(data, dict):
            raise ConfigError("expected a mapping of word sets", input=source)
        names = [f.name for f in fields(cls)]
        missing = sorted(set(names) - set(data))
        unknown = sorted(set(data) - set(names) - {"version"})
        if missing or unknown:
            raise ConfigError(f"missing word sets {missing}, unknown {unknown}", input=source)
        sets: dict[str, frozenset[str]] = {}
        for name in names:
            values = data[name]
            bad = [v for v in values or [None] if not isinstance(v, str) or not v.strip()]
            if not isinstance(values, list) or bad:
                raise ConfigError(
                    f"word set {name!r} must be a non-empty list of strings (quote YAML "
                    f"booleans such as 'on'); found {bad or values!r}",
                    input=source,
                )
            sets[name] = frozenset(v.lower() for v in values)
        return cls(**sets)


@cache
def load_words() -> Words:
    """The word sets of the package's rules.yaml."""
    path = resources.files("pipelines.tag").joinpath(LEXICON)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the extractor's word sets: {exc}", input=str(path)) from exc
    return Words.from_mapping(data, str(path))


# The word sets, loaded and checked once: a broken rules.yaml fails at start-up.
W = load_words()
