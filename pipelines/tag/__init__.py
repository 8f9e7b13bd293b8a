"""Tag stage: spaCy entities, weapons, topics, relevance and transfers for each story.

list[Story(text: clean)]
  -> prefilter   no weapon word at all: not relevant, spaCy never runs (most news)
  -> nlp.pipe    tagger, parser, NER in batches bounded in stories and in characters, since
                 the parser's memory grows with the text it holds (the model loaded once per
                 process); a story longer than `max_chars` is tagged on its first part
  -> DocIndex    actors and weapons from the gazetteers, aligned to tokens
  -> transfers   the rules propose; the trained model (learned/) decides, when one is
                 trained and the tagger was not asked for the rules alone
  -> fields      entities, weapons, transfers, topics, relevance
list[Story(tagged)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from ..record import Entity, PipelineInfo, Story, Weapon
from .actors import DocIndex
from .gazetteer import Gazetteer, load_gazetteer
from .learned import TransferModel, load_model
from .nlp import describe, load_nlp
from .rules import Extractor
from .topics import RELEVANCE_THRESHOLD, relevance, topics
from .triggers import Triggers, load_triggers

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["Tagger", "load_tagger"]

# NER labels worth keeping in the record: the parties, places, people and groups.
_ENTITY_LABELS = frozenset({"GPE", "NORP", "ORG", "PERSON", "LOC", "FAC", "PRODUCT"})
_KIND_LABEL = {
    "state": "GPE",
    "group": "ORG",
    "company": "ORG",
    "organ": "ORG",
    "organization": "ORG",
    "place": "LOC",
}


@cache
def package_version() -> str:
    try:
        return version("armswatch")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


@dataclass(frozen=True)
class Tagger:
    nlp: Language
    gazetteer: Gazetteer
    triggers: Triggers
    batch_size: int = 16
    batch_chars: int = 50_000
    max_chars: int = 50_000
    # None: the rules' transfers are the output (no model trained, or rules asked for).
    model: TransferModel | None = None

    @cached_property  # reading the package metadata and the model's meta takes ~3 ms
    def info(self) -> PipelineInfo:
        return PipelineInfo(version=package_version(), model=describe(self.nlp))

    def needs_nlp(self, story: Story) -> bool:
        """The prefilter: only texts that name a weapon or weapon class, and that the
        trained relevance gate (when there is one) lets through, go to spaCy."""
        if not self.gazetteer.mentions_weapons(story.text):
            return False
        gate = self.model.gate if self.model is not None else None
        return gate is None or gate.passes(story.text)

    def tag_many(
        self, stories: Sequence[Story], *, needs: Sequence[bool] | None = None
    ) -> list[Story]:
        """Story(text) -> Story(tagged), running spaCy only where the prefilter says so.

        `needs`: the prefilter's answers when the caller has them already (one per story).
        """
        info = self.info
        out = [
            s.model_copy(update={"pipeline": info, "relevant": False, "relevance": 0.0})
            for s in stories
        ]
        if needs is None:
            needs = [self.needs_nlp(s) for s in stories]
        pairs = enumerate(zip(stories, needs, strict=True))
        texts = {i: self.nlp_text(s.text) for i, (s, need) in pairs if need}
        for batch in self._batches(texts):
            docs = self.nlp.pipe((texts[i] for i in batch), batch_size=len(batch))
            for i, doc in zip(batch, docs, strict=True):
                out[i] = self._fields(out[i], doc)
        return out

    def nlp_text(self, text: str) -> str:
        """The text spaCy sees: all of it, or for a very long story its first paragraphs."""
        if len(text) <= self.max_chars:
            return text
        cut = text.rfind("\n\n", 0, self.max_chars)
        return text[: cut if cut > 0 else self.max_chars]

    def _batches(self, texts: dict[int, str]) -> list[list[int]]:
        """Story indexes in batches of at most `batch_size` stories and `batch_chars` chars."""
        batches: list[list[int]] = [[]]
        chars = 0
        for i, text in texts.items():
            if batches[-1] and (
                len(batches[-1]) >= self.batch_size or chars + len(text) > self.batch_chars
            ):
                batches.append([])
                chars = 0
            batches[-1].append(i)
            chars += len(text)
        return [b for b in batches if b]

    def tag(self, story: Story) -> Story:
        return self.tag_many([story])[0]

    def _fields(self, story: Story, doc: Doc) -> Story:
        index = DocIndex.build(doc, self.gazetteer)
        transfers = Extractor(index, self.triggers).run()
        if self.model is not None:
            transfers = self.model.decide(index, transfers, self.triggers)
        found = topics(index, transfers, self.triggers)
        score = relevance(found)
        return story.model_copy(
            update={
                "entities": _entities(doc, index),
                "weapons": _weapons(index),
                "transfers": tuple(transfers),
                "topics": found,
                "relevance": score,
                "relevant": score >= RELEVANCE_THRESHOLD,
            }
        )


def _entities(doc: Doc, index: DocIndex) -> tuple[Entity, ...]:
    out: dict[tuple[int, int], Entity] = {}
    for ent in index.ents:
        if ent.label_ not in _ENTITY_LABELS:
            continue
        mention = next((index.actor_at(t.i) for t in ent if index.actor_at(t.i)), None)
        norm = (
            mention.code
            if mention
            else index.persons.get(ent.text)
            if ent.label_ == "PERSON"
            else None
        )
        out[(ent.start_char, ent.end_char)] = Entity(
            text=ent.text, label=ent.label_, norm=norm, start=ent.start_char, end=ent.end_char
        )
    covered = {t for (s, e) in out for t in range(s, e)}
    for m in index.actors:
        span = doc[m.start : m.end]
        if span.start_char in covered or not m.code:
            continue
        label = "NORP" if m.form == "demonym" else _KIND_LABEL[m.kind]
        out[(span.start_char, span.end_char)] = Entity(
            text=span.text, label=label, norm=m.code, start=span.start_char, end=span.end_char
        )
    return tuple(out[k] for k in sorted(out))


def _weapons(index: DocIndex) -> tuple[Weapon, ...]:
    counts = Counter(w.info.name for w in index.weapons if w.info.name)
    classes = {w.info.name: w.info.system_class for w in index.weapons if w.info.name}
    return tuple(
        Weapon(name=name, system_class=classes[name], mentions=n)
        for name, n in counts.most_common()
    )


@cache
def load_tagger(
    model: str | None = None,
    *,
    batch_size: int = 16,
    batch_chars: int = 50_000,
    max_chars: int = 50_000,
    rules_only: bool = False,
) -> Tagger:
    """The tagger with its model and lexicons, built once per process."""
    return Tagger(
        load_nlp(model), load_gazetteer(), load_triggers(), batch_size, batch_chars, max_chars,
        None if rules_only else load_model(),
    )  # fmt: skip
