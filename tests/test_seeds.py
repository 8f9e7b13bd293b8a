"""Golden tests over the replay corpus: seeds/*.txt against seeds/gold.jsonl."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from pipelines.clean import default_rules
from pipelines.pipeline import process
from pipelines.record import Source, Story
from pipelines.tag import Tagger
from tests.conftest import ROOT, SEEDS
from tests.contract import check_record

SEED_FILES = sorted(SEEDS.glob("*.txt"))


def _tag(path: Path, tagger: Tagger) -> list[dict]:
    raw = Story(source=Source(kind="file", path=str(path)), raw=path.read_text("utf-8"))
    (result,) = process([raw], tagger=tagger, rules=default_rules())
    assert result.error is None, result.error
    return [json.loads(s.to_json()) for s in result.stories]


@pytest.mark.parametrize("path", SEED_FILES, ids=[p.name for p in SEED_FILES])
def test_seed_matches_its_labels(path: Path, tagger: Tagger, gold: dict[str, dict]) -> None:
    label = gold[path.stem]
    records = _tag(path, tagger)
    assert len(records) == label["stories"]
    for record in records:
        assert check_record(record) == [], record["id"]
    assert any(r["relevant"] for r in records) == label["relevant"]
    found = {
        (t["supplier"], t["recipient"], t["system_class"]) for r in records for t in r["transfers"]
    }
    core = {
        (t["supplier"], t["recipient"], t["system_class"])
        for t in label["transfers"]
        if not t.get("optional") and t["system_class"] in ("drone", "missile")
    }
    # At most one core transfer of a file may be missed; the corpus-wide score is below.
    assert len(core - found) <= 1, sorted(core - found)
    weapons = {w["name"] for r in records for w in r["weapons"]}
    assert set(label["weapons"]) <= weapons


def test_scorer_is_the_shared_one() -> None:
    shared = ROOT.parent / "shared" / "tools" / "score.py"
    if not shared.exists():
        pytest.skip("no ../shared next to this checkout")
    assert filecmp.cmp(shared, ROOT / "tools" / "score.py", shallow=False)


def test_contract_copy_is_the_shared_one() -> None:
    shared = ROOT.parent / "shared" / "spec" / "CONTRACT.md"
    if not shared.exists():
        pytest.skip("no ../shared next to this checkout")
    assert filecmp.cmp(shared, ROOT / "docs" / "CONTRACT.md", shallow=False)
