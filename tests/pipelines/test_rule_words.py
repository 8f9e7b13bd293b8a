"""The extractor's word sets (lexicon/rules.yaml): loaded whole, checked at load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.errors import ConfigError
from pipelines.tag.rules.words import Words, load_words

LEXICON = Path(__file__).parents[2] / "pipelines/tag/lexicon/rules.yaml"


def _data() -> dict[str, Any]:
    return yaml.safe_load(LEXICON.read_text("utf-8"))


def test_the_shipped_sets_load() -> None:
    words = load_words()
    assert "say" in words.reporting
    assert "on" in words.location_preps  # quoted in the file: YAML reads a bare on as True


def test_a_missing_set_is_named_with_the_file() -> None:
    data = _data()
    del data["destination"]
    with pytest.raises(ConfigError, match=r"missing word sets \['destination'\]") as err:
        Words.from_mapping(data, "rules.yaml")
    assert err.value.input == "rules.yaml"


def test_a_misspelt_set_is_named() -> None:
    data = _data()
    data["destinaton"] = data.pop("destination")
    with pytest.raises(ConfigError, match=r"\['destination'\], unknown \['destinaton'\]"):
        Words.from_mapping(data, "rules.yaml")


@pytest.mark.parametrize("bad", ["[in, on, at]", "[]", "in", "[in, '']"])
def test_a_set_that_is_not_a_list_of_words_is_refused(bad: str) -> None:
    data = _data()
    data["location_preps"] = yaml.safe_load(bad)
    with pytest.raises(ConfigError, match="'location_preps' must be a non-empty list"):
        Words.from_mapping(data, "rules.yaml")
