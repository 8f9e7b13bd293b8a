"""The extractor: each sentence through the frames and shapes, then denials and merging."""

from __future__ import annotations

from itertools import takewhile

from spacy.tokens import Span, Token

from ...record import Transfer
from ..actors import DocIndex
from ..triggers import Triggers
from .candidate import Candidate, _confirmed, _with_denials, _without_makers_of_brokered, merge
from .denials import _confirmations, _denials
from .emit import _emit
from .frames import _frame, _governors, _status
from .origins import _story_origins
from .pairs import _paired_in_order, _second_pairs
from .patterns import on
from .production import _deal_roles, _production_roles
from .roles import _roles
from .shapes import _arrivals, _continuation, _copular, _possession, _route
from .state import State
from .themes import _know_how


def run(x: State) -> list[Transfer]:
    candidates: list[Candidate] = []
    for sent in x.index.sentences:
        found = _sentence(x, sent, x.last)
        candidates.extend(found)
        if found:
            x.last = found
    if on("brokered.maker_not_supplier"):
        candidates = _without_makers_of_brokered(candidates)
    denied = _denials(x, candidates)
    confirmed = _confirmations(x)
    return merge(_confirmed(_with_denials(c, denied), confirmed) for c in candidates)


def _sentence(x: State, sent: Span, previous: list[Candidate]) -> list[Candidate]:
    out: list[Candidate] = []
    for token in sent:
        frame = _frame(x, token)
        if frame is not None:
            out.extend(_candidates(x, token, frame, sent))
    out.extend(_possession(x, sent))
    out.extend(_route(x, sent))
    out.extend(_arrivals(x, sent))
    if not out:
        out.extend(_copular(x, sent))
    if not out and previous:
        out.extend(_continuation(x, sent, previous))
    return out


def _candidates(x: State, token: Token, frame: str, sent: Span) -> list[Candidate]:
    chain = _governors(x, token)
    status, denied = _status(x, token, frame, chain)
    if status is None and not denied:
        return []
    if frame == "produce":
        roles = _production_roles(x, token, chain, sent)
    elif frame == "deal":
        roles = _deal_roles(x, token, chain)
    else:
        roles = _roles(x, token, frame, chain, sent)
    if not roles.theme:
        return []
    if status is None:  # "Tehran denied supplying drones": reported, and denied
        # The status the denied clause itself has: "denied negotiating the sale" is sought.
        below = list(takewhile(lambda n: n.lemma_.lower() not in x.t.denial_verbs, chain))
        status = _status(x, token, frame, below)[0] or "delivered"
    if on("status.know_how") and frame == "supply" and _know_how(x, token):
        status = "production"  # "transferred designs and know-how for the drone"
    paired = (
        _paired_in_order(x, token, frame, roles)
        if on("pairs.in_order") and frame in ("acquire", "supply")
        else []
    )
    if paired:
        found = [c for r in paired for c in _emit(x, r, status, sent, denied)]
    else:
        found = _emit(x, roles, status, sent, denied, fallback=frame in ("supply", "offer"))
    if on("pairs.second") and frame in ("acquire", "supply"):
        found += _second_pairs(x, token, frame, roles, status, sent, denied)
    if (
        on("production.discourse_recipient")
        and not found
        and frame == "produce"
        and roles.suppliers
        and not roles.recipients
    ):
        # "After shipping drones to Russia, Iran agreed to help build a factory".
        suppliers = roles.codes("supplier")
        previous = [c.recipient for c in x.last if c.supplier in suppliers]
        if previous:
            roles.add("recipient", previous[-1:], "discourse")
            found = _emit(x, roles, status, sent, denied)
    if found:
        x.last = found
    return found


class Extractor:
    """Finds transfer candidates in one Doc and merges them into Transfers."""

    def __init__(self, index: DocIndex, triggers: Triggers):
        self.state = State(index, triggers, index.doc, {a.code for a in index.actors if a.code})
        self.state.class_origins = _story_origins(self.state)

    def run(self) -> list[Transfer]:
        return run(self.state)
