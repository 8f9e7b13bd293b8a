"""Tag quality on the labelled sets: `python -m tools.quality [--markdown]`.

Each set is scored twice: with the trained model deciding (the default tagger) and with
the rules alone (`ARMSWATCH_TAGGER=rules`). corpus/dev is the model's dev set; corpus/blind*
folders are written after a model was frozen (corpus/README.md says which were read).

Runs `armswatch tag` over seeds/ and tests/data/{dev,dev2,holdout,holdout2,holdout3,holdout4}/
and scores each with tools/score.py. holdout2, holdout3 and holdout4 (written by people who
never saw the tagger) estimate unseen text; holdout3 and holdout4 were never tuned on (their
texts and misses unread); holdout was scored blind until its misses were studied on
2026-11-22.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.misses import causes, summary
from tools.score import load_jsonl, score

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "seeds": ROOT / "seeds",
    "dev": ROOT / "tests/data/dev",
    "dev2": ROOT / "tests/data/dev2",
    "holdout": ROOT / "tests/data/holdout",
    "holdout2": ROOT / "tests/data/holdout2",
    "holdout3": ROOT / "tests/data/holdout3",
    "holdout4": ROOT / "tests/data/holdout4",
    "corpus-dev": ROOT / "corpus/dev",
    **{f"corpus-{p.name}": p for p in sorted((ROOT / "corpus").glob("blind*"))},
}
TAGGERS = ("model", "rules")
COLUMNS = ("relevance_f1", "transfer_p", "transfer_r", "transfer_f1", "core_f1", "status_acc",
           "denied_acc")  # fmt: skip


def tag(paths: list[Path], tagger: str = "model") -> list[dict[str, Any]]:
    """Records from the real command line, as a user would get them."""
    env = {**os.environ, "ARMSWATCH_TAGGER": tagger}
    out = subprocess.run([sys.executable, "-m", "worker", "tag", *map(str, paths)], cwd=ROOT,
                         capture_output=True, text=True, check=True, env=env)  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def scores(folders: list[Path], tagger: str = "model") -> dict[str, Any]:
    """One score over several labelled folders pooled together."""
    return scored(folders, tagger)[0]


def scored(folders: list[Path], tagger: str) -> tuple[dict[str, Any], str]:
    """The score, and the misses grouped by cause (tools/misses.py)."""
    gold = [g for f in folders for g in load_jsonl(f / "gold.jsonl")]
    records = tag([p for f in folders for p in sorted(f.glob("*.txt"))], tagger)
    return score(gold, records), summary(*causes(gold, records)[:2])


def main() -> int:
    done = {(name, t): scored([folder], t) for name, folder in SETS.items() for t in TAGGERS}
    rows = {k: v[0] for k, v in done.items()}
    if "--markdown" in sys.argv:
        print("| set | tagger | files | " + " | ".join(COLUMNS) + " |")
        print("|---|---|---|" + "---|" * len(COLUMNS))
        for (name, t), r in rows.items():
            cells = " | ".join(f"{r[c]:.3f}" for c in COLUMNS)
            print(f"| {name} | {t} | {r['files']} | {cells} |")
    else:
        for (name, t), r in rows.items():
            cells = " ".join(f"{c}={r[c]:.3f}" for c in COLUMNS)
            print(f"{name:11} {t:5} files={r['files']:4} {cells}")
    # Blind sets keep their misses unread: reading them would make them dev sets.
    print("\nMisses by cause (tools/misses.py; blind sets left out):")
    for (name, t), (_, misses) in done.items():
        if not name.startswith("corpus-blind"):
            print(f"{name} {t}:\n  " + misses.replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
