"""Boosted trees over string features, read from weights.json (no LightGBM at run time).

tools/train.py fits LightGBM on 0/1 features (a feature present is 1) and stores each tree
as nested lists, a node being `[feature, threshold, zero_goes_left, left, right]` and a
leaf a number. At load the trees become flat arrays, and a batch of feature sets walks all
trees at once with numpy (a story has tens to hundreds of occurrences; a Python walk of
hundreds of trees per occurrence would cost more than the parse). The raw score is the sum
of the leaves, as LightGBM's `raw_score`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Node = Any  # float (leaf) or [feature, threshold, zero_goes_left, left, right]
LEAF = -1


@dataclass(frozen=True)
class Trees:
    """A sum of regression trees over string features, as flat arrays."""

    vocabulary: dict[str, int]  # feature -> column
    feature: np.ndarray  # per node: column, or LEAF
    present_left: np.ndarray  # per node: a present feature (1.0) goes left
    zero_left: np.ndarray  # per node: an absent feature (0.0) goes left
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray  # per leaf: its value (0 elsewhere)
    roots: np.ndarray

    def scores(self, batch: Sequence[Iterable[str]]) -> np.ndarray:
        """Raw scores of many feature sets."""
        x = np.zeros((len(batch), len(self.vocabulary) + 1), dtype=bool)  # last column: never
        for row, feats in enumerate(batch):
            x[row, [self.vocabulary[f] for f in feats if f in self.vocabulary]] = True
        rows = np.arange(len(batch))[:, None]
        node = np.broadcast_to(self.roots, (len(batch), len(self.roots))).copy()
        while True:
            column = self.feature[node]
            inner = column != LEAF
            if not inner.any():
                break
            present = x[rows, np.where(inner, column, -1)]
            go_left = np.where(present, self.present_left[node], self.zero_left[node])
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return self.value[node].sum(axis=1)  # type: ignore[no-any-return]

    def score(self, feats: Iterable[str]) -> float:
        return float(self.scores([feats])[0])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trees:
        return _flatten(data["trees"])


def _flatten(trees: list[Node]) -> Trees:
    vocabulary: dict[str, int] = {}
    cols: list[list[Any]] = [[] for _ in range(6)]  # feature, present_left, zero_left, l, r, value

    def add(node: Node) -> int:
        at = len(cols[0])
        for c in cols:
            c.append(0)
        if not isinstance(node, list):
            cols[0][at], cols[5][at] = LEAF, float(node)
            return at
        name, threshold, zero_left, left, right = node
        cols[0][at] = vocabulary.setdefault(name, len(vocabulary))
        cols[1][at], cols[2][at] = threshold >= 1.0, bool(zero_left)
        cols[3][at] = add(left)
        cols[4][at] = add(right)
        return at

    roots = [add(t) for t in trees]
    return Trees(
        vocabulary=vocabulary,
        feature=np.array(cols[0], dtype=np.int64),
        present_left=np.array(cols[1], dtype=bool),
        zero_left=np.array(cols[2], dtype=bool),
        left=np.array(cols[3], dtype=np.int64),
        right=np.array(cols[4], dtype=np.int64),
        value=np.array(cols[5], dtype=np.float64),
        roots=np.array(roots, dtype=np.int64),
    )


def from_lightgbm(dump: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """LightGBM's `dump_model()` as this module's JSON (feature indices become names)."""

    def node(n: dict[str, Any]) -> Node:
        if "leaf_value" in n:
            return round(float(n["leaf_value"]), 6)
        if n["decision_type"] != "<=":
            raise ValueError(f"unsupported split {n['decision_type']!r}")
        threshold = float(n["threshold"])
        zero_left = bool(n["default_left"]) if n.get("missing_type") == "Zero" else threshold >= 0.0
        return [names[n["split_feature"]], threshold, zero_left,
                node(n["left_child"]), node(n["right_child"])]  # fmt: skip

    return {"kind": "trees", "trees": [node(t["tree_structure"]) for t in dump["tree_info"]]}
