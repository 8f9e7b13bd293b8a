"""Trigger words -> frames, the words governing them, and the status they give."""

from __future__ import annotations

from spacy.tokens import Token

from ...record import Status
from ..actors import WeaponMention
from .patterns import on
from .state import State
from .syntax import _own, _preps
from .words import W

# Dependency relations along which the words governing a trigger are collected.
_CLIMB = frozenset({"xcomp", "ccomp", "pcomp", "prep", "pobj", "acomp", "advcl", "acl", "conj",
                    "dobj", "attr", "oprd", "relcl", "advmod", "amod", "compound"})  # fmt: skip


def _frame(x: State, token: Token) -> str | None:
    """The frame a word triggers here, if any: its lexicon frame, corrected by its context."""
    lemma = token.lemma_.lower()
    pos = token.pos_
    if pos == "PROPN":
        # "a Foreign Military Sale": capitalised, still a noun trigger.
        if token.ent_type_ in ("GPE", "NORP", "PERSON", "LOC"):
            return None
        pos = "NOUN"
    frame = x.t.frame_of(lemma, pos)
    if frame is None and pos == "ADJ" and token.tag_ == "VBN":
        frame = x.t.frame_of(lemma, "VERB")
    frame = frame or _phrasal_frame(token, lemma)
    if frame is None:
        return None
    override = _verb_override(x, token, lemma)
    if override != _KEEP:
        return override
    return _noun_frame(x, token, pos, frame)


def _phrasal_frame(token: Token, lemma: str) -> str | None:
    """Frames of phrases whose verb alone triggers none."""
    if (
        on("frame.into_service")
        and lemma in ("put", "bring", "enter")
        and any(p.lemma_.lower() == "service" for p in _preps([token], ("in", "into")))
    ):
        return "use"  # "has put Bayraktar TB2s into service"
    if (
        on("frame.show_off")
        and lemma == "show"
        and any(c.dep_ == "prt" and c.lower_ == "off" for c in token.children)
    ):
        return "use"  # "the army showed off Chinese-built CH-92A drones", like "displayed"
    if (
        on("frame.turn_out")
        and lemma in ("turn", "churn")
        and any(c.dep_ == "prt" and c.lower_ == "out" for c in token.children)
    ):
        return "produce"  # "a factory turning out Ababil-2 drones"
    return None


# _verb_override's answer when the verb's own frame stands.
_KEEP = "keep"


def _verb_override(x: State, token: Token, lemma: str) -> str | None:
    """Verbs whose frame depends on their particle, object or preposition."""
    if (
        on("frame.take_delivery")
        and lemma == "take"
        and not any(
            c.lemma_ == "delivery" or (c.dep_ == "prt" and c.lower_ in ("over", "on"))
            for c in token.children
        )
    ):
        return None  # "took delivery of", "took over 24 F-16s from Denmark"; not "took Kyiv"
    if (
        on("frame.lease_from")
        and lemma in ("lease", "rent", "charter", "hire")
        and _preps([token], ("from",))
    ):
        return "acquire"  # "Germany leases Heron drones from IAI": the lessee receives
    objects = [token, *(c for c in token.children if c.dep_ == "dobj")]
    if on("frame.fly_to") and lemma == "fly" and any(x.index.resolve(o, allow_anaphora=False)
                              for o in _preps(objects, ("to",))):  # fmt: skip
        return "supply"  # "the UAE flew weapons, including drones, to the RSF"
    if (
        on("frame.build_up")
        and lemma == "build"
        and any(c.dep_ == "prt" and c.lower_ == "up" for c in token.children)
    ):
        # "Hezbollah has built up an arsenal of Iranian missiles": amassed, not produced.
        return "acquire" if _weapons_under(x, token) else None
    if (
        on("frame.light_verb")
        and lemma in ("get", "make", "build", "pass", "move", "source", "construct", "have")
        and (not _weapons_under(x, token))
    ):
        return None
    return _KEEP


def _noun_frame(x: State, token: Token, pos: str, frame: str) -> str | None:
    """A noun trigger under a verb that says the same, or as a mere modifier, is none."""
    if pos == "NOUN" and frame not in ("deal", "produce") and token.dep_ in ("dobj", "nsubjpass"):
        verb = x.t.frame_of(token.head.lemma_.lower(), token.head.pos_)
        if on("frame.noun_under_verb") and verb in ("supply", "acquire", "use", "offer"):
            return None  # "received shipments of missiles": the verb says who is who
        if (
            on("frame.awaiting_delivery")
            and frame == "supply"
            and token.head.lemma_.lower() in ("await", "expect", "welcome")
        ):
            return "acquire"  # "Poland is awaiting delivery of Apache helicopters from"
    # "supply lines", "production know-how": a modifier, not the event itself;
    # "production line", "production facility" are the production triggers.
    return (
        None
        if (
            pos == "NOUN"
            and token.dep_ == "compound"
            and frame in ("supply", "produce")
            and token.head.lemma_.lower() not in W.production_heads
        )
        else frame
    )


def _weapons_under(x: State, token: Token) -> list[WeaponMention]:
    return x.index.weapons_in(
        t
        for c in token.children
        if c.dep_ in ("dobj", "nsubjpass", "attr", "pobj", "prep")
        for t in c.subtree
    )


