"""The lexicons load, and every entry matches its own names (tag/lexicon/*.yaml)."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

from pipelines.tag.gazetteer import load_gazetteer

LEXICON = resources.files("pipelines.tag").joinpath("lexicon")
WEAPONS = yaml.safe_load(LEXICON.joinpath("weapons.yaml").read_text("utf-8"))
ACTORS = yaml.safe_load(LEXICON.joinpath("actors.yaml").read_text("utf-8"))


def _weapon_cases() -> list[tuple[str, str, str]]:
    return [
        (str(alias), e["name"], e["class"])
        for e in WEAPONS["systems"]
        for alias in [e["name"], *(e.get("aliases") or [])]
    ]


def _actor_cases() -> list[tuple[str, str | None]]:
    cases: list[tuple[str, str | None]] = []
    for state in ACTORS["states"]:
        for field in ("names", "demonyms", "metonyms"):
            cases += [(n, state["code"]) for n in state.get(field) or []]
    cases += [(n, g["slug"]) for g in ACTORS["groups"] for n in g["names"]]
    cases += [(n, o["state"]) for o in ACTORS["state_organs"] for n in o["names"]]
    cases += [
        (n, c["state"]) for c in ACTORS["companies"] for n in [c["name"], *(c.get("aliases") or [])]
    ]
    cases += [(n, None) for n in ACTORS["organizations"] + ACTORS.get("places", [])]
    return cases


def test_the_lexicons_are_big_enough() -> None:
    assert len(WEAPONS["systems"]) >= 150
    assert len(WEAPONS["generic"]) >= 40
    assert len(ACTORS["states"]) >= 193


def test_every_weapon_name_and_alias_matches_its_entry() -> None:
    gazetteer = load_gazetteer()
    failures = []
    for alias, name, cls in _weapon_cases():
        # The class word is the context that ambiguous names ("Lancet", "Patriot") need.
        text = f"Officials said the {alias} {'missile system' if cls != 'drone' else 'drones'} arrived."
        found = [m for m in gazetteer.weapons(text) if m.info.name == name]
        if not found or found[0].info.system_class != cls:
            failures.append(alias)
    assert failures == []


def test_every_actor_name_resolves_to_its_code() -> None:
    gazetteer = load_gazetteer()
    failures = []
    for name, code in _actor_cases():
        matches = gazetteer.actors(f"Reports from {name} said so.")
        if not any(m.text.rstrip("s") == name.rstrip("s") and m.info.code == code for m in matches):
            failures.append((name, code))
    assert failures == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the Lancet journal published a study", []),
        ("Russia used Lancet drones near Kherson", ["Lancet"]),
        ("© Patriot News Alerts", []),
        ("two Patriot batteries arrived", ["Patriot"]),
        ("Shahed136s and Shahed 136 and Geran-2", ["Shahed-136", "Shahed-136", "Shahed-136"]),
        ("six Su-30SME fighters and the S-400s", ["Su-30", "S-400"]),
        ("the MS-400 is not a weapon", []),
    ],
)
def test_designations_in_context(text: str, expected: list[str]) -> None:
    assert [m.info.name for m in load_gazetteer().weapons(text) if m.info.name] == expected


def test_actors_are_case_sensitive_where_it_matters() -> None:
    gazetteer = load_gazetteer()
    assert [m.info.code for m in gazetteer.actors("Turkey and China signed")] == ["TR", "CN"]
    assert gazetteer.actors("roast turkey on fine china") == []
    assert gazetteer.actors("let us go") == []
    assert [m.info.code for m in gazetteer.actors("the US and the UN")] == ["US", None]


def test_the_checkers_accept_the_shipped_files() -> None:
    import subprocess
    import sys

    for script in ("check_weapons.py", "check_actors.py"):
        path = LEXICON.joinpath(script)
        out = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert re.search(r"\bOK\b|passed|0 error", out.stdout + out.stderr, re.I)
