"""Articles for the loopback news site: plain irrelevant news (the tagger's prefilter skips
spaCy for them) and the labelled texts of tests/data and seeds/ (relevant ones)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from newssite import Article

_SUBJECTS = [
    "The city council",
    "A local bakery",
    "The regional orchestra",
    "Farmers in the valley",
    "The football club",
    "A primary school",
    "The harbour authority",
    "Museum curators",
    "The weather service",
    "A cycling team",
    "The public library",
    "Wine growers",
]
_VERBS = [
    "announced",
    "celebrated",
    "postponed",
    "reviewed",
    "opened",
    "discussed",
    "welcomed",
    "planned",
    "completed",
    "praised",
    "questioned",
    "renovated",
]
_OBJECTS = [
    "a new community garden",
    "the autumn harvest fair",
    "plans for a wider footpath",
    "the restoration of the old mill",
    "a season of open-air concerts",
    "longer opening hours",
    "a charity run along the river",
    "the repair of the town clock",
    "a winter food market",
    "a programme of evening classes",
    "the reopening of the swimming pool",
    "a photo contest",
]
_DETAILS = [
    "Residents said they were pleased with the outcome.",
    "Organisers expect several thousand visitors over the weekend.",
    "The work is scheduled to finish before the end of the year.",
    "Volunteers have been preparing the site for several months.",
    "Tickets will be available at the town hall from Monday.",
    "A spokesperson thanked local businesses for their support.",
    "The budget was approved unanimously at the last meeting.",
    "Local newspapers have followed the story since the spring.",
]


_SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "an", "bri", "dun", "es", "gar"]


def name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)]
    extra = f" on {rng.choice(['Monday', 'Tuesday', 'Friday', 'Sunday'])} {rng.randint(1, 28)}"
    # Made-up place names keep stories apart, as real names and facts do in real news.
    places = ", ".join(name(rng) for _ in range(4))
    return " ".join(words) + extra + f" in {places}. " + rng.choice(_DETAILS)


def filler_article(n: int, *, seed: int = 0, slug: str | None = None) -> Article:
    """A short irrelevant news story, different from every other one."""
    rng = random.Random(seed * 100_003 + n)
    paragraphs = ["\n".join([" ".join(sentence(rng) for _ in range(3))]) for _ in range(4)]
    title = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} ({n})"
    return Article(slug=slug or f"local-{seed}-{n}", title=title, text="\n\n".join(paragraphs))


def filler(count: int, *, seed: int = 0) -> Iterator[Article]:
    for n in range(count):
        yield filler_article(n, seed=seed)
