"""Counts of the labelled corpus: `python -m tools.corpus_stats` (folders under corpus/)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from tools.score import load_jsonl

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def main() -> int:
    for gold in sorted(CORPUS.glob("*/gold.jsonl")):
        labels = load_jsonl(gold)
        meta = [g.get("meta") or {} for g in labels]
        tuples = [t for g in labels for t in g["transfers"]]
        optional = sum(bool(t.get("optional")) for t in tuples)
        writers = Counter(g["id"].split("_")[0] for g in labels)
        kinds = Counter(m.get("irrelevant_kind") for m, g in zip(meta, labels, strict=True)
                        if not g["relevant"])  # fmt: skip
        print(f"{gold.parent.name}: {len(labels)} files, "
              f"{sum(g['relevant'] for g in labels)} relevant, "
              f"{sum(bool(m.get('long')) for m in meta)} long (1,500+ words), "
              f"{sum(bool(m.get('translated_from')) for m in meta)} translated, "
              f"{sum(g.get('stories', 1) > 1 for g in labels)} with two stories; "
              f"{len(tuples)} transfers ({optional} optional)")  # fmt: skip
        for name, counts in (
            ("writers", writers),
            ("registers", Counter(m.get("register", "?") for m in meta)),
            ("not relevant", kinds),
            ("classes", Counter(t["system_class"] for t in tuples)),
            ("statuses", Counter(t["status"] for t in tuples)),
        ):  # fmt: skip
            top = ", ".join(f"{k} {n}" for k, n in counts.most_common(12))
            print(f"  {name}: {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
