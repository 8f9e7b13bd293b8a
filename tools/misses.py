"""Misses grouped by cause: why a labelled transfer was not output, why an output was wrong.

    python -m tools.misses LABELS.jsonl RECORDS.jsonl [-v]

Causes are read off the labels and the records alone (no tagger internals), so the same
grouping serves both taggers:
    missed   reversed     the tuple came out with supplier and recipient swapped
             class        the pair came out with another system class
             kind         the pair came out as production where a transfer was meant, or back
             no supplier  the supplier was never recognised as an actor in the file
             no recipient the recipient was never recognised
             not paired   both parties were recognised; no tuple paired them
    spurious reversed, class, kind   as above, from the output's side
             not relevant the file reports no transfer at all
             third party  a party the labels give no tuple to (a reporter, accuser, target)
             wrong pair   both parties are in the labels, never paired this way
`quality.py --misses` prints the counts for every dev set (never for blind sets: reading their
misses would make them dev sets).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

from tools.score import key, load_jsonl, pooled_predictions

Key = tuple[str, str, Any, str]


def _files(records: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """Per file stem: the actor codes its records recognised (entities' `norm`)."""
    out: dict[str, set[str]] = {}
    for rec in records:
        src = rec.get("source") or {}
        stem = (src.get("path") or src.get("url") or "").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        norms = {str(e["norm"]) for e in rec.get("entities", []) if e.get("norm")}
        norms |= {str(t[s]) for t in rec.get("transfers", []) for s in ("supplier", "recipient")}
        out.setdefault(stem, set()).update(norms)
    return out


def _near(k: Key, others: set[Key]) -> str | None:
    """How `k` nearly matches one of `others`: reversed, another class, another kind."""
    s, r, cls, kind = k
    if (r, s, cls, kind) in others:
        return "reversed"
    if any(o[:2] == (s, r) and o[3] == kind for o in others):
        return "class"
    if any(o[:3] == (s, r, cls) for o in others):
        return "kind"
    return None


def missed_cause(k: Key, predicted: set[Key], actors: set[str]) -> str:
    near = _near(k, predicted)
    if near:
        return near
    if k[0] not in actors:
        return "no supplier"
    if k[1] not in actors:
        return "no recipient"
    return "not paired"


def spurious_cause(k: Key, gold: set[Key]) -> str:
    near = _near(k, gold)
    if near:
        return near
    if not gold:
        return "not relevant"
    parties = {p for g in gold for p in g[:2]}
    if k[0] not in parties or k[1] not in parties:
        return "third party"
    return "wrong pair"


def causes(
    gold: list[dict[str, Any]], records: list[dict[str, Any]]
) -> tuple[Counter[str], Counter[str], list[str]]:
    """Counts of missed and spurious transfers by cause, and one line per case."""
    pred = pooled_predictions(records)
    actors = _files(records)
    missed: Counter[str] = Counter()
    spurious: Counter[str] = Counter()
    lines = []
    for g in gold:
        required = {key(t) for t in g["transfers"] if not t.get("optional")}
        optional = {key(t) for t in g["transfers"] if t.get("optional")}
        predicted = set(pred.get(g["id"], {}).get("transfers", {})) - optional
        for k in sorted(required - predicted, key=str):
            cause = missed_cause(k, predicted, actors.get(g["id"], set()))
            missed[cause] += 1
            lines.append(f"{g['id']}: missed {cause}: {k}")
        for k in sorted(predicted - required, key=str):
            cause = spurious_cause(k, required)
            spurious[cause] += 1
            lines.append(f"{g['id']}: spurious {cause}: {k}")
    return missed, spurious, lines


def summary(missed: Counter[str], spurious: Counter[str]) -> str:
    def one(c: Counter[str]) -> str:
        return ", ".join(f"{n} {cause}" for cause, n in c.most_common()) or "none"

    return f"missed {sum(missed.values())}: {one(missed)}\n" + (
        f"spurious {sum(spurious.values())}: {one(spurious)}"
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    missed, spurious, lines = causes(load_jsonl(argv[0]), load_jsonl(argv[1]))
    if "-v" in argv:
        print("\n".join(lines))
    print(summary(missed, spurious))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
