"""Tag quality thresholds (issue 3) on the labelled seeds and dev set, via the real CLI."""

from __future__ import annotations

from tools.quality import SETS, scores


def test_seeds_and_dev_meet_the_thresholds() -> None:
    both = scores([SETS["seeds"], SETS["dev"]])
    assert both["files_without_output"] == 0
    assert both["relevance_f1"] >= 0.95, both
    assert both["transfer_f1"] >= 0.85, both
    assert both["status_acc"] >= 0.8, both
    assert both["denied_acc"] >= 0.85, both


def test_seeds_meet_their_thresholds() -> None:
    seeds = scores([SETS["seeds"]])
    assert seeds["relevance_f1"] == 1.0, seeds
    assert seeds["transfer_f1"] >= 0.9, seeds
