"""Tag quality thresholds (issue 3) on the labelled seeds and dev sets, via the real CLI."""

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


def test_dev2_hard_phrasing_keeps_its_floor() -> None:
    # dev2 is written to be hard (parties across sentences, lists, nominalisations); the
    # floor guards against regressions, a little under the score of 2026-12-06 (0.727).
    dev2 = scores([SETS["dev2"]])
    assert dev2["relevance_f1"] >= 0.95, dev2
    assert dev2["transfer_f1"] >= 0.7, dev2
