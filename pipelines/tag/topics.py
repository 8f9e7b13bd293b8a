"""Topics and relevance from the transfers found and from sentence-level evidence.

Scores combine independent pieces of evidence as 1 - prod(1 - p): one clear transfer
sentence gives about 0.8, two give 0.96. `relevant` is true when a transfer or production
topic reaches 0.5 (sanctions alone never make a story relevant, per the contract).
"""

from __future__ import annotations

from collections import defaultdict

from ..record import RELEVANT_TOPICS, Topic, TopicLabel, Transfer
from .actors import DocIndex
from .triggers import Triggers

RELEVANCE_THRESHOLD = 0.5
_CORE: dict[str, TopicLabel] = {"drone": "drone_transfer", "missile": "missile_transfer"}
# Evidence from a sentence with a weapon and a production word but no transfer: a story
# needs three such sentences before production is its topic (a strike report that mentions
# "production of interceptor drones" in passing is not about production).
_SENTENCE_EVIDENCE = 0.25


def _combine(values: list[float]) -> float:
    miss = 1.0
    for v in values:
        miss *= 1.0 - v
    return round(1.0 - miss, 3)


def topics(index: DocIndex, transfers: list[Transfer], triggers: Triggers) -> tuple[Topic, ...]:
    evidence: dict[TopicLabel, list[float]] = defaultdict(list)
    for t in transfers:
        if t.system_class in _CORE:
            label: TopicLabel = (
                "weapons_production" if t.status == "production" else _CORE[t.system_class]
            )
            evidence[label].append(t.confidence)
    for sent in index.sentences:
        classes = {w.info.system_class for w in index.weapons if sent.start <= w.start < sent.end}
        if not classes & {"drone", "missile"}:
            continue
        lowered = sent.text.lower()
        if any(_has_word(lowered, w) for w in triggers.sanctions):
            evidence["sanctions"].append(0.6)
        lemmas = {t.lemma_.lower() for t in sent}
        if lemmas & triggers.nouns.get("produce", frozenset()) or any(
            p in lowered for p in triggers.production_compounds
        ):
            evidence["weapons_production"].append(_SENTENCE_EVIDENCE)
    return tuple(
        sorted(
            (
                Topic(label=label, score=_combine(values))
                for label, values in evidence.items()
                if _combine(values) >= RELEVANCE_THRESHOLD
            ),
            key=lambda t: -t.score,
        )
    )


def relevance(found: tuple[Topic, ...]) -> float:
    return max((t.score for t in found if t.label in RELEVANT_TOPICS), default=0.0)


def _has_word(text: str, word: str) -> bool:
    start = text.find(word)
    while start != -1:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(word, start + 1)
    return False
