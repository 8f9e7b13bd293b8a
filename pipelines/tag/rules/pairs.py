"""Several weapons with a party each: "sold Su-25s to Sudan and Tor-M2s to Myanmar"."""

from __future__ import annotations

from spacy.tokens import Span, Token

from ...record import Status
from .candidate import Candidate, _paired_roles, _Roles, _sides
from .emit import _emit
from .state import State
from .syntax import _in_clause_below, _np_tokens, _preps


def _paired_in_order(x: State, token: Token, frame: str, roles: _Roles) -> list[_Roles]:
    """ "sold Su-25 jets to Sudan and Tor-M2 systems to Myanmar": with two or more parties
    on the verb, each weapon goes with the party named right after it, whatever the
    parser made of the list."""
    party_prep, keep = _sides(frame)
    preps = [c for c in token.children
             if c.dep_ in ("prep", "dative") and c.lower_ in party_prep]  # fmt: skip
    parties = [(p, x.index.resolve(o, allow_anaphora=False))
               for p in preps for o in p.children if o.dep_ == "pobj"]  # fmt: skip
    parties = [(p, code) for p, code in parties if code]
    if len(parties) < 2 or not roles.codes(keep):
        return []
    out: list[_Roles] = []
    start = token.i
    for prep, code in parties:
        theme = [w for w in x.index.weapons if start < w.start < prep.i]
        start = prep.i
        if not theme:
            return []  # "sold drones to Sudan and Chad": one theme, several parties
        out.append(_paired_roles(roles, keep, theme, [code]))
    return out


def _second_pairs(x: State, token: Token, frame: str, roles: _Roles, status: Status,
                  sent: Span, denied: bool) -> list[Candidate]:  # fmt: skip
    """ "ordered 42 Rafales from France and 12 Anka drones from Turkish Aerospace", "sold
    Shaheds to Russia and Mohajer-6 drones to Ethiopia": later weapons with a party of
    their own, wherever the parser hung them in the clause."""
    party_prep, keep = _sides(frame)
    if not roles.codes(keep):
        return []
    out: list[Candidate] = []
    for t in token.subtree:
        if t.i <= token.i or t.pos_ not in ("NOUN", "PROPN") or _in_clause_below(t, token):
            continue
        theme = [w for w in x.index.weapons_in(_np_tokens(t)) if w not in roles.theme]
        parties = [x.index.resolve(p, allow_anaphora=False)
                   for p in _preps([t], party_prep)]  # fmt: skip
        if not theme or not any(parties):
            continue
        out.extend(_emit(x, _paired_roles(roles, keep, theme, parties), status, sent, denied))
    return out
