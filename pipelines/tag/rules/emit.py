"""Roles -> Candidates: one per (supplier, recipient, class), with a fallback recipient."""

from __future__ import annotations

from spacy.tokens import Span

from ...record import Status, SystemClass
from .candidate import _CONFIDENCE, Candidate, _Roles
from .origins import _origins, _other_state
from .patterns import on
from .state import State
from .syntax import _following_preps, _preps
from .words import W


def _emit(x: State, r: _Roles, status: Status, sent: Span, denied: bool,
          fallback: bool = False) -> list[Candidate]:  # fmt: skip
    if not r.theme:
        return []
    recipients = list(r.recipients)
    suppliers_known = frozenset(c for c, b in r.suppliers if b in ("syntax", "coref"))
    if not suppliers_known and not r.suppliers:
        # "Turkish-supplied TB2 drones ... were delivered": the adjective names the supplier.
        suppliers_known = frozenset(
            a.code for w in r.theme for a in x.index.actors_in(max(0, w.start - 4), w.start)
            if a.supplied and a.code
        )  # fmt: skip
    if not recipients and fallback and suppliers_known and not r.domestic:
        recipients = _fallback_recipients(x, sent, suppliers_known)
    if not recipients:
        return []
    hedged = any(t.lemma_.lower() in x.t.hedges or t.lower_ in x.t.hedges for t in sent)
    by_key: dict[tuple[str, str, SystemClass], tuple[list[str], float, bool, frozenset[str]]] = {}
    for w in r.theme:
        suppliers = r.suppliers or _origins(x, w, exclude=None)
        if not suppliers and r.fallback_supplier:
            suppliers = [(r.fallback_supplier, "fallback")]
        named = bool(r.suppliers)
        makers = (
            frozenset(c for c, b in _origins(x, w, exclude=None) if b == "origin")
            if named
            else frozenset()
        )
        for s_code, s_basis in suppliers:
            for r_code, r_basis in recipients:
                if not s_code or s_code == r_code:
                    continue
                confidence = min(_CONFIDENCE[s_basis], _CONFIDENCE[r_basis])
                confidence *= 0.85 if hedged else 1.0
                key = (s_code, r_code, w.info.system_class)
                systems, best, was_named, known = by_key.get(key, ([], 0.0, False, frozenset()))
                if w.info.name and w.info.name not in systems:
                    systems.append(w.info.name)
                by_key[key] = (systems, max(best, confidence), was_named or named,
                               known | makers)  # fmt: skip
    return [
        Candidate(s, rc, cls, tuple(systems), status, round(conf, 3), sent, denied, named, makers)
        for (s, rc, cls), (systems, conf, named, makers) in by_key.items()
    ]


def _fallback_recipients(x: State, sent: Span, suppliers: frozenset[str]) -> list[tuple[str, str]]:
    """A supply with no stated recipient: "to X" later on, the one other state of the
    sentence, the recipient of the transfer just named, or the story's focus."""
    for t in sent:  # "... a further unit had arrived in Ukraine", "reached the Houthis"
        if t.lemma_.lower() in ("arrive", "reach", "land") and t.pos_ == "VERB":
            places = _preps([t], ("in", "at")) + [c for c in t.children if c.dep_ == "dobj"]
            for place in places:
                code = x.index.resolve(place, allow_anaphora=False, exclude=suppliers)
                if code:
                    return [(code, "fallback")]
    for obj in _following_preps(sent, W.recipient_preps) if on("fallback.to_later") else []:
        code = x.index.resolve(obj, allow_anaphora=False, exclude=suppliers)
        if code:
            return [(code, "fallback")]
    other = _other_state(x, sent, suppliers) if on("fallback.other_state") else None
    if other:
        return [(other, "fallback")]
    for c in reversed(x.last):
        if c.supplier in suppliers and c.recipient not in suppliers:
            return [(c.recipient, "discourse")]
    # "Ukraine received F-16s from Denmark and Norway. France has delivered Mirage
    # fighters": a new supplier in a list of supplies to the one recipient just named.
    previous = x.index.sentence_start_before(sent.start, 1)
    recipients = {c.recipient for c in x.last
                  if c.sent.start >= previous and c.status != "production"}  # fmt: skip
    if on("fallback.list_recipient") and len(recipients) == 1 and not recipients & suppliers:
        return [(next(iter(recipients)), "discourse")]
    focus = x.index.focus(suppliers) if on("fallback.focus") else None
    return [(focus, "focus")] if focus else []
