"""Tag quality on the labelled sets: `python -m tools.quality [--markdown]`.

Runs `armswatch tag` over seeds/ and tests/data/{dev,dev2,holdout,holdout2,holdout3,holdout4}/
and scores each with tools/score.py. holdout2, holdout3 and holdout4 (written by people who
never saw the tagger) estimate unseen text; holdout3 and holdout4 were never tuned on (their
texts and misses unread); holdout was scored blind until its misses were studied on
2026-11-22.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
}
COLUMNS = ("relevance_f1", "topic_f1", "transfer_p", "transfer_r", "transfer_f1", "status_acc",
           "denied_acc")  # fmt: skip


def tag(paths: list[Path]) -> list[dict[str, Any]]:
    """Records from the real command line, as a user would get them."""
    out = subprocess.run([sys.executable, "-m", "worker", "tag", *map(str, paths)], cwd=ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def scores(folders: list[Path]) -> dict[str, Any]:
    """One score over several labelled folders pooled together."""
    gold = [g for f in folders for g in load_jsonl(f / "gold.jsonl")]
    records = tag([p for f in folders for p in sorted(f.glob("*.txt"))])
    return score(gold, records)


def main() -> int:
    rows = {name: scores([folder]) for name, folder in SETS.items()}
    if "--markdown" in sys.argv:
        print("| set | files | " + " | ".join(COLUMNS) + " |")
        print("|---|---|" + "---|" * len(COLUMNS))
        for name, r in rows.items():
            print(f"| {name} | {r['files']} | " + " | ".join(f"{r[c]:.3f}" for c in COLUMNS) + " |")
    else:
        for name, r in rows.items():
            print(f"{name:8} files={r['files']:3} " + " ".join(f"{c}={r[c]:.3f}" for c in COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
