"""Validate actors.yaml: codes, slugs, required fields and name collisions; print counts.

Usage: python pipelines/tag/lexicon/check_actors.py [PATH]   (default: actors.yaml beside this file)
Exits 1 and names every offending entry on stderr when the file is not valid.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry
import yaml

DEFAULT_PATH = Path(__file__).with_name("actors.yaml")

# Codes pycountry does not know but the contract uses: Kosovo (user-assigned, in common use).
EXTRA_CODES = frozenset({"XK"})

# The 193 UN member states: each must have a `states` entry.
_UN_MEMBERS = """
    AF AL DZ AD AO AG AR AM AU AT AZ BS BH BD BB BY BE BZ BJ BT BO BA BW BR BN BG BF BI CV KH
    CM CA CF TD CL CN CO KM CG CD CR CI HR CU CY CZ DK DJ DM DO EC EG SV GQ ER EE SZ ET FJ FI
    FR GA GM GE DE GH GR GD GT GN GW GY HT HN HU IS IN ID IR IQ IE IL IT JM JP JO KZ KE KI KP
    KR KW KG LA LV LB LS LR LY LI LT LU MG MW MY MV ML MT MH MR MU MX FM MD MC MN ME MA MZ MM
    NA NR NP NL NZ NI NE NG MK NO OM PK PW PA PG PY PE PH PL PT QA RO RU RW KN LC VC WS SM ST
    SA SN RS SC SL SG SK SI SB SO ZA SS ES LK SD SR SE CH SY TJ TZ TH TL TG TO TT TN TR TM TV
    UG UA AE GB US UY UZ VU VE VN YE ZM ZW
"""
UN_MEMBERS = frozenset(_UN_MEMBERS.split())

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# section -> (required keys, optional keys); every list-valued key holds names.
SCHEMA: dict[str, tuple[dict[str, type], dict[str, type]]] = {
    "states": (
        {"code": str, "names": list, "demonyms": list, "metonyms": list},
        {"ambiguous_names": list},
    ),
    "groups": ({"slug": str, "names": list, "based_in": str}, {"ambiguous_names": list}),
    "state_organs": ({"names": list, "state": str}, {"ambiguous_names": list}),
    "companies": ({"name": str, "aliases": list, "state": str}, {"ambiguous_names": list}),
}
# Lists that may be empty (a state without a usable demonym or capital, a company without aliases).
MAY_BE_EMPTY = frozenset({"demonyms", "metonyms", "aliases"})
FLAT_SECTIONS = ("organizations", "places")


def fold(name: str) -> str:
    """The key two names collide on: case, accents, apostrophes, spacing and a leading "the"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    text = " ".join(text.casefold().split())
    return text.removeprefix("the ")


def is_code(code: str) -> bool:
    """Whether `code` is an ISO 3166-1 alpha-2 code (or one of EXTRA_CODES)."""
    if code in EXTRA_CODES:
        return True
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


@dataclass
class Report:
    """Errors found so far and the owner of every folded name."""

    errors: list[str] = field(default_factory=list)
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def claim(self, where: str, names: list[str]) -> None:
        """Register the names of one entry; a name already owned by another entry is an error."""
        seen: set[str] = set()
        for name in names:
            if name.casefold() in seen:
                self.error(where, f"name {name!r} is listed twice")
                continue
            seen.add(name.casefold())
            key = fold(name)
            owner = self.owners.get(key)
            if owner is not None and owner[0] != where:
                self.error(where, f"name {name!r} collides with {owner[1]!r} of {owner[0]}")
            else:
                self.owners.setdefault(key, (where, name))


def check_names(report: Report, where: str, key: str, value: list[Any]) -> list[str]:
    """Return the valid names of a list field, reporting the others."""
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            report.error(where, f"{key} holds {item!r}, not a non-empty string")
        elif item != item.strip() or "  " in item:
            report.error(where, f"{key} holds {item!r} with stray white space")
        else:
            names.append(item)
    if not value and key not in MAY_BE_EMPTY:
        report.error(where, f"{key} is empty")
    return names


def label(section: str, index: int, entry: dict[str, Any]) -> str:
    """A readable name for an entry in error messages: states[IR], groups[houthis]..."""
    for key in ("code", "slug", "name"):
        if isinstance(entry.get(key), str):
            return f"{section}[{entry[key]}]"
    names = entry.get("names")
    if isinstance(names, list) and names and isinstance(names[0], str):
        return f"{section}[{index}: {names[0]}]"
    return f"{section}[{index}]"


