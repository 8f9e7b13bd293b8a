"""The record mirrors the contract: JSON field names, frozen, raw never serialised."""

from __future__ import annotations

import json

import pydantic
import pytest

from pipelines.dedup import story_id
from pipelines.record import Source, Story, Transfer, Weapon, from_payload, to_payload
from tests.contract import check_record


def test_json_uses_contract_names_and_omits_raw() -> None:
    story = Story(
        id=story_id(url=None, text="x"),
        source=Source(kind="file", path="a.txt"),
        title="T",
        text="Iran drones",
        raw="<html>",
        weapons=(Weapon(name="Shahed-136", system_class="drone", mentions=2),),
    )
    data = json.loads(story.to_json())
    assert data["weapons"] == [{"name": "Shahed-136", "class": "drone", "mentions": 2}]
    assert "raw" not in data and "raw_format" not in data
    assert Story.from_json(story.to_json()) == story.model_copy(update={"raw": None})


def test_payload_round_trip_keeps_raw() -> None:
    story = Story(source=Source(kind="file", path="a.html"), raw="<p>x</p>", raw_format="html")
    again = from_payload(json.loads(json.dumps(to_payload(story))))
    assert again.raw == "<p>x</p>" and again.raw_format == "html"


def test_records_are_frozen_and_validated() -> None:
    story = Story(source=Source(kind="file"))
    with pytest.raises(pydantic.ValidationError):
        story.text = "changed"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        Transfer(
            supplier="IR",
            recipient="RU",
            system_class="tank",
            status="delivered",  # type: ignore[arg-type]
            confidence=0.5,
        )


def test_ids_are_stable_and_distinct() -> None:
    assert story_id(url=None, text="Iran ships  drones.") == story_id(
        url=None, text="iran ships drones"
    )
    assert story_id(url="https://a/x", text="one") == story_id(url="https://a/x", text="two")
    assert story_id(url="https://a/x", text="t", story_index=1) != story_id(
        url="https://a/x", text="t"
    )


def test_the_contract_checker_catches_bad_records() -> None:
    good = {
        "schema_version": 1,
        "id": "0123456789",
        "story_index": 0,
        "title": "t",
        "source": {"kind": "file", "path": "a", "url": None, "feed": None},
        "published": None,
        "language": "en",
        "text": "Iran",
        "relevant": False,
        "relevance": 0.0,
        "topics": [],
        "entities": [],
        "weapons": [],
        "transfers": [],
        "pipeline": {"version": "1", "model": "m"},
    }
    assert check_record(good) == []
    bad = {
        **good,
        "entities": [{"text": "Iran", "label": "GPE", "norm": "Iran", "start": 1, "end": 3}],
    }
    assert len(check_record(bad)) == 2
