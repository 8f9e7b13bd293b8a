"""tools/prune_patterns.py on seeds/ (real tagger): which patterns move a score."""

from __future__ import annotations

import pytest

from pipelines.tag.rules.patterns import registry
from tools.prune_patterns import labelled_sets, main, unused_patterns


def test_the_labelled_sets_are_found() -> None:
    sets = labelled_sets()
    assert {"seeds", "tests/data/dev", "corpus/dev"} <= sets.keys()
    assert not any("blind" in name for name in sets)


def test_each_pattern_is_judged_on_the_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    changes = unused_patterns(["seeds"])
    assert changes.keys() == registry().keys()
    # The seeds' transfers need their subjects and "interested in" (sought); they never
    # mention a Foreign Military Sale.
    assert changes["roles.subject"] == ["seeds"]
    assert changes["status.sought_above"] == ["seeds"]
    assert changes["roles.foreign_military_sale"] == []
    out = capsys.readouterr().out
    assert "roles.foreign_military_sale" in out and "changes no score" in out


def test_an_unknown_set_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--sets", "nowhere"])
    assert "unknown sets ['nowhere']" in capsys.readouterr().err
