"""Where a weapon comes from, whose a noun is, and the other state of a sentence."""

from __future__ import annotations

from collections import defaultdict

from spacy.tokens import Span, Token

from ..actors import WeaponMention
from .patterns import on
from .state import State
from .syntax import _preps
from .words import W


def _origins(x: State, w: WeaponMention, exclude: str | None) -> list[tuple[str, str]]:
    """Where one weapon comes from: "Iranian drones", "Uvision's Hero-120", "KN-23"."""
    head = x.doc[w.end - 1]
    while (
        head.dep_ in ("compound", "amod", "nmod")
        and head.head.i - head.i > 0
        and (head.head.i - w.end < 4)
    ):
        head = head.head
    found = _modifier_origins(x, w, head, exclude) if on("origin.modifier") else []
    if found is None:
        return []  # whose it is, not where from: the text does not say the maker
    if found:
        return found[-1:]
    found = _phrase_origin(x, head, exclude) if on("origin.from_or_made_in") else []
    if found:
        return found
    origin = w.info.origin
    if on("origin.catalogue") and origin and origin != exclude and origin in x.mentioned:
        return [(origin, "catalogue")]
    if (
        on("origin.earlier_same_class")
        and w.info.generic
        and any(c.lower_ in ("these", "those", "the", "such") for c in head.children)
    ):
        # "shipments of these ballistic missiles": the ones named just before.
        earlier = [
            v
            for v in x.index.weapons
            if v.start < w.start
            and v.info.system_class == w.info.system_class
            and v.start >= w.start - 80
        ]
        for v in reversed(earlier):
            found = _origins(x, v, exclude) if v is not w else []
            if found:
                return found
    return []


def _modifier_origins(
    x: State, w: WeaponMention, head: Token, exclude: str | None
) -> list[tuple[str, str]] | None:
    """Makers named in the words before the weapon ("Iranian", "Uvision's"); None when a
    state word there names who holds it instead ("the Bangladeshi TB2s")."""
    tokens = [t for c in head.children if c.i < head.i and c.dep_ in
              ("amod", "compound", "poss", "nmod") for t in c.subtree]  # fmt: skip
    for t in reversed(x.doc[max(w.start - 4, x.index.sent_of(w.start).start) : w.start]):
        if t.pos_ in ("VERB", "AUX", "ADP", "PUNCT", "CCONJ") and t.text not in ("-", "'s"):
            break
        tokens.append(t)
    found: list[tuple[str, str]] = []
    for t in tokens:
        a = x.index.actor_at(t.i)
        if (
            a
            and a.code
            and a.code != exclude
            and not a.operated
            and (a.kind in ("state", "company", "organ"))
        ):
            if on("origin.holder") and _holder_of(x, t, a.code, w):
                return None
            found.append((a.code, "origin"))
    return found


def _phrase_origin(x: State, head: Token, exclude: str | None) -> list[tuple[str, str]]:
    """ "drones from Iran", "The drones came from Iran", "drones made in Iran"."""
    # (then "They were handed to ...").
    sources = [head.head] if head.dep_ == "nsubj" and head.head.lemma_ in W.coming else []
    for obj in _preps([head, *sources], ("from",)):
        code = x.index.resolve(obj, allow_anaphora=False)
        if code and code != exclude:
            return [(code, "origin")]
    for c in head.children:  # "drones made in Iran", "missiles produced by North Korea"
        if c.dep_ != "acl":
            continue
        lemma = c.lemma_.lower()
        frame = x.t.frame_of(lemma, "VERB")
        if lemma in W.making_verbs or frame == "supply":
            preps: tuple[str, ...] = ("in", "by")  # "supplied by Iran"
        elif frame == "acquire":
            preps = ("from",)  # "TB2 drones acquired from Turkey"
        else:
            continue
        for obj in _preps([c], preps):
            code = x.index.resolve(obj, allow_anaphora=False)
            if code and code != exclude:
                return [(code, "origin")]
    return []


def _holder_of(x: State, t: Token, code: str, w: WeaponMention) -> bool:
    """ "Russian Shaheds", "the Bangladeshi TB2s": a state word before a designation made
    elsewhere names who has the weapon, not who made it ("Iranian-made" still is)."""
    if w.info.generic or not w.info.origin or w.info.origin == code:
        return False
    after = {x.lower_ for x in x.doc[t.i + 1 : t.i + 3]}
    return not after & W.made_words


def _story_origins(x: State) -> dict[str, str]:
    """Per weapon class, the one state named as the maker in the story, if just one."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for w in x.index.weapons:
        for a in x.index.actors_in(max(w.start - 3, 0), w.start):
            if a.code and (a.form == "demonym" or a.made):
                counts[w.info.system_class][a.code] += 1
        if w.info.origin and w.info.origin in x.mentioned:
            counts[w.info.system_class][w.info.origin] += 1
    return {cls: next(iter(c)) for cls, c in counts.items() if len(c) == 1}


def _owner(x: State, noun: Token) -> str | None:
    """The party a noun belongs to: "Iran's provision", "an Iranian deal"."""
    for child in sorted(noun.children, key=lambda c: -c.i):
        if child.dep_ in ("poss", "amod", "compound", "nmod") and child.i < noun.i:
            code = x.index.resolve(child)
            if code:
                return code
    for obj in _preps([noun], ("by",)):
        code = x.index.resolve(obj)
        if code:
            return code
    if noun.dep_ == "conj":  # "Iran's provision of drones ... and assistance in building"
        return _owner(x, noun.head)
    return None


def _other_state(x: State, sent: Span, exclude: frozenset[str], maker: bool = False) -> str | None:
    """The one other state taking part in the sentence (a subject or an object, not a
    place, a target or an aside); with `maker`, only one that makes the weapons."""
    others = []
    for a in x.index.actors_in(sent.start, sent.end):
        if a.code in exclude or a.kind != "state" or a.form == "demonym":
            continue
        tok = x.doc[a.end - 1]
        while tok.dep_ in ("compound", "poss") and tok.head != tok:
            tok = tok.head
        if tok.dep_ not in ("nsubj", "nsubjpass", "dobj", "dative", "appos", "conj"):
            continue
        if maker and not any(x.t.frame_of(t.lemma_.lower(), t.pos_) == "produce"
                             for t in tok.head.subtree):  # fmt: skip
            continue
        others.append(a.code)
    return others[0] if len(set(others)) == 1 else None
