"""Gazetteers: weapons and actors from the data files in tag/lexicon/, matched in one pass.

Matching is an Aho-Corasick automaton over the text (pyahocorasick), not a spaCy
PhraseMatcher, so that the same automaton serves as the prefilter before spaCy runs and
so that spelling variants (`Shahed-136`, `Shahed 136`, `Shahed136s`) need no tokenizer
agreement. Weapons match case-insensitively; actors case-sensitively (`Chad`, `Turkey`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any, Generic, Literal, TypeVar

import ahocorasick
import yaml

from ..errors import ConfigError
from ..record import SYSTEM_CLASSES, SystemClass

ActorKind = Literal["state", "group", "company", "organ", "organization", "place"]
ActorForm = Literal["name", "demonym", "metonym"]

T = TypeVar("T")


@dataclass(frozen=True)
class WeaponInfo:
    name: str | None  # canonical designation; None for a class word such as "drones"
    system_class: SystemClass
    origin: str | None = None
    needs_context: bool = False

    @property
    def generic(self) -> bool:
        return self.name is None


@dataclass(frozen=True)
class ActorInfo:
    code: str | None  # ISO alpha-2 or group slug; None: a body or place that is never a party
    kind: ActorKind
    form: ActorForm = "name"
    ambiguous: bool = False  # also a common word or first name: needs spaCy's agreement


@dataclass(frozen=True)
class Match(Generic[T]):
    start: int
    end: int
    text: str
    info: T


# Words around an ambiguous designation that make it a weapon ("Lancet drones", "Patriot
# batteries"), as opposed to a journal, a newspaper or a person.
_CONTEXT_AFTER = re.compile(
    r"[\s-]*(?:[\w.-]+[\s-]+){0,2}?(?:drones?|uavs?|ucavs?|missiles?|munitions?|systems?|"
    r"batter(?:y|ies)|launchers?|interceptors?|jets?|fighters?|aircraft|helicopters?|rockets?|"
    r"warplanes?|air[- ]defen[cs]e|anti-tank|anti-ship|cruise|ballistic|loitering|kamikaze|"
    r"mlrs|sams?|units?|variants?|strike)\b",
    re.I,
)
_CONTEXT_BEFORE = re.compile(
    r"\b(?:drones?|uavs?|missiles?|munitions?|systems?|batter(?:y|ies))\s+(?:called|named|"
    r"dubbed|known as|such as|like|including|type|model)?\s*$",
    re.I,
)
_ALNUM = re.compile(r"\w")
# Capital letters (and digits) right after a designation's number name a variant of it.
_VARIANT_SUFFIX = re.compile(r"[A-Z]{1,4}\d{0,2}(?![\w])")


def _is_word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and bool(_ALNUM.match(text[i]))


def _variants(name: str) -> set[str]:
    """Spelling variants differing by hyphen, space or nothing between parts."""
    parts = [p for p in re.split(r"[\s\-‐‑–]+", name.strip()) if p]
    out = {name.strip()}
    if len(parts) > 1:
        out.add(" ".join(parts))
        out.add("-".join(parts))
        # Glue only where letters meet digits (Shahed136, Su35), not between words.
        glued = parts[0]
        for prev, part in pairwise(parts):
            sep = "" if (prev[-1].isdigit() != part[0].isdigit()) else " "
            glued += sep + part
        out.add(glued)
    return out


class Gazetteer:
    """Weapons and actors, loaded once; `weapons(text)`, `actors(text)`, `mentions_weapons`."""

    def __init__(self, weapons: dict[str, Any], actors: dict[str, Any]):
        self.weapon_entries: dict[str, WeaponInfo] = {}
        self._weapons = ahocorasick.Automaton()
        self._actors = ahocorasick.Automaton()
        self.actor_names: dict[str, list[str]] = {}
        self._load_weapons(weapons)
        self._load_actors(actors)
        self._weapons.make_automaton()
        self._actors.make_automaton()

    # --- loading ----------------------------------------------------------------------

    def _add_weapon(self, surface: str, info: WeaponInfo) -> None:
        for variant in _variants(surface):
            key = _lower(variant)
            if key in self._weapons:
                continue  # first entry wins; the checker keeps the data free of clashes
            self._weapons.add_word(key, (len(key), info))

    def _load_weapons(self, data: dict[str, Any]) -> None:
        for entry in data.get("systems") or []:
            try:
                cls = entry["class"]
                if cls not in SYSTEM_CLASSES:
                    raise ValueError(f"unknown class {cls!r}")
                info = WeaponInfo(
                    name=str(entry["name"]),
                    system_class=cls,
                    origin=entry.get("origin"),
                    needs_context=bool(entry.get("needs_context", False)),
                )
            except (KeyError, ValueError, TypeError) as exc:
                raise ConfigError(
                    f"bad weapons entry {entry!r}: {exc}", input="weapons.yaml"
                ) from exc
            self.weapon_entries[info.name or ""] = info
            for surface in [entry["name"], *(entry.get("aliases") or [])]:
                # A designation with a number in it (MIM-104, Lancet-3) is a weapon anywhere.
                distinctive = any(ch.isdigit() for ch in str(surface))
                self._add_weapon(
                    str(surface), replace(info, needs_context=False) if distinctive else info
                )
        for entry in data.get("generic") or []:
            cls = entry.get("class")
            if cls not in SYSTEM_CLASSES:
                raise ConfigError(f"bad generic term {entry!r}", input="weapons.yaml")
            self._add_weapon(str(entry["term"]), WeaponInfo(name=None, system_class=cls))

    def _add_actor(self, surface: str, info: ActorInfo) -> None:
        surface = surface.strip().replace("\u2019", "'")
        if not surface:
            return
        # Acronyms (US, UN, RSF) match in their exact case; "us" and "un" are words.
        exact = surface.isupper() and len(surface.replace(".", "")) <= 6
        key = _lower(surface)
        if key not in self._actors:
            # Kept: the exact form of acronyms, and whether the name starts in lower case
            # ("al-Qaeda", "ideaForge"), which a capital-initial check must let through.
            case = surface if exact else ("lower" if surface[0].islower() else None)
            self._actors.add_word(key, (len(key), (info, case)))
        if info.code:
            self.actor_names.setdefault(info.code, []).append(surface)

    def _load_actors(self, data: dict[str, Any]) -> None:
        def entries(section: str) -> list[dict[str, Any]]:
            return list(data.get(section) or [])

        for state in entries("states"):
            code, ambiguous = state["code"], set(state.get("ambiguous_names") or [])
            for form in ("name", "demonym", "metonym"):
                for name in state.get(f"{form}s") or []:
                    info = ActorInfo(code, "state", form, name in ambiguous)
                    self._add_actor(name, info)
        sections: tuple[tuple[str, ActorKind, str, tuple[str, ...]], ...] = (
            ("groups", "group", "slug", ("names",)),
            ("state_organs", "organ", "state", ("names",)),
            ("companies", "company", "state", ("name", "aliases")),
        )
        for section, kind, code_field, name_fields in sections:
            for entry in entries(section):
                ambiguous = set(entry.get("ambiguous_names") or [])
                names: list[str] = []
                for field in name_fields:
                    value = entry.get(field) or []
                    names.extend([value] if isinstance(value, str) else value)
                for name in names:
                    info = ActorInfo(entry[code_field], kind, "name", name in ambiguous)
                    self._add_actor(name, info)
        nobodies: tuple[tuple[str, ActorKind], ...] = (
            ("organizations", "organization"),
            ("places", "place"),
        )
        for section, kind in nobodies:
            for name in data.get(section) or []:
                self._add_actor(str(name), ActorInfo(None, kind))

    # --- matching ---------------------------------------------------------------------

    @staticmethod
    def _select(candidates: Iterable[Match[T]]) -> list[Match[T]]:
        """Longest non-overlapping matches, in text order."""
        chosen: list[Match[T]] = []
        taken: list[tuple[int, int]] = []
        for m in sorted(candidates, key=lambda m: (-(m.end - m.start), m.start)):
            if all(m.end <= s or m.start >= e for s, e in taken):
                chosen.append(m)
                taken.append((m.start, m.end))
        return sorted(chosen, key=lambda m: m.start)

    def _scan(
        self, automaton: Any, haystack: str, text: str, *, designations: bool = False
    ) -> Iterator[tuple[int, int, bool, Any]]:
        """(start, end, exact, value) of whole-word matches; with `designations`, plurals
        ("Shahed-136s", "S-400s") and variant suffixes ("Su-30SME", "F-15IA") extend a match,
        which then counts as inexact so that an alias spelt out in full wins a tie."""
        for end_index, (length, info) in automaton.iter(haystack):
            start, end = end_index - length + 1, end_index + 1
            if _is_word_char(text, start - 1):
                continue
            exact = True
            if _is_word_char(text, end):
                if not designations:
                    continue
                variant = _VARIANT_SUFFIX.match(text, end) if text[end - 1].isdigit() else None
                if text[end] in "sS" and not _is_word_char(text, end + 1):
                    end += 1
                elif variant:
                    end = variant.end()
                else:
                    continue
                exact = False
            yield start, end, exact, info

    def weapons(self, text: str) -> list[Match[WeaponInfo]]:
        exact_first: list[tuple[bool, Match[WeaponInfo]]] = []
        for start, end, exact, info in self._scan(self._weapons, _lower(text), text,
                                                  designations=True):  # fmt: skip
            if info.needs_context and not self._weapon_context(text, start, end):
                continue
            exact_first.append((not exact, Match(start, end, text[start:end], info)))
        # Of two matches over the same span, the one spelt out in full wins (stable sort).
        found = [m for _, m in sorted(exact_first, key=lambda pair: pair[0])]
        return self._select(found)

    @staticmethod
    def _weapon_context(text: str, start: int, end: int) -> bool:
        if not text[start].isupper():
            return False
        return bool(
            _CONTEXT_AFTER.match(text, end)
            or _CONTEXT_BEFORE.search(text[max(0, start - 40) : start])
        )

    def actors(self, text: str) -> list[Match[ActorInfo]]:
        found: list[Match[ActorInfo]] = []
        for start, end, _, (info, case) in self._scan(self._actors, _lower(text), text):
            surface = text[start:end]
            if case not in (None, "lower"):
                if surface != case:
                    continue
            elif not (surface[0].isupper() or surface[0].isdigit() or case == "lower"):
                continue  # "turkey", "china", "chad" in lower case are not the states
            found.append(Match(start, end, surface, info))
        return self._select(found)

    def mentions_weapons(self, text: str) -> bool:
        """The prefilter: does the text name any weapon or weapon class at all?"""
        return bool(self.weapons(text))


def _lower(text: str) -> str:
    """Lower case with the same length, so offsets into it are offsets into `text`."""
    lowered = text.lower()
    if len(lowered) != len(text):  # rare characters whose lower case is longer
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered


def _read(name: str) -> dict[str, Any]:
    path = resources.files("pipelines.tag").joinpath(f"lexicon/{name}")
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the lexicon: {exc}", input=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError("the lexicon is not a mapping", input=str(path))
    return data


@cache
def load_gazetteer() -> Gazetteer:
    """The packaged gazetteer, built once per process."""
    return Gazetteer(_read("weapons.yaml"), _read("actors.yaml"))
