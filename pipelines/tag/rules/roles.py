"""Supplier, recipient and theme of a supply, acquire, use, want or offer trigger."""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Span, Token

from ..actors import PRONOUNS, WeaponMention
from .candidate import _Roles
from .origins import _other_state, _owner
from .patterns import on
from .state import State
from .syntax import (
    _agent,
    _both_sides,
    _child,
    _conjuncts,
    _doer_above,
    _foreign_military_sale,
    _last_named,
    _np_tokens,
    _preps,
    _subject,
)
from .themes import _named_before, _theme, _theme_token, _weapon_subject
from .words import W


@dataclass
class _Clause:
    """One trigger of the supply, acquire, use, want or offer frames, as _roles reads it."""

    token: Token
    frame: str
    chain: list[Token]
    sent: Span
    # The side the trigger's own subject (or agent, or owner) takes.
    side: str
    # The noun phrase holding the weapons, as far as it is known yet.
    theme_tok: Token | None
    # The equipped noun of "a battalion equipped with ...", when there is one.
    holder: Token | None = None

    @property
    def noun(self) -> bool:
        return self.token.pos_ in ("NOUN", "PROPN")


def _roles(x: State, token: Token, frame: str, chain: list[Token], sent: Span) -> _Roles:
    """Supplier, recipient and theme of one trigger: its subject side, then its objects."""
    side = "supplier" if frame in ("supply", "offer") else "recipient"
    c = _Clause(token, frame, chain, sent, side, _theme_token(x, token))
    r = _Roles()
    if not _subject_side(x, c, r):
        return _Roles()  # "both sides fired missiles": a war, not a transfer
    heads = _heads(c)
    if (
        on("roles.attack_at")
        and frame == "supply"
        and any(_target(x, obj) for obj in _preps(heads, ("at", "against", "into")))
    ):
        return _Roles()  # "sends hundreds of drones at our cities": an attack
    if side == "supplier":
        _recipient_side(x, c, r, heads)
    else:
        _supplier_side(x, c, r, heads)
    r.theme = _clause_theme(x, c, r, heads)
    if frame in ("supply", "offer") and r.suppliers and all(b == "coref" for _, b in r.suppliers):
        _maker_for_coref(x, r)
    if on("roles.use_fallback") and frame == "use" and not r.suppliers:
        r.fallback_supplier = _use_fallback(x, c, r)
    return r


def _subject_side(x: State, c: _Clause, r: _Roles) -> bool:
    """The party of the trigger's own side; False for "both sides fired": no transfer."""
    token, frame = c.token, c.frame
    resolve = x.index.resolve
    # "a battalion equipped with SPYDER systems", "forces were armed with drones": the
    # equipped noun is the recipient; the supplier is the agent or the weapons' maker.
    if (
        on("roles.equipped_with")
        and frame == "supply"
        and token.lemma_.lower() in W.equip
        and token.tag_ == "VBN"
    ):
        c.holder = token.head if token.dep_ in ("acl", "amod") else _child(token, "nsubjpass")
    agent = _agent(token)
    if c.holder is not None:
        _equipped(x, c, r, c.holder, agent)
    elif (
        on("roles.reduced_relative") and (reduced := _reduced_relative(x, token, frame)) is not None
    ):
        # "The army deployed TB2 drones acquired from Turkey", parsed as if the drones
        # acquired something: the drones are the theme, the army the recipient.
        c.theme_tok, holder_subject = reduced
        r.add("recipient", [resolve(holder_subject)], "syntax")
        if agent is not None:
            r.add("supplier", (resolve(a) for a in _conjuncts(agent)), "syntax")
    elif on("roles.by_agent") and agent is not None:
        r.add(c.side, (resolve(a) for a in _conjuncts(agent)), "syntax")
    elif c.noun:
        _noun_subject(x, c, r)
    elif not (
        token.tag_ == "VBN"
        and token.dep_ in ("acl", "amod")
        and not any(ch.dep_ == "nsubj" for ch in token.children)  # "reports that X had sent"
    ):
        # (A participle, "missiles delivered to Kyiv", takes no subject from above.)
        subj = _subject(token, c.chain)
        if frame == "use" and subj is not None and _both_sides(subj):
            return False
        if on("roles.subject") and subj is not None and not _weapon_subject(x, token, subj):
            basis = "syntax" if x.index.actor_at(subj.i) else "coref"
            r.add(c.side, (resolve(s) for s in _conjuncts(subj)), basis)
    if on("roles.deal_owner") and not r.codes(c.side) and c.holder is None:
        # "An Iranian deal to supply Bolivia": the deal's owner does the supplying.
        for node in c.chain:
            if node.pos_ in ("NOUN", "PROPN"):
                r.add(c.side, [_owner(x, node)], "syntax")
                break
    return True


