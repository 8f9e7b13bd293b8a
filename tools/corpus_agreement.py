"""Agreement between two independent labellings: `python -m tools.corpus_agreement A B`.

A and B are label files (corpus/BRIEF.md format) of the same texts by different people.
B's labels are turned into records and scored against A with tools/score.py, so the
figures read like the tagger's: transfer F1 between two people is the ceiling a tagger
can be held to on such text. Only files labelled in both count.
"""

from __future__ import annotations

import sys
from typing import Any

from tools.score import load_jsonl, score


def as_records(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "source": {"path": f"{label['id']}.txt"},
            "relevant": label["relevant"],
            "topics": label["topics"],
            "transfers": [t for t in label["transfers"] if not t.get("optional")],
        }
        for label in labels
    ]


def agreement(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    both = {x["id"] for x in a} & {x["id"] for x in b}
    return score([x for x in a if x["id"] in both], as_records([x for x in b if x["id"] in both]))


def main(a: str, b: str) -> int:
    result = agreement(load_jsonl(a), load_jsonl(b))
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in result.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
