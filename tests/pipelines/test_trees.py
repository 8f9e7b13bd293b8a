"""pipelines/tag/learned/trees.py: LightGBM's trees walked without LightGBM."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from pipelines.tag.learned.trees import Trees, from_lightgbm


def test_a_hand_written_tree_follows_present_and_absent_features() -> None:
    # "a" present -> right (1.0 > 0.5); absent -> left; then "b" decides on the left.
    tree = ["a", 0.5, True, ["b", 0.5, True, -1.0, 2.0], 3.0]
    trees = Trees.from_json({"kind": "trees", "trees": [tree, 0.25]})
    assert trees.score(set()) == pytest.approx(-0.75)
    assert trees.score({"b"}) == pytest.approx(2.25)
    assert trees.score({"a", "b"}) == pytest.approx(3.25)
    assert list(trees.scores([{"a"}, {"zzz"}])) == pytest.approx([3.25, -0.75])


def test_scores_equal_lightgbms_own_on_sparse_binary_features() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(7)
    dense = rng.random((3000, 40)) < 0.15
    # A label with interactions, so the trees split deep on several features.
    y = (dense[:, 0] & dense[:, 1]) | (dense[:, 2] & ~dense[:, 3]) | (rng.random(3000) < 0.05)
    x = csr_matrix(dense.astype(np.float32))
    model = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=15, min_child_samples=5,
                                    random_state=1, verbose=-1).fit(x, y)  # fmt: skip
    names = [f"f{i}" for i in range(40)]
    trees = Trees.from_json(from_lightgbm(model.booster_.dump_model(), names))
    sets = [{names[j] for j in np.flatnonzero(row)} for row in dense[:200]]
    expected = model.predict(x[:200], raw_score=True)
    assert trees.scores(sets) == pytest.approx(expected, abs=1e-4)
