"""nlp.pipe batches bounded in stories and characters; long stories cut for spaCy only."""

from __future__ import annotations

import dataclasses

from pipelines.record import Source, Story
from pipelines.tag import Tagger
from tests.conftest import DATA


def _stories() -> list[Story]:
    paths = sorted((DATA / "dev").glob("*.txt"))[:3]
    texts = [p.read_text(encoding="utf-8") for p in paths]
    texts.append("The central bank raised interest rates again.")  # no weapon: no spaCy
    return [Story(source=Source(kind="file", path=f"s{i}"), text=t) for i, t in enumerate(texts)]


def test_batches_hold_at_most_the_stories_and_characters_allowed(tagger: Tagger) -> None:
    small = dataclasses.replace(tagger, batch_size=2, batch_chars=5000)
    texts = {0: "a" * 3000, 1: "b" * 1500, 2: "c" * 400, 3: "d" * 9000, 4: "e" * 10}
    assert small._batches(texts) == [[0, 1], [2], [3], [4]]  # 3 alone is over the limit
    assert small._batches({}) == []


def test_tagging_is_the_same_whatever_the_batches(tagger: Tagger) -> None:
    stories = _stories()
    one_by_one = dataclasses.replace(tagger, batch_size=1)
    by_chars = dataclasses.replace(tagger, batch_size=64, batch_chars=4000)
    expected = [s.to_json() for s in tagger.tag_many(stories)]
    assert [s.to_json() for s in one_by_one.tag_many(stories)] == expected
    assert [s.to_json() for s in by_chars.tag_many(stories)] == expected
    needs = [tagger.needs_nlp(s) for s in stories]
    assert needs == [True, True, True, False]
    assert [s.to_json() for s in tagger.tag_many(stories, needs=needs)] == expected


def test_a_long_story_is_tagged_on_its_first_paragraphs(tagger: Tagger) -> None:
    short = dataclasses.replace(tagger, max_chars=1000)
    head = "Iran delivered Shahed-136 drones to Russia, officials said."
    tail = "\n\n".join(["Russia fired the drones at Ukrainian power stations overnight."] * 40)
    text = f"{head}\n\n{tail}"
    cut = short.nlp_text(text)
    assert len(cut) <= 1000 and text.startswith(cut) and not cut.endswith("\n")
    (tagged,) = short.tag_many([Story(source=Source(kind="file"), text=text)])
    assert tagged.text == text  # the record keeps the whole text
    assert tagged.relevant and {(t.supplier, t.recipient) for t in tagged.transfers} == {
        ("IR", "RU")
    }
    assert max(e.end for e in tagged.entities) <= len(cut)