def check_entry(report: Report, section: str, index: int, entry: Any) -> dict[str, Any] | None:
    """Check the fields and types of one entry and claim its names; None when unusable."""
    if not isinstance(entry, dict):
        report.error(f"{section}[{index}]", f"is {type(entry).__name__}, not a mapping")
        return None
    where = label(section, index, entry)
    required, optional = SCHEMA[section]
    for key, kind in required.items():
        if key not in entry:
            report.error(where, f"lacks required field {key!r}")
        elif not isinstance(entry[key], kind):
            report.error(where, f"{key} is {type(entry[key]).__name__}, not {kind.__name__}")
    for key in entry.keys() - required.keys():
        if key not in optional:
            report.error(where, f"unknown field {key!r}")
        elif not isinstance(entry[key], optional[key]):
            report.error(where, f"{key} is {type(entry[key]).__name__}")
    names: list[str] = []
    if isinstance(entry.get("name"), str):
        names.append(entry["name"])
    for key in ("names", "demonyms", "metonyms", "aliases"):
        if isinstance(entry.get(key), list):
            names += check_names(report, where, key, entry[key])
    report.claim(where, names)
    ambiguous = entry.get("ambiguous_names")
    if isinstance(ambiguous, list):
        own = set(names)
        for name in check_names(report, where, "ambiguous_names", ambiguous):
            if name not in own:
                report.error(where, f"ambiguous name {name!r} is not one of its names")
    return entry


def check(data: Any) -> tuple[list[str], dict[str, int]]:
    """Validate the parsed file; return the errors and the entry count per section."""
    report = Report()
    counts: dict[str, int] = {}
    if not isinstance(data, dict):
        return ["file: top level is not a mapping"], counts
    if data.get("version") != 1:
        report.error("file", f"version is {data.get('version')!r}, expected 1")
    known = {"version", *SCHEMA, *FLAT_SECTIONS}
    for key in data.keys() - known:
        report.error("file", f"unknown section {key!r}")
    sections: dict[str, list[dict[str, Any]]] = {}
    for section in SCHEMA:
        raw = data.get(section)
        if not isinstance(raw, list) or not raw:
            report.error("file", f"section {section!r} is missing or empty")
            raw = []
        checked = [check_entry(report, section, i, entry) for i, entry in enumerate(raw)]
        sections[section] = [entry for entry in checked if entry is not None]
        counts[section] = len(raw)

    state_codes = check_states(report, sections["states"])
    check_references(report, sections, state_codes)

    for section in FLAT_SECTIONS:
        raw = data.get(section)
        if raw is None and section == "places":
            raw = []  # optional section
        if not isinstance(raw, list):
            report.error("file", f"section {section!r} is missing or not a list")
            raw = []
        report.claim(section, check_names(report, section, section, raw))
        counts[section] = len(raw)
    return report.errors, counts


def check_states(report: Report, states: list[dict[str, Any]]) -> set[str]:
    """Each state once, by a valid code, and every UN member present; the codes."""
    state_codes: set[str] = set()
    for entry in states:
        code = entry.get("code")
        if not isinstance(code, str):
            continue
        if not is_code(code):
            report.error(f"states[{code}]", "code is not an ISO 3166-1 alpha-2 code")
        if code in state_codes:
            report.error(f"states[{code}]", "state appears twice")
        state_codes.add(code)
    for code in sorted(UN_MEMBERS - state_codes):
        report.error("states", f"UN member {code} has no entry")
    return state_codes


def check_references(
    report: Report, sections: dict[str, list[dict[str, Any]]], state_codes: set[str]
) -> None:
    """Group slugs unique and well formed; every state a group, organ or company names."""
    slugs: set[str] = set()
    for i, entry in enumerate(sections["groups"]):
        slug = entry.get("slug")
        if isinstance(slug, str):
            if not SLUG.fullmatch(slug):
                report.error(f"groups[{slug}]", "slug is not lower-case-with-hyphens")
            if slug in slugs:
                report.error(f"groups[{slug}]", "slug appears twice")
            slugs.add(slug)
        check_code(report, label("groups", i, entry), "based_in", entry, state_codes)
    for section in ("state_organs", "companies"):
        for i, entry in enumerate(sections[section]):
            check_code(report, label(section, i, entry), "state", entry, state_codes)


def check_code(
    report: Report, where: str, key: str, entry: dict[str, Any], state_codes: set[str]
) -> None:
    """A state reference must be a valid code that has its own `states` entry."""
    code = entry.get(key)
    if not isinstance(code, str):
        return
    if not is_code(code):
        report.error(where, f"{key} {code!r} is not an ISO 3166-1 alpha-2 code")
    elif code not in state_codes:
        report.error(where, f"{key} {code!r} has no entry in states")


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 1
    errors, counts = check(data)
    for section, count in counts.items():
        print(f"{section}: {count}")
    print(f"names: {len(iter_names(data))}")
    if errors:
        for message in errors:
            print(f"ERROR {message}", file=sys.stderr)
        print(f"{path}: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    return 0


def iter_names(data: Any) -> list[str]:
    """Every name in the file (for the count)."""
    out: list[str] = []
    if not isinstance(data, dict):
        return out
    for section in SCHEMA:
        for entry in data.get(section) or []:
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("name"), str):
                out.append(entry["name"])
            for key in ("names", "demonyms", "metonyms", "aliases"):
                value = entry.get(key)
                if isinstance(value, list):
                    out += [name for name in value if isinstance(name, str)]
    for section in FLAT_SECTIONS:
        value = data.get(section)
        if isinstance(value, list):
            out += [name for name in value if isinstance(name, str)]
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv))
