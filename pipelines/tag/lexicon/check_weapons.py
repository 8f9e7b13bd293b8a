#!/usr/bin/env python3
"""Check the weapons gazetteer (weapons.yaml) for structural and consistency errors.

Usage: python check_weapons.py [PATH]   (default: weapons.yaml next to this script)

Exits 1 and names every offending entry when:
  - an entry misses a field (name, class, origin, aliases, needs_context) or has a wrong type;
  - class is not one of drone, missile, air_defense, aircraft, other;
  - origin is not two upper-case letters;
  - two entries share a name, an alias appears in two entries or collides with another
    entry's name, or an alias repeats its own entry's name or another of its aliases
    (all compared case-insensitively with hyphens and spaces removed);
  - a generic term is duplicated, malformed, or collides with a system name or alias.
Prints the number of systems per class at the end. Needs only PyYAML.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

CLASSES = ("drone", "missile", "air_defense", "aircraft", "other")
FIELDS = ("name", "class", "origin", "aliases", "needs_context")
ORIGIN_RE = re.compile(r"^[A-Z]{2}$")
MIN_SYSTEMS = 220
MIN_GENERIC = 40


def norm(text: str) -> str:
    """Case-insensitive key with hyphens (incl. Unicode dashes) and whitespace removed."""
    return re.sub(r"[\s\-\u2010-\u2015]+", "", text).casefold()


def check(data: object) -> tuple[list[str], Counter[str]]:
    errors: list[str] = []
    per_class: Counter[str] = Counter()

    if not isinstance(data, dict):
        return ["top level is not a mapping"], per_class
    if data.get("version") != 1:
        errors.append(f"version must be 1, got {data.get('version')!r}")
    extra = set(data) - {"version", "systems", "generic"}
    if extra:
        errors.append(f"unknown top-level keys: {sorted(extra)}")

    systems = data.get("systems")
    if not isinstance(systems, list):
        errors.append("'systems' is missing or not a list")
        systems = []

    valid_entries: list[tuple[str, dict[str, Any]]] = []
    for i, entry in enumerate(systems):
        valid = _check_entry(i, entry, errors, per_class)
        if valid is not None:
            valid_entries.append(valid)
    owner = _check_names(valid_entries, errors)

    generic = data.get("generic")
    if not isinstance(generic, list):
        errors.append("'generic' is missing or not a list")
        generic = []
    _check_generic(generic, owner, errors)

    if len(systems) < MIN_SYSTEMS:
        errors.append(f"only {len(systems)} systems, need at least {MIN_SYSTEMS}")
    if len(generic) < MIN_GENERIC:
        errors.append(f"only {len(generic)} generic terms, need at least {MIN_GENERIC}")

    return errors, per_class


def _check_entry(
    i: int, entry: object, errors: list[str], per_class: Counter[str]
) -> tuple[str, dict[str, Any]] | None:
    """One system entry's fields; (label, name and aliases) when those two are usable."""
    label = f"systems[{i}]"
    if not isinstance(entry, dict):
        errors.append(f"{label}: entry is not a mapping")
        return None
    if isinstance(entry.get("name"), str):
        label = f"systems[{i}] {entry['name']!r}"
    missing = [f for f in FIELDS if f not in entry]
    if missing:
        errors.append(f"{label}: missing field(s) {', '.join(missing)}")
    unknown = set(entry) - set(FIELDS)
    if unknown:
        errors.append(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")

    # check every field that is present, so one run reports all problems
    ok = "name" in entry
    name = entry.get("name")
    if "name" in entry and (not isinstance(name, str) or not name.strip()):
        errors.append(f"{label}: name must be a non-empty string, got {name!r}")
        ok = False
    if "class" in entry:
        if entry["class"] not in CLASSES:
            errors.append(f"{label}: class {entry['class']!r} not in {CLASSES}")
        else:
            per_class[entry["class"]] += 1
    if "origin" in entry:
        origin = entry["origin"]
        if not isinstance(origin, str) or not ORIGIN_RE.match(origin):
            hint = " (quote it: YAML reads a bare NO as false)" if origin is False else ""
            errors.append(f"{label}: origin {origin!r} is not two upper-case letters{hint}")
    if "needs_context" in entry and not isinstance(entry["needs_context"], bool):
        errors.append(
            f"{label}: needs_context must be true or false, got {entry['needs_context']!r}"
        )
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        errors.append(f"{label}: aliases must be a list of non-empty strings, got {aliases!r}")
        ok = False
    return (label, {"name": name, "aliases": aliases}) if ok else None


def _check_names(
    valid_entries: list[tuple[str, dict[str, Any]]], errors: list[str]
) -> dict[str, tuple[str, str]]:
    """Collisions among names and aliases; key -> (entry label, "name"/"alias") of its
    first owner."""
    owner: dict[str, tuple[str, str]] = {}
    # names first, so an alias colliding with a later entry's name is still caught
    for label, entry in valid_entries:
        key = norm(entry["name"])
        if key in owner:
            errors.append(f"{label}: name collides with name of {owner[key][0]}")
        else:
            owner[key] = (label, "name")

    for label, entry in valid_entries:
        own = norm(entry["name"])
        seen_here: set[str] = set()
        for alias in entry["aliases"]:
            key = norm(alias)
            if key == own:
                errors.append(
                    f"{label}: alias {alias!r} only repeats the name (hyphen/space/case variant)"
                )
                continue
            if key in seen_here:
                errors.append(f"{label}: alias {alias!r} listed twice (hyphen/space/case variant)")
                continue
            seen_here.add(key)
            if key in owner:
                other, kind = owner[key]
                errors.append(f"{label}: alias {alias!r} collides with {kind} of {other}")
            else:
                owner[key] = (label, "alias")
    return owner


def _check_generic(
    generic: list[Any], owner: dict[str, tuple[str, str]], errors: list[str]
) -> None:
    """Generic terms: well formed, not repeated, not a system's name or alias."""
    seen_terms: dict[str, str] = {}
    for i, item in enumerate(generic):
        label = f"generic[{i}]"
        if not isinstance(item, dict) or set(item) != {"term", "class"}:
            errors.append(
                f"{label}: must be a mapping with exactly 'term' and 'class', got {item!r}"
            )
            continue
        term = item["term"]
        label = f"generic[{i}] {term!r}"
        if not isinstance(term, str) or not term.strip():
            errors.append(f"{label}: term must be a non-empty string")
            continue
        if item["class"] not in CLASSES:
            errors.append(f"{label}: class {item['class']!r} not in {CLASSES}")
        key = norm(term)
        if key in seen_terms:
            errors.append(f"{label}: duplicate of {seen_terms[key]}")
        else:
            seen_terms[key] = label
        if key in owner:
            other, kind = owner[key]
            errors.append(f"{label}: collides with {kind} of {other}")


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("weapons.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        print(f"ERROR: cannot load {path}: {exc}", file=sys.stderr)
        return 1

    errors, per_class = check(data)
    for err in errors:
        print(f"ERROR: {err}", file=sys.stderr, flush=True)

    systems = data.get("systems") or [] if isinstance(data, dict) else []
    generic = data.get("generic") or [] if isinstance(data, dict) else []
    print(f"{path}: {len(systems)} systems, {len(generic)} generic terms")
    for cls in CLASSES:
        print(f"  {cls:<12} {per_class.get(cls, 0)}")
    if errors:
        print(f"FAILED: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