def _equipped(x: State, c: _Clause, r: _Roles, holder: Token, agent: Token | None) -> None:
    """ "a battalion equipped with SPYDER systems": the battalion's owner receives."""
    resolve = x.index.resolve
    owner = resolve(holder)
    if owner is None and holder.dep_ == "dobj":
        # "the army activated a battalion equipped with": the battalion is the army's.
        subj = _subject(holder.head, [])
        owner = resolve(subj) if subj is not None else None
    r.add("recipient", [owner], "syntax")
    c.theme_tok = next(iter(_preps([c.token], ("with",))), c.theme_tok)
    if agent is not None:
        r.add("supplier", (resolve(a) for a in _conjuncts(agent)), "syntax")


def _noun_subject(x: State, c: _Clause, r: _Roles) -> None:
    """The party of a noun trigger: its owner, or the subject of the verb it hangs from."""
    token, frame, chain = c.token, c.frame, c.chain
    resolve = x.index.resolve
    if on("roles.noun_owner"):
        r.add(c.side, [_owner(x, token)], "syntax")
    if on("roles.foreign_military_sale") and _foreign_military_sale(token):
        # The US programme by that name: the seller is the United States.
        r.add("supplier", ["US"], "syntax")
    if (
        on("roles.bolstered_by")
        and frame == "supply"
        and token.head.dep_ == "agent"
        and token.head.head.dep_ == "acl"
    ):
        # "Its air force, bolstered by the delivery of Su-30 fighters from Russia":
        # what the deliveries bolster is what received them.
        r.add("recipient", [resolve(token.head.head.head)], "syntax")
    if r.codes(c.side) or not on("roles.noun_verb_subject"):
        return
    # "The US approved the sale of F-16s", "Iran finalised the purchase of": the subject of
    # the verb the noun hangs from.
    # ("Dhaka is in talks with Beijing over the purchase of": the copula's subject)
    for n, node in enumerate(chain[:4]):
        if node.pos_ == "VERB" or (node.pos_ == "AUX" and _child(node, "nsubj") is not None):
            blamed = next((d for p in chain[:n] if p.lower_ in ("for", "over")
                           and (d := _doer_above(p)) is not None), None)  # fmt: skip
            if on("roles.blamed_for") and blamed is not None:
                # "sanctioned North Korean officials over the transfer of missiles",
                # "thanked Turkey for the delivery of drones": they did it.
                r.add(c.side, [resolve(blamed)], "syntax")
                break
            # "The sale of NASAMS to Taiwan was approved by the United States".
            subj = _subject(node, []) or _agent(node)
            if subj is not None and node.lemma_.lower() not in W.reporting:
                r.add(c.side, [resolve(subj)], "coref")
            break


def _heads(c: _Clause) -> list[Token]:
    """The words whose prepositions name the other parties: the trigger, its theme and,
    for a noun, the verbs above it ("approved $20 billion in weapons sales to Israel")."""
    heads = [c.token, *([c.theme_tok] if c.theme_tok is not None else [])]
    if c.noun:
        for node in c.chain:
            heads.append(node)
            if node.pos_ == "VERB":
                break
    return heads


