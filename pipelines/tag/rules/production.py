"""Roles of production ("a plant in Russia built with Iran's help") and of deals."""

from __future__ import annotations

from spacy.tokens import Span, Token

from .candidate import _Roles
from .origins import _origins, _owner
from .patterns import on
from .state import State
from .syntax import _agent, _child, _conjuncts, _np_tokens, _preps, _subject
from .themes import _theme
from .words import W


def _production_roles(x: State, token: Token, chain: list[Token], sent: Span) -> _Roles:
    """Production: where (the recipient), who helps (the supplier), and what is made."""
    r = _Roles()
    agent = _agent(token)
    if (
        on("production.by_agent") and agent is not None
    ):  # "produced by Adani", "assembled by CAVIM": the producer
        r.add("recipient", [x.index.resolve(agent, allow_anaphora=False)], "syntax")
    if on("production.place"):
        _production_place(x, r, token, chain)
    _production_helpers(x, r, chain, sent)
    r.theme = _theme(x, token, None, sent, production=True)
    if (
        on("production.helped_theme")
        and not r.theme
        and any(n.lemma_.lower() in x.t.help_verbs for n in chain)
    ):
        # "Iran supplied Shahed drones and helped Russia build a factory": those drones.
        before = [w for w in x.index.weapons if sent.start <= w.start < token.i]
        r.theme = before[-1:]
    _production_parties(x, r, token, chain, agent)
    return r


def _production_place(x: State, r: _Roles, token: Token, chain: list[Token]) -> None:
    """Where: "a plant in Russia", "on its territory", "drones built in Venezuela"."""
    resolve = x.index.resolve
    # The verbs right above the trigger, stopping at the first clause of another topic.
    near: list[Token] = [token]
    for node in chain:
        near.append(node)
        if node.pos_ == "VERB":
            break
    for node in near:
        for obj in _preps([node, *[c for c in node.children if c.dep_ == "dobj"]],
                          W.location_preps):  # fmt: skip
            code = resolve(obj)
            if code is None:  # "at a plant near Baku", "at a factory in Tatarstan"
                code = next((c for o in _preps([obj], W.location_preps)
                             if (c := resolve(o, allow_anaphora=False))), None)  # fmt: skip
            r.add("recipient", [code], "syntax")
    subject = _subject(token, chain)
    if (
        not r.recipients
        and subject is not None
        and subject.pos_ == "NOUN"
        and (x.t.frame_of(subject.lemma_.lower(), "NOUN") == "produce")
    ):
        # "A factory in Dushanbe built with Iran's help produces Ababil-2 drones".
        for obj in _preps([subject], W.location_preps):
            r.add("recipient", [resolve(obj, allow_anaphora=False)], "syntax")


def _production_helpers(x: State, r: _Roles, chain: list[Token], sent: Span) -> None:
    """Who helps: "Iran is helping Russia build", "with Iran's help", "help from Iran"."""
    resolve = x.index.resolve
    for n, node in enumerate(chain):
        if on("production.help_verb") and node.lemma_.lower() in x.t.help_verbs:
            subj = _subject(node, chain[n + 1 :])
            if subj is not None:
                r.add("supplier", [resolve(subj)], "syntax")
            helped = _child(node, "dobj")
            if helped is not None:
                r.add("recipient", [resolve(helped, exclude=r.codes("supplier"))], "syntax")
    if r.suppliers or not on("production.help_noun"):
        return
    for t in sent:
        if t.lemma_.lower() in x.t.help_nouns and t.pos_ == "NOUN":
            code = _help_giver(x, t)
            if code and code not in r.codes("recipient"):
                r.add("supplier", [code], "syntax")
                break


def _help_giver(x: State, t: Token) -> str | None:
    """Whose help a help noun is: "Iran's help", "help from Iran", "provided by Iran"."""
    resolve = x.index.resolve
    code = _owner(x, t) or next(
        (c for c in (resolve(p, allow_anaphora=False)
                     for p in _preps([t], ("from", "of", "by", "with"))) if c),
        None,
    )  # fmt: skip
    if not code:  # "knowledge and funding provided by Iran"
        agents = [g for a in t.children if a.dep_ == "acl" and (g := _agent(a))]
        code = next((c for g in agents if (c := resolve(g, allow_anaphora=False))),
                    None)  # fmt: skip
    if not code and t.dep_ == "dobj":  # "with Elbit providing technology"
        subj = _subject(t.head, [])
        code = resolve(subj, allow_anaphora=False) if subj is not None else None
    return code


