"""The benchmark's code runs (on a tiny corpus); its timings are never asserted."""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench import run
from bench.corpus import generated, mixed
from pipelines.clean import clean, default_rules
from pipelines.extract import extract
from pipelines.tag import Tagger


def test_generated_news_never_reaches_spacy(tagger: Tagger) -> None:
    items = list(generated(60, random.Random(7)))
    assert {i.raw_format for i in items} == {"text", "html"}
    stories = [s for i in items for s in clean(extract(i.story()), rules=default_rules())]
    assert len(stories) == len(items)  # one story per input
    assert not any(tagger.needs_nlp(s) for s in stories)


def test_the_mixed_corpus_is_deterministic_and_mostly_irrelevant() -> None:
    first, again = mixed(400), mixed(400)
    assert [i.url for i in first] == [i.url for i in again]
    assert [i.raw for i in first] == [i.raw for i in again]
    share = sum(1 for i in first if i.label) / len(first)
    assert 0.03 < share < 0.07


def test_the_bench_runs_on_a_tiny_corpus_and_writes_json(
    redis_url: str, tmp_path: Path, capsys
) -> None:
    argv = ["--relevant-inputs", "2", "--stories", "20", "--processes", "2"]
    assert run.main([*argv, "--out", str(tmp_path), "--redis-url", redis_url]) == 0
    written = sorted(tmp_path.glob("bench-*.json"))
    assert len(written) == 1 and (tmp_path / "latest.json").exists()
    results = json.loads(written[0].read_text())
    assert set(results) >= {"corpora", "targets", "machine", "settings", "total_seconds"}
    assert set(results["corpora"]) == {"all-relevant", "mixed"}
    every, few = results["corpora"]["all-relevant"], results["corpora"]["mixed"]
    for corpus in (every, few):
        assert set(corpus["stages"]) == {*run.STAGES, "other"}
        assert corpus["published"] == corpus["stories"] and corpus["rejected_inputs"] == 0
        assert corpus["reference_texts_match"] is True
        assert corpus["reference"]["pipeline"] == [
            "tok2vec",
            "tagger",
            "parser",
            "attribute_ruler",
            "lemmatizer",
            "ner",
        ]
        assert {"stories_per_second", "peak_rss_mb_per_process", "x_reference"} <= set(corpus)
        assert corpus["relevance_recall_labelled"]["copies_agree"] is True
    assert every["stories_reaching_nlp"] == every["stories"]
    assert 18 <= few["stories"] <= 22 and 1 <= few["stories_reaching_nlp"] <= 3
    assert len(results["targets"]) == 5 and all("met" in t for t in results["targets"])
    assert results["ledger"]["stories"] == every["stories"]
    assert results["ledger"]["entries"] > 0 and results["ledger"]["ms_per_story"] > 0
    assert "all-relevant" in capsys.readouterr().out