def _governors(x: State, token: Token) -> list[Token]:
    chain: list[Token] = []
    current = token
    # "The sale of NASAMS to Taiwan was approved": a noun trigger's passive verb governs it.
    passive_noun = (
        token.pos_ in ("NOUN", "PROPN")
        and token.dep_ == "nsubjpass"
        and token.head.lemma_.lower() in x.t.agreed | x.t.signing
    )
    while (
        (current.dep_ in _CLIMB or (current is token and passive_noun))
        and current.head != current
        and len(chain) < 8
    ):
        if current.lower_ in W.clause_boundaries:
            break  # "After shipping drones, Iran agreed to...": another time, another status
        if (
            current.dep_ in ("acl", "ccomp")
            and current.head.pos_ == "NOUN"
            and any(c.dep_ == "mark" and c.lower_ == "that" for c in current.children)
        ):
            # "declined to comment on reports that North Korea had sent missiles": what
            # governs the reports does not govern what they say.
            break
        current = current.head
        chain.append(current)
        if current.lemma_.lower() in W.reporting:
            break
    return chain


def _status(x: State, token: Token, frame: str, chain: list[Token]) -> tuple[Status | None, bool]:
    """(status, denied): None when the words around the trigger rule a transfer out."""
    if frame == "produce":
        helped = any(n.lemma_.lower() in x.t.help_verbs for n in chain)
        # "Russia's own production" is domestic, unless someone "helped Russia build its own".
        return ("production", False) if helped or not _own(token) else (None, False)
    nodes = [token, *chain]
    negation = _negated(x, token, nodes) if on("status.negated") else None
    if negation is not None:
        return None, negation
    if frame in ("want", "offer") or (
        on("status.question") and token.sent.text.rstrip().endswith("?")
    ):
        # (A question asserts nothing: "How likely is it that Bolivia will acquire them?")
        return "sought", False
    governed = _governed_status(x, token, nodes)
    if governed is not None:
        return governed, False
    if frame == "deal":
        return ("agreed" if _signed(x, token) else "sought"), False
    if (
        on("status.deal_noun")
        and token.lemma_.lower() in W.deal_like
        and token.pos_ in ("NOUN", "PROPN")
    ):
        # "an order for", "the sale of F-16s to Turkey": a deal, not yet a delivery.
        return "agreed", False
    if on("status.ordered") and token.lemma_.lower() == "order" and token.pos_ == "VERB":
        return "agreed", False  # "Jakarta has ordered 42 Rafale fighters": not yet there
    return "delivered", False


def _negated(x: State, token: Token, nodes: list[Token]) -> bool | None:
    """None if nothing up to the reporting verb negates the trigger; else whether the
    negating word is a denial ("denied supplying")."""
    for below, node in zip([None, *nodes], nodes, strict=False):
        lemma = node.lemma_.lower()
        if lemma in W.reporting and node is not token:
            break
        # "has not bought X and relies on Y": the first verb's "not" is not the second's.
        own_clause = not (below is not None and below.dep_ == "conj" and below.pos_ == "VERB")
        negated = own_clause and any(c.dep_ == "neg" or (c.dep_ == "det" and c.lower_ == "no")
                                     for c in node.children)  # fmt: skip
        if negated or lemma in x.t.negating:
            return lemma in x.t.denial_verbs
    return None


def _governed_status(x: State, token: Token, nodes: list[Token]) -> Status | None:
    """Sought or agreed, from the modals, talks, deals and promises governing the trigger."""
    for node in nodes:
        lemma = node.lemma_.lower()
        if lemma in W.reporting and node is not token:
            break
        auxes = {c.lower_ for c in node.children if c.dep_ in ("aux", "auxpass", "mark")}
        # "Saudi Arabia is in talks with Turkey to buy": the talks, beside the verb.
        beside = node is not token and any(
            o.pos_ == "NOUN" and o.lemma_.lower() in x.t.sought  # not "in May"
            for o in _preps([node], ("in",))
        )
        if on("status.sought_above") and (
            auxes & {"could", "may", "might", "if", "whether"}
            or beside
            or (node is not token and lemma in x.t.sought)
        ):
            return "sought"
        if (
            on("status.deal_above")
            and node is not token
            and node.pos_ in ("NOUN", "PROPN")
            and lemma in x.t.nouns.get("deal", ())
        ):
            return "agreed" if _signed(x, node) else "sought"
        # "has yet to receive the missiles promised": promised, not there yet.
        not_yet = node is not token and any(
            c.dep_ == "advmod" and c.lower_ == "yet" for c in node.children
        )
        if on("status.agreed_above") and (
            auxes & {"will", "would", "shall", "'ll"}
            or not_yet
            or (node is not token and lemma in x.t.agreed)
        ):
            return "agreed"
    return None


def _signed(x: State, deal: Token) -> bool:
    if deal.lemma_.lower() in ("contract", "order"):
        return True
    for node in (deal, *_governors(x, deal)[:3]):
        # ("close to a deal" is not "closed a deal")
        if (node.lemma_.lower() in x.t.signing and node.pos_ == "VERB") or any(
            c.lemma_.lower() in x.t.signing for c in node.children if c.dep_ in ("amod", "acl")
        ):
            return True
    return False
