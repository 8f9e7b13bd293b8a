"""Candidate transfers: every (party, party, weapon class, kind) a story could assert.

    DocIndex + the rules' transfers
      anchors     sentences that name a weapon of a class
      parties     actors named in the anchor and its neighbours, plus the story's focus
                  (the party named most often: "the country", "the junta", "they")
      pairs       each ordered pair of distinct parties, per anchor: one Occurrence
      candidates  grouped by key (supplier, recipient, class, kind), with the rules'
                  transfer of that key when the rules found one
    list[Candidate]   what the model (model.py) decides on, through features.py

Recall matters more than precision here: what is not proposed cannot be found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ...record import Transfer
from ..actors import ActorMention, DocIndex
from ..triggers import Triggers

WINDOW = 1  # sentences either side of an anchor whose parties pair with its weapons
# Words that make a production reading possible in a window.
PRODUCTION_WORDS = frozenset({
    "factory", "plant", "produce", "production", "manufacture", "assemble", "assembly",
    "licence", "license", "licensed", "co-production", "coproduction", "co-produce",
    "technology", "localise", "localize", "facility", "build", "workshop", "line",
})  # fmt: skip

TRADE_FRAMES = frozenset({"supply", "acquire", "deal", "offer", "want", "produce"})

Key = tuple[str, str, str, str]  # supplier, recipient, system class, kind


@dataclass
class Occurrence:
    """One anchor sentence where a candidate's parties and weapon class meet."""

    sentence: int
    supplier: list[ActorMention]  # the supplier's mentions in the anchor sentence itself
    recipient: list[ActorMention]
    via_focus: tuple[bool, bool]  # (supplier, recipient) came from the story's focus only
    distance: int  # sentences between the anchor and the farther party (0: all in it)


@dataclass
class Candidate:
    supplier: str
    recipient: str
    system_class: str
    kind: str  # "transfer" or "production"
    occurrences: list[Occurrence] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    rule: Transfer | None = None
    reverse_rule: Transfer | None = None

    @property
    def key(self) -> Key:
        return (self.supplier, self.recipient, self.system_class, self.kind)


def kind_of(status: str) -> str:
    return "production" if status == "production" else "transfer"


def rule_key(t: Transfer) -> Key | None:
    if not t.supplier or not t.recipient:
        return None
    return (t.supplier, t.recipient, t.system_class, kind_of(t.status))


def _parties(index: DocIndex, sentence: int) -> dict[str, list[ActorMention]]:
    """Codes named in one sentence, with their mentions."""
    sent = index.sentences[sentence]
    out: dict[str, list[ActorMention]] = {}
    for m in index.actors_in(sent.start, sent.end):
        if m.code:
            out.setdefault(m.code, []).append(m)
    return out


def _anchors(index: DocIndex, triggers: Triggers) -> dict[int, dict[str, list[str]]]:
    """Sentence -> weapon class -> the designations named there (class words give none).

    A sentence with a trade trigger ("supplied", "a contract for") anchors class `other`
    too: components, engines, vehicles and the like are mostly not in the lexicon.
    """
    out: dict[int, dict[str, list[str]]] = {}
    for w in index.weapons:
        n = index._sentence_of[w.start]
        names = out.setdefault(n, {}).setdefault(w.info.system_class, [])
        if w.info.name and w.info.name not in names:
            names.append(w.info.name)
    for n, sent in enumerate(index.sentences):
        if any(triggers.frame_of(t.lemma_.lower(), t.pos_) in TRADE_FRAMES for t in sent):
            out.setdefault(n, {}).setdefault("other", [])
    return out


def _production_near(index: DocIndex, sentence: int) -> bool:
    lo, hi = max(0, sentence - WINDOW), min(len(index.sentences), sentence + WINDOW + 1)
    return any(t.lemma_.lower() in PRODUCTION_WORDS for s in index.sentences[lo:hi] for t in s)


def propose(index: DocIndex, rules: Sequence[Transfer], triggers: Triggers) -> list[Candidate]:
    """Every candidate of one story, the rules' transfers among them."""
    found: dict[Key, Candidate] = {}
    per_sentence = [_parties(index, n) for n in range(len(index.sentences))]
    focus = index.focus()
    for n, classes in sorted(_anchors(index, triggers).items()):
        near: dict[str, int] = {}  # code -> distance from the anchor
        for d in range(-WINDOW, WINDOW + 1):
            if 0 <= n + d < len(per_sentence):
                for code in per_sentence[n + d]:
                    near[code] = min(near.get(code, 99), abs(d))
        from_focus = focus is not None and focus not in near
        if focus is not None:
            near.setdefault(focus, WINDOW + 1)
        kinds = ["transfer", "production"] if _production_near(index, n) else ["transfer"]
        here = per_sentence[n]
        for a in near:
            for b in near:
                if a == b:
                    continue
                occurrence = Occurrence(
                    n, here.get(a, []), here.get(b, []),
                    (from_focus and a == focus, from_focus and b == focus),
                    max(near[a], near[b]),
                )  # fmt: skip
                for system_class, names in classes.items():
                    for kind in kinds:
                        c = found.setdefault(
                            (a, b, system_class, kind), Candidate(a, b, system_class, kind)
                        )
                        c.occurrences.append(occurrence)
                        c.systems.extend(x for x in names if x not in c.systems)
    _add_rules(found, rules)
    return list(found.values())


def _add_rules(found: dict[Key, Candidate], rules: Sequence[Transfer]) -> None:
    for t in rules:
        key = rule_key(t)
        if key is None:
            continue
        c = found.setdefault(key, Candidate(*key))
        c.rule = t
        c.systems.extend(x for x in t.systems if x not in c.systems)
    for key, c in found.items():
        back = (key[1], key[0], key[2], key[3])
        if back in found and found[back].rule is not None:
            c.reverse_rule = found[back].rule
