"""What the tagger decides on every labelled text, to show a refactor changes nothing.

    python -m tools.tag_snapshot --out before.jsonl           # take a snapshot
    python -m tools.tag_snapshot --out after.jsonl --against before.jsonl

The rules (ARMSWATCH_TAGGER=rules) on seeds/, tests/data/*/, corpus/train, corpus/dev and
corpus/blind*, and the trained model (ARMSWATCH_TAGGER=model) on corpus/dev, each through
`armswatch tag` as a user runs it. One JSON line per story: its file, relevance, topics and
transfers (sorted). With --against, the stories that differ are listed (for blind texts only
their names: those texts and what the tagger misses on them are not for reading) and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULES_SETS = ("seeds", "tests/data/*", "corpus/train", "corpus/dev", "corpus/blind*")
MODEL_SETS = ("corpus/dev",)


def files_of(patterns: tuple[str, ...]) -> list[str]:
    """The .txt files of the given directories (globs under the repository root)."""
    return [
        str(p.relative_to(ROOT))
        for pattern in patterns
        for d in sorted(ROOT.glob(pattern))
        for p in sorted(d.glob("*.txt"))
    ]


def tag(mode: str, files: list[str]) -> list[dict[str, Any]]:
    """`armswatch tag FILES` with ARMSWATCH_TAGGER=mode, reduced to what the tagger decides."""
    env = {**os.environ, "ARMSWATCH_TAGGER": mode}
    done = subprocess.run(
        [sys.executable, "-m", "worker", "tag", *files],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    # (A rejected file, exit 1, is the same rejection in both snapshots; no output is not.)
    if not done.stdout:
        sys.exit(f"armswatch tag ({mode}) exited {done.returncode}: {done.stderr[-2000:]}")
    out = []
    for line in done.stdout.splitlines():
        story = json.loads(line)
        transfers = sorted(story["transfers"], key=lambda t: json.dumps(t, sort_keys=True))
        out.append({
            "mode": mode,
            "file": story["source"]["path"],
            "story": story["story_index"],
            "relevant": story["relevant"],
            "topics": sorted(story["topics"], key=lambda t: json.dumps(t, sort_keys=True)),
            "transfers": transfers,
        })  # fmt: skip
    return out


def snapshot() -> list[dict[str, Any]]:
    """Rules on every labelled set, the model on corpus/dev."""
    return [*tag("rules", files_of(RULES_SETS)), *tag("model", files_of(MODEL_SETS))]


def _key(rec: dict[str, Any]) -> tuple[str, str, int]:
    return (rec["mode"], rec["file"], rec["story"])


def differences(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """One line per story whose decisions differ (blind texts named, never shown)."""
    old = {_key(r): r for r in before}
    new = {_key(r): r for r in after}
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) == new.get(key):
            continue
        mode, name, story = key
        lines.append(f"{mode} {name}#{story}")
        if "blind" in name:
            continue
        for label, rec in (("-", old.get(key)), ("+", new.get(key))):
            lines.append(f"  {label} {json.dumps(rec and rec['transfers'])[:2000]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the snapshot")
    parser.add_argument("--against", type=Path, help="an earlier snapshot to compare with")
    args = parser.parse_args(argv)
    records = snapshot()
    args.out.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    print(f"{len(records)} stories -> {args.out}")
    if args.against is None:
        return 0
    before = [json.loads(line) for line in args.against.read_text().splitlines()]
    lines = differences(before, records)
    print("\n".join(lines) if lines else "identical")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
