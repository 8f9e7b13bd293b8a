"""Story identity (a body's hash) and near-duplicate fingerprints: the same wire text stays
close, different stories do not."""

from __future__ import annotations

import random

from pipelines.dedup import bands, body_text, hamming, identity, shingles, simhash
from pipelines.record import Source, Story

WORDS = [f"word{i}" for i in range(3000)]


def _text(rng: random.Random, n: int = 250) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def test_a_syndicated_copy_is_within_the_distance() -> None:
    rng = random.Random(1)
    wire = _text(rng)
    copy = f"Syndicated from the wire. {wire} Copyright 2025 Another Outlet. All rights reserved."
    assert hamming(simhash(wire), simhash(copy)) <= 6
    assert simhash(wire) == simhash(wire.upper().replace(" ", "  "))  # normalised text


def test_different_stories_are_far_apart() -> None:
    rng = random.Random(2)
    prints = [simhash(_text(rng, 150)) for _ in range(200)]
    assert min(hamming(a, b) for i, a in enumerate(prints) for b in prints[i + 1 :]) > 6


def test_fingerprints_within_seven_bits_share_a_band() -> None:
    rng = random.Random(3)
    for _ in range(200):
        a = rng.getrandbits(64)
        b = a
        for bit in rng.sample(range(64), 7):
            b ^= 1 << bit
        assert set(enumerate(bands(a))) & set(enumerate(bands(b)))


def test_shingles_of_short_texts() -> None:
    assert shingles("Two words") == ["two words"]
    assert shingles("") == []
    assert shingles("a b c d") == ["a b c", "b c d"]


def _story(text: str, title: str | None, url: str | None = None) -> Story:
    return Story(source=Source(kind="url" if url else "file", url=url), text=text, title=title)


def test_the_body_hash_ignores_a_leading_title_and_layout_but_no_word() -> None:
    body = "Iran sent 200 drones to Russia, officials said.\n\nMore were on the way."
    as_file = _story(f"Drones for Russia\n\n{body}", "Drones for Russia")
    as_page = _story(body.replace("\n\n", "\n").upper(), "Drones for Russia", "https://x/1")
    assert identity(as_file).body == identity(as_page).body
    assert identity(as_file).id != identity(as_page).id  # a file by its text, a page by URL
    for other in ("Iran sent 300 drones to Russia", "Iran sent 200 drones to Belarus"):
        changed = _story(body.replace("Iran sent 200 drones to Russia", other), None)
        assert identity(changed).body != identity(as_page).body


def test_a_story_that_is_only_its_title_keeps_its_words() -> None:
    assert body_text("Iran sent drones.", "Iran sent drones.") == "iran sent drones"
    assert (
        identity(_story("Iran sent drones.", "Iran sent drones.")).body
        != identity(_story("Iran sold drones.", "Iran sold drones.")).body
    )
