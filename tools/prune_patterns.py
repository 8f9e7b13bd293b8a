"""The registered patterns that change no score on any labelled set when switched off:
`python -m tools.prune_patterns` (`make prune-patterns`).

Each labelled set (seeds/, tests/data/*/, corpus/dev) is read and parsed once, as
`armswatch tag` does it with the rules alone (ARMSWATCH_TAGGER=rules); then, per pattern of
pipelines/tag/lexicon/patterns.yaml, the extractor runs again on the same parses with that
pattern off, and every set is scored with tools/score.py. A pattern listed changes no score:
a candidate for removal (its own example still shows what it does). Takes 10-20 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from pipelines.clean import default_rules
from pipelines.pipeline import process
from pipelines.record import Story
from pipelines.tag import Tagger, load_tagger
from pipelines.tag.rules.patterns import registry, switched_off
from tools.score import load_jsonl, score
from worker.cli.inputs import read_inputs
from worker.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def labelled_sets() -> dict[str, Path]:
    """Name -> folder of every labelled set the prune decision rests on."""
    folders = [ROOT / "seeds", *sorted((ROOT / "tests/data").glob("*/")), ROOT / "corpus/dev"]
    return {f.relative_to(ROOT).as_posix(): f for f in folders if (f / "gold.jsonl").exists()}


@dataclass
class Parsed:
    """One set's stories as `armswatch tag` gives them, with spaCy's parse where it ran."""

    gold: list[dict[str, Any]]
    stories: list[Story]
    docs: dict[int, Doc]  # story position -> its parse


class _Recording(Tagger):
    """The rules tagger, keeping each parse it makes (keyed by the story's id)."""

    def __init__(self, base: Tagger) -> None:
        super().__init__(**{f: getattr(base, f) for f in base.__dataclass_fields__})
        self.parses: dict[str, Doc] = {}

    def _fields(self, story: Story, doc: Doc) -> Story:
        self.parses[story.id] = doc
        return super()._fields(story, doc)


def parse(folder: Path, tagger: _Recording, settings: Settings) -> Parsed:
    """Read, clean and tag one folder once, keeping the parses."""
    inputs, _ = read_inputs([str(p) for p in sorted(folder.glob("*.txt"))], settings)
    stories = [s for r in process(inputs, tagger=tagger, rules=default_rules()) for s in r.stories]
    docs = {n: tagger.parses[s.id] for n, s in enumerate(stories) if s.id in tagger.parses}
    return Parsed(load_jsonl(folder / "gold.jsonl"), stories, docs)


def scores(tagger: Tagger, sets: dict[str, Parsed]) -> dict[str, dict[str, Any]]:
    """Each set's scores with the extractor as it is now (some patterns may be off)."""
    out = {}
    for name, p in sets.items():
        records = [
            (tagger._fields(s, p.docs[n]) if n in p.docs else s).to_json()
            for n, s in enumerate(p.stories)
        ]
        out[name] = score(p.gold, [json.loads(r) for r in records])
    return out


def unused_patterns(names: list[str] | None = None) -> dict[str, list[str]]:
    """Pattern id -> the labelled sets whose scores change with it off (empty: none do)."""
    settings = Settings()
    base = load_tagger(rules_only=True)
    recording = _Recording(base)
    folders = {n: f for n, f in labelled_sets().items() if names is None or n in names}
    sets = {name: parse(folder, recording, settings) for name, folder in folders.items()}
    baseline = scores(base, sets)
    out = {}
    for pid in sorted(registry()):
        with switched_off(pid):
            out[pid] = [name for name, s in scores(base, sets).items() if s != baseline[name]]
        changed = out[pid]
        print(f"{pid:36} {'changes ' + ', '.join(changed) if changed else 'changes no score'}",
              flush=True)  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", help="only these sets (default: all of them)")
    args = parser.parse_args(argv)
    known = labelled_sets()
    unknown = sorted(set(args.sets or []) - known.keys())
    if unknown:
        parser.error(f"unknown sets {unknown}; the labelled sets are {sorted(known)}")
    changes = unused_patterns(args.sets)
    unused = [pid for pid, sets in changes.items() if not sets]
    print(f"\n{len(unused)} of {len(changes)} patterns change no score when off:")
    print("\n".join(f"  {pid}" for pid in unused) or "  (none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
