"""Sentences that report a transfer without a trigger word."""

from __future__ import annotations

from spacy.tokens import Span

from .candidate import Candidate, _Roles
from .emit import _emit
from .origins import _owner
from .patterns import on
from .state import State
from .syntax import _child, _np_tokens, _preps, _subject
from .words import W


def _possession(x: State, sent: Span) -> list[Candidate]:
    """ "Saudi-operated Wing Loong II aircraft": the operator has the maker's weapon."""
    out: list[Candidate] = []
    for a in x.index.actors_in(sent.start, sent.end):
        if not a.operated or not a.code:
            continue
        weapons = [w for w in x.index.weapons if a.end <= w.start <= a.end + 4]
        if weapons:
            r = _Roles(recipients=[(a.code, "syntax")], theme=weapons[:1])
            out.extend(_emit(x, r, "delivered", sent, False))
    return out


def _route(x: State, sent: Span) -> list[Candidate]:
    """ "a dhow ... bound for Yemen's Houthi rebels", "heading from Iran to Houthi-held
    ports": weapons on their way are a delivery (an interdicted one still counts)."""
    if not on("route.bound_for"):
        return []
    weapons = [w for w in x.index.weapons if sent.start <= w.start < sent.end]
    if not weapons:
        return []
    destination: list[str] = []
    source: list[str] = []
    for t in sent:
        if t.lower_ not in W.destination:
            continue
        clause = t
        for _ in range(4):  # up to the verb whose clause carries the weapons
            if (clause.pos_ == "VERB" and clause != t) or clause.head == clause:
                break
            clause = clause.head
        if not x.index.weapons_in(clause.subtree):
            continue
        for obj in _preps([t], ("for", "to", "toward", "towards")):
            code = x.index.resolve(obj, allow_anaphora=False)
            if code:
                destination.append(code)
        for obj in _preps([t], ("from",)):
            code = x.index.resolve(obj, allow_anaphora=False)
            if code:
                source.append(code)
    if not destination:
        return []
    r = _Roles(theme=weapons)
    r.add("recipient", destination, "syntax")
    r.add("supplier", [s for s in source if s not in destination], "syntax")
    return _emit(x, r, "delivered", sent, False)


def _arrivals(x: State, sent: Span) -> list[Candidate]:
    """ "The first Turkish-made Akinci drones arrived in Niamey": weapons that arrive
    somewhere were delivered there (by their maker, when nothing else says who)."""
    if not on("arrival.arrived_in"):
        return []
    out: list[Candidate] = []
    for verb in sent:
        if verb.pos_ != "VERB" or verb.lemma_.lower() not in W.arriving:
            continue
        subj = _child(verb, "nsubj")
        if subj is None or not (theme := x.index.weapons_in(subj.subtree)):
            continue
        places = _preps([verb], ("in", "at"))
        r = _Roles(theme=theme)
        r.add("recipient", [x.index.resolve(p, allow_anaphora=False) for p in places],
              "syntax")  # fmt: skip
        r.add("supplier", [x.index.resolve(p, allow_anaphora=False)
                           for p in _preps([verb, subj], ("from",))], "syntax")  # fmt: skip
        out.extend(_emit(x, r, "delivered", sent, False))
    return out


def _copular(x: State, sent: Span) -> list[Candidate]:
    """ "Iranian drones have been a key weapon for Russia": a weapon role noun."""
    if not on("copular.key_weapon_for"):
        return []
    out: list[Candidate] = []
    for token in sent:
        if token.lemma_.lower() not in W.role_nouns or token.dep_ not in (
            "attr",
            "dobj",
            "appos",
        ):
            continue
        user = next((c for p in _preps([token], ("for", "of"))
                     if (c := x.index.resolve(p, allow_anaphora=False))), None)  # fmt: skip
        user = user or _owner(x, token)
        subj = _subject(token.head, [])
        if not user or subj is None:
            continue
        theme = x.index.weapons_in(_np_tokens(subj))
        r = _Roles(recipients=[(user, "syntax")], theme=theme)
        out.extend(_emit(x, r, "delivered", sent, False))
    return out


def _continuation(x: State, sent: Span, previous: list[Candidate]) -> list[Candidate]:
    """ "It also includes air defence systems": new weapons for the transfer just named."""
    if not on("continuation.also_includes"):
        return []
    first = sent[0]
    if first.lower_ not in ("it", "they", "this", "that", "these", "the") or (
        x.index.actors_in(sent.start, sent.end)
    ):
        return []
    if not any(t.lemma_.lower() in ("include", "involve", "comprise", "cover", "contain")
               for t in sent):  # fmt: skip
        return []
    last = previous[-1]
    theme = [w for w in x.index.weapons if sent.start <= w.start < sent.end]
    r = _Roles([(last.supplier, "coref")], [(last.recipient, "coref")], theme)
    return _emit(x, r, last.status, sent, False)