def _recipient_side(x: State, c: _Clause, r: _Roles, heads: list[Token]) -> None:
    """Supply and offer: the recipient ("to X", "gave X", "armed X with") and a source."""
    token = c.token
    resolve = x.index.resolve
    suppliers = r.codes("supplier")
    for obj in _preps(heads, W.recipient_preps) if on("roles.to_recipient") else []:
        r.add("recipient", [resolve(obj, exclude=suppliers)], "syntax")
        r.domestic |= resolve(obj, allow_anaphora=False) in suppliers
    for child in token.children:
        if on("roles.dative") and child.dep_ in ("dative", "iobj"):
            r.add("recipient", (resolve(ch) for ch in _conjuncts(child)), "syntax")
    dobj = _child(token, "dobj")
    if on("roles.object_recipient") and dobj is not None and not r.recipients:
        # "armed the Houthis with missiles", "supplied the military with jets".
        code = resolve(dobj, allow_anaphora=_actorish(x, dobj))
        if code and not x.index.weapons_in(_np_tokens(dobj)):
            r.add("recipient", [code], "syntax")
            c.theme_tok = next(iter(_preps([token], ("with",))), None)
    # "components supplied from Iran": a source is the supplier too.
    for obj in _preps(heads, ("from",)) if on("roles.supplied_from") else []:
        r.add("supplier", [resolve(obj, allow_anaphora=False)], "syntax")
    weapon = token.head
    if (
        on("roles.user_received")
        and not r.recipients
        and token.dep_ == "acl"
        and weapon.dep_ == "dobj"
    ):
        # "The RSF has been using Chinese-made drones supplied by the UAE": who uses
        # (or buys, or fires) the weapons received them.
        user = _subject(weapon.head, [])
        if user is not None and x.t.frame_of(weapon.head.lemma_.lower(), "VERB") in (
            "use",
            "acquire",
        ):
            r.add("recipient", [resolve(user, exclude=r.codes("supplier"))], "syntax")


def _supplier_side(x: State, c: _Clause, r: _Roles, heads: list[Token]) -> None:
    """Acquire, use and want: the supplier ("from X", "bought in X", "with X")."""
    token = c.token
    resolve = x.index.resolve
    for node in [*heads, *c.chain[:3]]:
        if c.frame == "use" and (node is not c.theme_tok or token.lemma_.lower() in W.launch):
            continue  # "fired missiles from Belarus", "operated from Mogadishu": a place
        for obj in _preps([node], ("from",)) if on("roles.acquired_from") else []:
            r.add("supplier", [resolve(obj, exclude=r.codes("recipient"))], "syntax")
        if on("roles.bought_in") and node is token and token.lemma_.lower() in W.buying:
            # "drones bought in the United States": where they were bought.
            for obj in _preps([node], ("in",)):
                code = resolve(obj, allow_anaphora=False, exclude=r.codes("recipient"))
                mention = x.index.actor_at(obj.i)
                if code and mention is not None and mention.kind == "state":
                    r.add("supplier", [code], "syntax")
        # "in talks with Turkey", but not "with US acquiescence".
        for obj in _preps([node], ("with",)) if on("roles.talks_with") else []:
            if x.index.actor_at(obj.i):
                r.add("supplier", [resolve(obj)], "syntax")
    if on("roles.deal_partner") and c.frame == "acquire" and not r.suppliers:
        # "signed a memorandum of understanding with South Korea on the purchase of":
        # the partner of the deal the purchase hangs from.
        deals = [
            d
            for v in c.chain[:3]
            if v.pos_ == "VERB"
            for d in v.children
            if d.dep_ == "dobj" and d.lemma_.lower() in x.t.nouns.get("deal", ())
        ]
        for obj in _preps([t for d in deals for t in d.subtree], ("with",)):
            if x.index.actor_at(obj.i):
                r.add("supplier", [resolve(obj, exclude=r.codes("recipient"))], "syntax")


