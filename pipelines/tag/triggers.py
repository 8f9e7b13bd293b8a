"""The trigger lexicon (tag/lexicon/triggers.yaml) as frozen sets, loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..errors import ConfigError

FRAMES = ("supply", "acquire", "use", "want", "offer", "produce", "deal")


def _set(values: Any) -> frozenset[str]:
    return frozenset(str(v).lower() for v in (values or []))


@dataclass(frozen=True)
class Triggers:
    verbs: dict[str, frozenset[str]]
    nouns: dict[str, frozenset[str]]
    adjectives: dict[str, frozenset[str]]
    agreed: frozenset[str]
    sought: frozenset[str]
    negating: frozenset[str]
    signing: frozenset[str]
    production_compounds: frozenset[str]
    help_nouns: frozenset[str]
    help_verbs: frozenset[str]
    denial_verbs: frozenset[str]
    denial_objects: frozenset[str]
    denial_phrases: tuple[str, ...]
    confirmation_verbs: frozenset[str]
    sanctions: tuple[str, ...]
    hedges: frozenset[str]

    def frame_of(self, lemma: str, pos: str) -> str | None:
        """The frame a word triggers, by its lemma and coarse part of speech."""
        table = {"VERB": self.verbs, "NOUN": self.nouns, "ADJ": self.adjectives}.get(pos)
        if table is None:
            return None
        for frame in FRAMES:
            if lemma in table.get(frame, ()):
                return frame
        return None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Triggers:
        frames = data.get("frames") or {}
        unknown = set(frames) - set(FRAMES)
        if unknown:
            raise ConfigError(f"unknown frames {sorted(unknown)}", input="triggers.yaml")
        status = data.get("status") or {}
        denial = data.get("denial") or {}
        return cls(
            verbs={f: _set(v.get("verbs")) for f, v in frames.items()},
            nouns={f: _set(v.get("nouns")) for f, v in frames.items()},
            adjectives={f: _set(v.get("adjectives")) for f, v in frames.items()},
            agreed=_set(status.get("agreed")),
            sought=_set(status.get("sought")),
            negating=_set(status.get("negating")),
            signing=_set(status.get("signing")),
            production_compounds=_set(data.get("production_compounds")),
            help_nouns=_set(data.get("help_nouns")),
            help_verbs=_set(data.get("help_verbs")),
            denial_verbs=_set(denial.get("verbs")),
            denial_objects=_set(denial.get("anaphoric_objects")),
            denial_phrases=tuple(sorted(_set(denial.get("phrases")))),
            confirmation_verbs=_set((data.get("confirmation") or {}).get("verbs")),
            sanctions=tuple(sorted(_set(data.get("sanctions")))),
            hedges=_set(data.get("hedges")),
        )


@cache
def load_triggers() -> Triggers:
    path = resources.files("pipelines.tag").joinpath("lexicon/triggers.yaml")
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the trigger lexicon: {exc}", input=str(path)) from exc
    return Triggers.from_mapping(data)