def _production_parties(
    x: State, r: _Roles, token: Token, chain: list[Token], agent: Token | None
) -> None:
    """The parties of the clause: its subject and whoever it works "with"."""
    resolve = x.index.resolve
    subj = _subject(token, chain)
    top = subj.head if subj is not None else (chain[-1] if chain else token)
    upto = [token, *chain[: chain.index(top) + 1]] if top in chain else [token, *chain]
    subject_codes = {c for s in _conjuncts(subj) if (c := resolve(s))}
    partners = {c for node in upto for p in _preps([node], ("with",))
                if (c := resolve(p, allow_anaphora=False))}  # fmt: skip
    located = bool(r.recipients)  # where the production is: "a factory in Morocco"
    if (
        on("production.subject_recipient")
        and not r.recipients
        and len(subject_codes - r.codes("supplier")) == 1
    ):
        r.add("recipient", subject_codes - r.codes("supplier"), "syntax")
    named = {c for s in _conjuncts(subj) if (c := resolve(s, allow_anaphora=False))}
    foreign = named - r.codes("recipient")
    if (
        on("production.foreign_maker")
        and not r.suppliers
        and located
        and agent is None
        and len(foreign) == 1
    ):
        # A foreign maker builds in the recipient's country: "Israeli drone maker
        # BlueBird will build a factory in Morocco", "Baykar is building a plant in Ukraine".
        r.add("supplier", foreign, "syntax")
    if on("production.partner") and not r.suppliers and r.recipients:
        # The subject makes the weapons; a second party is a supplier only when it is
        # conjoined ("Russia and Iran are considering...") or a partner ("with Iran").
        joint = subject_codes if len(subject_codes) > 1 else set()
        others = (joint | partners) - r.codes("recipient")
        prior = x.class_origins.get(r.theme[0].info.system_class) if r.theme else None
        if len(others) == 1:
            r.add("supplier", others, "syntax")
        elif prior in others:
            r.add("supplier", [prior], "catalogue")


def _deal_roles(x: State, token: Token, chain: list[Token]) -> _Roles:
    r = _Roles()
    if any(c.dep_ == "acl" and c.pos_ == "VERB" and c.lemma_.lower() not in
           ("cover", "include", "involve") for c in token.children):  # fmt: skip
        return r  # "a deal to buy drones": the verb's own frame says who is who
    parties: list[str] = []
    owner = _owner(x, token)
    if owner:
        parties.append(owner)
    for node in chain[:2]:
        parties.extend(c for s in _conjuncts(_subject(node, [])) if (c := x.index.resolve(s)))
    verb = next((n for n in chain[:4] if n.pos_ in ("VERB", "AUX")), None)
    if not parties and verb is not None and verb.lemma_.lower() not in W.reporting:
        # "Indonesia is in advanced negotiations for a deal for BrahMos": the clause's
        # subject is a party of the deal it is negotiating.
        parties.extend(c for s in _conjuncts(_subject(verb, [])) if (c := x.index.resolve(s)))
    for obj in _preps([token, *chain[:2]], ("with", "between")):
        parties.extend(
            c for s in _conjuncts(obj) if (c := x.index.resolve(s, allow_anaphora=False))
        )
    # ("contracts worth 700 million euros for PULS systems": the "for" under the price)
    heads = _preps([*_np_tokens(token), *chain[:1]], ("for", "of", "on", "covering", "including"))
    # "a contract ... covering 60 TB3 drones" (the participle parsed as a clause).
    # (or hung on the other party: "a contract with Thailand's air force covering ...").
    holders = [token, *_preps([token], ("with",))]
    # "a deal with Turkish missile maker Roketsan for Atmaca missiles".
    heads += _preps(holders[1:], ("for",))
    heads += [o for h in holders for c in h.children
              if c.dep_ == "acl" and c.lemma_.lower() in ("cover", "include", "involve")
              for o in c.children if o.dep_ == "dobj"]  # fmt: skip
    theme = x.index.weapons_in(t for h in heads for t in h.subtree)
    theme = theme or x.index.weapons_in(c for c in token.children if c.dep_ in ("compound", "amod"))
    distinct = list(dict.fromkeys(parties))
    if not theme or len(distinct) not in (1, 2):
        return r
    origins = {o for w in theme for o, _ in _origins(x, w, exclude=None)}
    if len(distinct) == 1:
        if not on("deal.one_party_origin"):
            return r
        # "Kuwait signed a contract for Bayraktar TB2s": one party, the buyer, when the
        # weapons are known to come from one other state.
        if len(origins) == 1 and distinct[0] not in origins:
            r.theme = theme
            r.add("recipient", distinct, "syntax")
            r.add("supplier", sorted(origins), "origin")
        return r
    r.theme = theme
    makers = [p for p in distinct if p in origins]
    if on("deal.maker_and_buyer") and len(makers) == 1:
        r.add("supplier", makers, "syntax")
        r.add("recipient", [p for p in distinct if p != makers[0]], "syntax")
    return r