def _clause_theme(x: State, c: _Clause, r: _Roles, heads: list[Token]) -> list[WeaponMention]:
    """The weapons of the trigger, with two repairs of the parse when it gives none."""
    token = c.token
    theme = _theme(x, token, c.theme_tok, c.sent)
    if on("roles.sale_of_after_recipient") and not theme and c.noun and c.frame == "supply":
        # "a sale to the Government of Chile of F-16 jets": the "of" the parser hung on
        # the buyer's name is the sale's.
        inner = [t for obj in _preps(heads, W.recipient_preps) for t in obj.subtree]
        theme = [w for o in _preps(inner, ("of",)) for w in x.index.weapons_in(o.subtree)]
    if (
        not theme
        and c.theme_tok is None
        and token.pos_ == "VERB"
        and c.frame == "acquire"
        and _child(token, "dobj") is None
        and r.suppliers
    ):
        # "The drones were TB2s, and Kenya had become one of a dozen states to buy from
        # Baykar": a buyer with a seller and no object of its own buys what was just named.
        # (Not a seller: "We sell to Americans, Spaniards" is too often something else.)
        theme = _last_named(_named_before(x, token, c.sent))
    return theme


def _maker_for_coref(x: State, r: _Roles) -> None:
    """ "We have supplied Storm Shadow to Ukraine": a supplier found only by co-reference
    gives way to the one maker of every weapon named, when the story names it."""
    makers = {w.info.origin for w in r.theme if not w.info.generic}
    maker = next(iter(makers)) if len(makers) == 1 and r.theme else None
    if (
        maker
        and maker in x.mentioned
        and maker not in r.codes("supplier") | r.codes("recipient")
        and all(not w.info.generic for w in r.theme)
    ):
        r.suppliers = [(maker, "catalogue")]


def _use_fallback(x: State, c: _Clause, r: _Roles) -> str | None:
    """A use with no supplier: a source of supplies in the sentence ("missiles used by the
    Houthis were built with components supplied from Iran"), or for a strong use verb the
    one other state of the sentence that makes weapons."""
    resolve = x.index.resolve
    sources = [ch for t in c.sent if x.t.frame_of(t.lemma_.lower(), t.pos_) == "supply"
               for p in [*_preps([t], ("from",)), *filter(None, [_agent(t)])]
               if (ch := resolve(p, allow_anaphora=False))
               and ch not in r.codes("recipient")]  # fmt: skip
    if sources:
        return sources[0]
    if c.token.lemma_.lower() in W.strong_use:
        return _other_state(x, c.sent, r.codes("recipient"), maker=True)
    return None


def _reduced_relative(x: State, token: Token, frame: str) -> tuple[Token, Token] | None:
    """A participle after a weapon that the parser made a clause of its own: in "the army
    deployed drones acquired from Turkey to watch the border", `drones` comes out as
    the subject of `acquired`. Returns (the weapon noun, the subject of the main verb)."""
    if frame not in ("acquire", "supply") or token.tag_ not in ("VBN", "VBD"):
        return None
    subj = _child(token, "nsubj")
    main = token.head
    if (
        subj is None
        or token.dep_ not in ("ccomp", "conj", "advcl")
        or main.pos_ != "VERB"
        or any(c.dep_ in ("aux", "auxpass", "dobj") for c in token.children)
        or not x.index.weapons_in(_np_tokens(subj))
    ):
        return None
    holder = _subject(main, [])
    return (subj, holder) if holder is not None else None


def _target(x: State, token: Token) -> bool:
    """Something a weapon is sent at: a party, a place, people ("at our cities", "into
    Ukraine"), not "at an estimated cost" or "at a ceremony"."""
    return bool(x.index.resolve(token, allow_anaphora=False)) or (token.lemma_.lower() in W.targets)


def _actorish(x: State, token: Token) -> bool:
    return token.lemma_.lower() in W.actorish or token.lower_ in PRONOUNS
