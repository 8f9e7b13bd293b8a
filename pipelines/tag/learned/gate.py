"""The relevance gate: does a story need the parser at all?

A linear model over the story's words and word pairs, trained by tools/train.py on the same
corpus to tell stories that report any transfer (or are relevant) from the rest. Stories
it scores below its threshold (chosen for a recall of 0.99 on held-out folds) skip spaCy:
most weapon-heavy news without a transfer (strikes, tests, parades, budgets, earnings)
then costs a tokenisation and a dictionary lookup per word, not a parse.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Linear, sigmoid

_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def words(text: str) -> set[str]:
    """Lower-case words and adjacent word pairs (`w:` and `b:` features)."""
    tokens = _WORD.findall(text.lower())
    return {f"w:{t}" for t in tokens} | {f"b:{a}_{b}" for a, b in itertools.pairwise(tokens)}


@dataclass(frozen=True)
class Gate:
    model: Linear
    threshold: float

    def probability(self, feats: Iterable[str]) -> float:
        return sigmoid(self.model.score(feats))

    def passes(self, text: str) -> bool:
        return self.probability(words(text)) >= self.threshold
