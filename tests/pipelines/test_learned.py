"""The learned transfer decision (pipelines/tag/learned) with the real spaCy model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.record import Source, Story, Transfer
from pipelines.tag import Tagger, load_tagger
from pipelines.tag.actors import DocIndex
from pipelines.tag.learned import TransferModel, features, load_model, propose
from pipelines.tag.learned.model import WEIGHTS
from pipelines.tag.rules import Extractor
from tests.conftest import SEEDS


def index_of(tagger: Tagger, text: str) -> DocIndex:
    return DocIndex.build(tagger.nlp(text), tagger.gazetteer)


def test_candidates_pair_the_parties_around_a_weapon_in_both_directions(tagger: Tagger) -> None:
    index = index_of(tagger, "Iran supplied Shahed-136 drones to Russia last year.")
    rules = Extractor(index, tagger.triggers).run()
    found = {c.key: c for c in propose(index, rules, tagger.triggers)}
    assert ("IR", "RU", "drone", "transfer") in found
    assert ("RU", "IR", "drone", "transfer") in found  # the model, not the proposal, decides
    assert found[("IR", "RU", "drone", "transfer")].rule is not None
    assert found[("IR", "RU", "drone", "transfer")].systems == ["Shahed-136"]


def test_a_party_two_sentences_away_and_the_story_focus_are_proposed(tagger: Tagger) -> None:
    text = ("Ethiopia has been buying weapons abroad. Ethiopia's air force flew new aircraft. "
            "Officials said the drones came from Turkey, and Ethiopia wanted more.")  # fmt: skip
    index = index_of(tagger, text)
    keys = {c.key for c in propose(index, [], tagger.triggers)}
    assert ("TR", "ET", "drone", "transfer") in keys


def test_a_trade_sentence_without_a_known_weapon_proposes_class_other(tagger: Tagger) -> None:
    index = index_of(tagger, "China shipped radar components and engines to Iran in May.")
    keys = {c.key for c in propose(index, [], tagger.triggers)}
    assert ("CN", "IR", "other", "transfer") in keys


def test_features_carry_the_dependency_path_between_the_parties(tagger: Tagger) -> None:
    index = index_of(tagger, "Iran supplied Shahed-136 drones to Russia last year.")
    [c] = [c for c in propose(index, [], tagger.triggers) if c.key[:3] == ("IR", "RU", "drone")]
    feats = features(c, index, tagger.triggers)
    assert "path_lca:supply" in feats
    assert "s_role:subj" in feats and "r_prep:to" in feats
    assert "rule:none" in feats


def _model(bias: float, weights: dict[str, float]) -> TransferModel:
    flat = {"bias": 0.0, "weights": {}}
    return TransferModel.from_json({
        "version": "test",
        "transfer": {"bias": bias, "weights": weights},
        "platt": [1.0, 0.0],
        "threshold": 0.5,
        "status": {"delivered": {"bias": 1.0, "weights": {}}, "agreed": flat, "sought": flat},
        "denied": {"bias": -5.0, "weights": {}},
    })  # fmt: skip


def test_the_model_keeps_what_it_scores_above_its_threshold_in_one_direction(
    tagger: Tagger,
) -> None:
    index = index_of(tagger, "Iran supplied Shahed-136 drones to Russia last year.")
    # The subject of the supply verb supplies: only IR -> RU scores above the threshold.
    model = _model(-3.0, {"s_role:subj": 4.0, "r_prep:to": 2.0, "cand_class:other": -9.0})
    [t] = model.decide(index, [], tagger.triggers)
    assert (t.supplier, t.recipient, t.system_class, t.status) == ("IR", "RU", "drone", "delivered")
    assert t.confidence == pytest.approx(1 / (1 + 2.718281828**-3.0), abs=1e-3)
    assert not t.denied
    assert t.evidence and "Iran supplied" in t.evidence[0].sentence
    assert _model(-9.0, {}).decide(index, [], tagger.triggers) == []


def test_the_rules_status_is_kept_where_the_rules_found_the_same_tuple(tagger: Tagger) -> None:
    index = index_of(tagger, "Russia asked Iran for Shahed-136 drones last year.")
    model = _model(-3.0, {"s_role:subj": -4.0, "r_role:subj": 4.0, "cand_class:other": -9.0})
    # The status model says delivered (its bias); the rules read the request as sought.
    [alone] = model.decide(index, [], tagger.triggers)
    asked = Transfer(supplier="IR", recipient="RU", system_class="drone", status="sought",
                     confidence=0.8)  # fmt: skip
    [with_rules] = model.decide(index, [asked], tagger.triggers)
    assert (alone.supplier, alone.recipient, alone.status) == ("IR", "RU", "delivered")
    assert (with_rules.supplier, with_rules.recipient, with_rules.status) == ("IR", "RU", "sought")


def test_the_trained_weights_load_and_the_tagger_uses_them() -> None:
    data = json.loads(WEIGHTS.read_text())
    assert 0 < data["threshold"] < 1 and data["transfer"]["kind"] == "trees"
    assert len(data["transfer"]["trees"]) >= 100
    model = load_model()
    assert model is not None
    assert load_tagger().model is model
    assert load_tagger(rules_only=True).model is None


def test_the_model_finds_the_seed_corpus_iran_russia_drones() -> None:
    path = SEEDS / "000_261182a3d3c6a647.txt"
    story = Story(source=Source(kind="file", path=str(path)), text=path.read_text())
    [tagged] = load_tagger().tag_many([story])
    found = {(t.supplier, t.recipient, t.system_class): t for t in tagged.transfers}
    assert ("IR", "RU", "drone") in found
    assert 0.0 < found[("IR", "RU", "drone")].confidence <= 1.0


def test_no_weights_file_means_the_rules_decide(tmp_path: Path) -> None:
    assert load_model(tmp_path / "absent.json") is None
