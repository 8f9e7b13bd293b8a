"""Near-duplicate fingerprints: the same wire text stays close, different stories do not."""

from __future__ import annotations

import random

from pipelines.dedup import bands, hamming, shingles, simhash

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
