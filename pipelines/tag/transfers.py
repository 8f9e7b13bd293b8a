"""Transfer extraction: who supplies what to whom, from the dependency parse.

Doc + DocIndex
  -> frames       trigger words (lexicon/triggers.yaml): supply, acquire, use, want,
                  offer, produce, deal, interdict; status from the words governing the
                  trigger (tense, modality, "agreed to", "plans to", "interested in")
  -> roles        suppliers and recipients from syntax first (subject, agent, "to",
                  "from", "with", "X's"), then per weapon its origin ("Iranian-made",
                  "Uvision's", a designation's maker), then light co-reference and the
                  story's focus; every list is expanded over conjuncts
  -> shapes       sentences without a trigger verb: "Saudi-operated Wing Loong",
                  "a vessel heading from Iran to Houthi-held ports", "X has been a key
                  weapon for Russia", "It also includes air defence systems"
  -> denials      a named party denies the transfer (same sentence, "the accusations"
                  just after, or "denied that X transferred...")
  -> merged       one Transfer per (supplier, recipient, class, kind) with evidence
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from itertools import takewhile

from spacy.tokens import Span, Token

from ..record import Evidence, Status, SystemClass, Transfer
from .actors import PRONOUNS, DocIndex, WeaponMention
from .rules.words import load_words
from .triggers import Triggers

# The word sets (lexicon/rules.yaml), loaded and checked once.
W = load_words()

# Dependency relations along which the words governing a trigger are collected.
_CLIMB = frozenset({"xcomp", "ccomp", "pcomp", "prep", "pobj", "acomp", "advcl", "acl", "conj",
                    "dobj", "attr", "oprd", "relcl", "advmod", "amod", "compound"})  # fmt: skip
_STATUS_ORDER: dict[Status, int] = {"sought": 0, "agreed": 1, "delivered": 2, "production": 3}
_CONFIDENCE = {"syntax": 0.8, "origin": 0.72, "coref": 0.65, "catalogue": 0.6, "discourse": 0.55,
               "fallback": 0.5, "focus": 0.45}  # fmt: skip
_MAX_EVIDENCE = 3


# (supplier, recipient, class or None for any class) of a denied transfer.
_Denied = tuple[str, str, str | None]


@dataclass(frozen=True)
class Candidate:
    supplier: str
    recipient: str
    system_class: SystemClass
    systems: tuple[str, ...]
    status: Status
    confidence: float
    sent: Span
    denied: bool = False
    # Was the supplier named as one (not inferred from where the weapon was made)?
    named: bool = True
    # With a named supplier: the makers the text gives for the same weapons ("the UAE
    # supplied Chinese-made drones"), who are then not suppliers of them too.
    makers: frozenset[str] = frozenset()
    # The parties to the transfer who deny it, when the denial names them, and those who
    # confirm it ("Iran admitted it had sent drones to Russia").
    denied_by: frozenset[str] = frozenset()
    confirmed_by: frozenset[str] = frozenset()


@dataclass
class _Roles:
    suppliers: list[tuple[str, str]] = field(default_factory=list)  # (code, basis)
    recipients: list[tuple[str, str]] = field(default_factory=list)
    theme: list[WeaponMention] = field(default_factory=list)
    # For "a missile used by Russia" with no maker named: the one other state of the sentence.
    fallback_supplier: str | None = None
    # "Roketsan handed the first batteries to the Turkish Air Force": delivered at home, so
    # no other recipient is to be guessed.
    domestic: bool = False

    def add(self, side: str, codes: Iterable[str | None], basis: str) -> None:
        target = self.suppliers if side == "supplier" else self.recipients
        for code in codes:
            if code and all(code != c for c, _ in target):
                target.append((code, basis))

    def codes(self, side: str) -> frozenset[str]:
        return frozenset(c for c, _ in (self.suppliers if side == "supplier" else self.recipients))


class Extractor:
    """Finds transfer candidates in one Doc and merges them into Transfers."""

    def __init__(self, index: DocIndex, triggers: Triggers):
        self.index = index
        self.t = triggers
        self.doc = index.doc
        self._mentioned = {a.code for a in index.actors if a.code}
        self._class_origins = self._story_origins()
        self._last: list[Candidate] = []

    # --- driving ----------------------------------------------------------------------

    def run(self) -> list[Transfer]:
        candidates: list[Candidate] = []
        for sent in self.index.sentences:
            found = self._sentence(sent, self._last)
            candidates.extend(found)
            if found:
                self._last = found
        candidates = _without_makers_of_brokered(candidates)
        denied = self._denials(candidates)
        confirmed = self._confirmations()
        return merge(_confirmed(_with_denials(c, denied), confirmed) for c in candidates)

    def _sentence(self, sent: Span, previous: list[Candidate]) -> list[Candidate]:
        out: list[Candidate] = []
        for token in sent:
            frame = self._frame(token)
            if frame is not None:
                out.extend(self._candidates(token, frame, sent))
        out.extend(self._possession(sent))
        out.extend(self._route(sent))
        out.extend(self._arrivals(sent))
        if not out:
            out.extend(self._copular(sent))
        if not out and previous:
            out.extend(self._continuation(sent, previous))
        return out

    # --- frames -----------------------------------------------------------------------

    def _frame(self, token: Token) -> str | None:
        lemma = token.lemma_.lower()
        pos = token.pos_
        if pos == "PROPN":
            # "a Foreign Military Sale": capitalised, still a noun trigger.
            if token.ent_type_ in ("GPE", "NORP", "PERSON", "LOC"):
                return None
            pos = "NOUN"
        frame = self.t.frame_of(lemma, pos)
        if frame is None and pos == "ADJ" and token.tag_ == "VBN":
            frame = self.t.frame_of(lemma, "VERB")
        if (
            frame is None
            and lemma in ("put", "bring", "enter")
            and any(p.lemma_.lower() == "service" for p in _preps([token], ("in", "into")))
        ):
            frame = "use"  # "has put Bayraktar TB2s into service"
        if (
            frame is None
            and lemma == "show"
            and any(c.dep_ == "prt" and c.lower_ == "off" for c in token.children)
        ):
            frame = "use"  # "the army showed off Chinese-built CH-92A drones", like "displayed"
        if (
            frame is None
            and lemma in ("turn", "churn")
            and any(c.dep_ == "prt" and c.lower_ == "out" for c in token.children)
        ):
            frame = "produce"  # "a factory turning out Ababil-2 drones"
        if frame is None:
            return None
        if lemma == "take" and not any(
            c.lemma_ == "delivery" or (c.dep_ == "prt" and c.lower_ in ("over", "on"))
            for c in token.children
        ):
            return None  # "took delivery of", "took over 24 F-16s from Denmark"; not "took Kyiv"
        if lemma in ("lease", "rent", "charter", "hire") and _preps([token], ("from",)):
            return "acquire"  # "Germany leases Heron drones from IAI": the lessee receives
        objects = [token, *(c for c in token.children if c.dep_ == "dobj")]
        if lemma == "fly" and any(self.index.resolve(o, allow_anaphora=False)
                                  for o in _preps(objects, ("to",))):  # fmt: skip
            return "supply"  # "the UAE flew weapons, including drones, to the RSF"
        if lemma == "build" and any(c.dep_ == "prt" and c.lower_ == "up" for c in token.children):
            # "Hezbollah has built up an arsenal of Iranian missiles": amassed, not produced.
            return "acquire" if self._weapons_under(token) else None
        if lemma in ("get", "make", "build", "pass", "move", "source", "construct", "have") and (
            not self._weapons_under(token)
        ):
            return None
        if (
            pos == "NOUN"
            and frame not in ("deal", "produce")
            and token.dep_ in ("dobj", "nsubjpass")
        ):
            verb = self.t.frame_of(token.head.lemma_.lower(), token.head.pos_)
            if verb in ("supply", "acquire", "use", "offer"):
                return None  # "received shipments of missiles": the verb says who is who
            if frame == "supply" and token.head.lemma_.lower() in ("await", "expect", "welcome"):
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

    def _weapons_under(self, token: Token) -> list[WeaponMention]:
        return self.index.weapons_in(
            t
            for c in token.children
            if c.dep_ in ("dobj", "nsubjpass", "attr", "pobj", "prep")
            for t in c.subtree
        )

    def _governors(self, token: Token) -> list[Token]:
        chain: list[Token] = []
        current = token
        # "The sale of NASAMS to Taiwan was approved": a noun trigger's passive verb governs it.
        passive_noun = (
            token.pos_ in ("NOUN", "PROPN")
            and token.dep_ == "nsubjpass"
            and token.head.lemma_.lower() in self.t.agreed | self.t.signing
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

    def _status(self, token: Token, frame: str, chain: list[Token]) -> tuple[Status | None, bool]:
        """(status, denied): None when the words around the trigger rule a transfer out."""
        if frame == "produce":
            helped = any(n.lemma_.lower() in self.t.help_verbs for n in chain)
            # "Russia's own production" is domestic, unless someone "helped Russia build its own".
            return ("production", False) if helped or not _own(token) else (None, False)
        nodes = [token, *chain]
        for below, node in zip([None, *nodes], nodes, strict=False):
            lemma = node.lemma_.lower()
            if lemma in W.reporting and node is not token:
                break
            # "has not bought X and relies on Y": the first verb's "not" is not the second's.
            own_clause = not (below is not None and below.dep_ == "conj" and below.pos_ == "VERB")
            negated = own_clause and any(c.dep_ == "neg" or (c.dep_ == "det" and c.lower_ == "no")
                                         for c in node.children)  # fmt: skip
            if negated or lemma in self.t.negating:
                return None, lemma in self.t.denial_verbs
        if frame in ("want", "offer") or token.sent.text.rstrip().endswith("?"):
            # (A question asserts nothing: "How likely is it that Bolivia will acquire them?")
            return "sought", False
        for node in nodes:
            lemma = node.lemma_.lower()
            if lemma in W.reporting and node is not token:
                break
            auxes = {c.lower_ for c in node.children if c.dep_ in ("aux", "auxpass", "mark")}
            # "Saudi Arabia is in talks with Turkey to buy": the talks, beside the verb.
            beside = node is not token and any(
                o.pos_ == "NOUN" and o.lemma_.lower() in self.t.sought  # not "in May"
                for o in _preps([node], ("in",))
            )
            if (
                auxes & {"could", "may", "might", "if", "whether"}
                or beside
                or (node is not token and lemma in self.t.sought)
            ):
                return "sought", False
            if (
                node is not token
                and node.pos_ in ("NOUN", "PROPN")
                and lemma in self.t.nouns.get("deal", ())
            ):
                return ("agreed" if self._signed(node) else "sought"), False
            # "has yet to receive the missiles promised": promised, not there yet.
            not_yet = node is not token and any(
                c.dep_ == "advmod" and c.lower_ == "yet" for c in node.children
            )
            if (
                auxes & {"will", "would", "shall", "'ll"}
                or not_yet
                or (node is not token and lemma in self.t.agreed)
            ):
                return "agreed", False
        if frame == "deal":
            return ("agreed" if self._signed(token) else "sought"), False
        if token.lemma_.lower() in W.deal_like and token.pos_ in ("NOUN", "PROPN"):
            # "an order for", "the sale of F-16s to Turkey": a deal, not yet a delivery.
            return "agreed", False
        if token.lemma_.lower() == "order" and token.pos_ == "VERB":
            return "agreed", False  # "Jakarta has ordered 42 Rafale fighters": not yet there
        return "delivered", False

    def _signed(self, deal: Token) -> bool:
        if deal.lemma_.lower() in ("contract", "order"):
            return True
        for node in (deal, *self._governors(deal)[:3]):
            # ("close to a deal" is not "closed a deal")
            if (node.lemma_.lower() in self.t.signing and node.pos_ == "VERB") or any(
                c.lemma_.lower() in self.t.signing
                for c in node.children
                if c.dep_ in ("amod", "acl")
            ):
                return True
        return False

    # --- roles ------------------------------------------------------------------------

    def _candidates(self, token: Token, frame: str, sent: Span) -> list[Candidate]:
        chain = self._governors(token)
        status, denied = self._status(token, frame, chain)
        if status is None and not denied:
            return []
        if frame == "produce":
            roles = self._production_roles(token, chain, sent)
        elif frame == "deal":
            roles = self._deal_roles(token, chain)
        else:
            roles = self._roles(token, frame, chain, sent)
        if not roles.theme:
            return []
        if status is None:  # "Tehran denied supplying drones": reported, and denied
            # The status the denied clause itself has: "denied negotiating the sale" is sought.
            below = list(takewhile(lambda n: n.lemma_.lower() not in self.t.denial_verbs, chain))
            status = self._status(token, frame, below)[0] or "delivered"
        if frame == "supply" and self._know_how(token):
            status = "production"  # "transferred designs and know-how for the drone"
        paired = (
            self._paired_in_order(token, frame, roles) if frame in ("acquire", "supply") else []
        )
        if paired:
            found = [c for r in paired for c in self._emit(r, status, sent, denied)]
        else:
            found = self._emit(roles, status, sent, denied, fallback=frame in ("supply", "offer"))
        if frame in ("acquire", "supply"):
            found += self._second_pairs(token, frame, roles, status, sent, denied)
        if not found and frame == "produce" and roles.suppliers and not roles.recipients:
            # "After shipping drones to Russia, Iran agreed to help build a factory".
            suppliers = roles.codes("supplier")
            previous = [c.recipient for c in self._last if c.supplier in suppliers]
            if previous:
                roles.add("recipient", previous[-1:], "discourse")
                found = self._emit(roles, status, sent, denied)
        if found:
            self._last = found
        return found

    def _roles(self, token: Token, frame: str, chain: list[Token], sent: Span) -> _Roles:
        r = _Roles()
        noun = token.pos_ in ("NOUN", "PROPN")
        subject_side = "supplier" if frame in ("supply", "offer") else "recipient"
        theme_tok = self._theme_token(token)
        resolve = self.index.resolve

        # "a battalion equipped with SPYDER systems", "forces were armed with drones": the
        # equipped noun is the recipient; the supplier is the agent or the weapons' maker.
        holder = None
        if frame == "supply" and token.lemma_.lower() in W.equip and token.tag_ == "VBN":
            holder = token.head if token.dep_ in ("acl", "amod") else _child(token, "nsubjpass")
        agent = _agent(token)
        if holder is not None:
            owner = resolve(holder)
            if owner is None and holder.dep_ == "dobj":
                # "the army activated a battalion equipped with": the battalion is the army's.
                subj = _subject(holder.head, [])
                owner = resolve(subj) if subj is not None else None
            r.add("recipient", [owner], "syntax")
            theme_tok = next(iter(_preps([token], ("with",))), theme_tok)
            if agent is not None:
                r.add("supplier", (resolve(a) for a in _conjuncts(agent)), "syntax")
        elif (reduced := self._reduced_relative(token, frame)) is not None:
            # "The army deployed TB2 drones acquired from Turkey", parsed as if the drones
            # acquired something: the drones are the theme, the army the recipient.
            theme_tok, holder_subject = reduced
            r.add("recipient", [resolve(holder_subject)], "syntax")
            if agent is not None:
                r.add("supplier", (resolve(a) for a in _conjuncts(agent)), "syntax")
        elif agent is not None:
            r.add(subject_side, (resolve(a) for a in _conjuncts(agent)), "syntax")
        elif noun:
            r.add(subject_side, [self._owner(token)], "syntax")
            if _foreign_military_sale(token):
                # The US programme by that name: the seller is the United States.
                r.add("supplier", ["US"], "syntax")
            if frame == "supply" and token.head.dep_ == "agent" and token.head.head.dep_ == "acl":
                # "Its air force, bolstered by the delivery of Su-30 fighters from Russia":
                # what the deliveries bolster is what received them.
                r.add("recipient", [resolve(token.head.head.head)], "syntax")
            if not r.codes(subject_side):
                # "The US approved the sale of F-16s", "Iran finalised the purchase of":
                # the subject of the verb the noun hangs from.
                # ("Dhaka is in talks with Beijing over the purchase of": the copula's subject)
                for n, node in enumerate(chain[:4]):
                    if node.pos_ == "VERB" or (
                        node.pos_ == "AUX" and _child(node, "nsubj") is not None
                    ):
                        blamed = next((d for p in chain[:n] if p.lower_ in ("for", "over")
                                       and (d := _doer_above(p)) is not None), None)  # fmt: skip
                        if blamed is not None:
                            # "sanctioned North Korean officials over the transfer of missiles",
                            # "thanked Turkey for the delivery of drones": they did it.
                            r.add(subject_side, [resolve(blamed)], "syntax")
                            break
                        # "The sale of NASAMS to Taiwan was approved by the United States".
                        subj = _subject(node, []) or _agent(node)
                        if subj is not None and node.lemma_.lower() not in W.reporting:
                            r.add(subject_side, [resolve(subj)], "coref")
                        break
        elif not (
            token.tag_ == "VBN"
            and token.dep_ in ("acl", "amod")
            and not any(c.dep_ == "nsubj" for c in token.children)  # "reports that X had sent"
        ):
            # (A participle, "missiles delivered to Kyiv", takes no subject from above.)
            subj = _subject(token, chain)
            if frame == "use" and subj is not None and _both_sides(subj):
                return _Roles()  # "both sides fired missiles": a war, not a transfer
            if subj is not None and not self._weapon_subject(token, subj):
                basis = "syntax" if self.index.actor_at(subj.i) else "coref"
                r.add(subject_side, (resolve(s) for s in _conjuncts(subj)), basis)
        if not r.codes(subject_side) and holder is None:
            # "An Iranian deal to supply Bolivia": the deal's owner does the supplying.
            for node in chain:
                if node.pos_ in ("NOUN", "PROPN"):
                    r.add(subject_side, [self._owner(node)], "syntax")
                    break

        heads = [token, *([theme_tok] if theme_tok is not None else [])]
        if noun:
            # "approved $20 billion in weapons sales to Israel": the verb holds the "to".
            for node in chain:
                heads.append(node)
                if node.pos_ == "VERB":
                    break
        if frame == "supply" and any(
            self._target(obj) for obj in _preps(heads, ("at", "against", "into"))
        ):
            return _Roles()  # "sends hundreds of drones at our cities": an attack
        if subject_side == "supplier":
            suppliers = r.codes("supplier")
            for obj in _preps(heads, W.recipient_preps):
                r.add("recipient", [resolve(obj, exclude=suppliers)], "syntax")
                r.domestic |= resolve(obj, allow_anaphora=False) in suppliers
            for child in token.children:
                if child.dep_ in ("dative", "iobj"):
                    r.add("recipient", (resolve(c) for c in _conjuncts(child)), "syntax")
            dobj = _child(token, "dobj")
            if dobj is not None and not r.recipients:
                # "armed the Houthis with missiles", "supplied the military with jets".
                code = resolve(dobj, allow_anaphora=self._actorish(dobj))
                if code and not self.index.weapons_in(_np_tokens(dobj)):
                    r.add("recipient", [code], "syntax")
                    theme_tok = next(iter(_preps([token], ("with",))), None)
            # "components supplied from Iran": a source is the supplier too.
            for obj in _preps(heads, ("from",)):
                r.add("supplier", [resolve(obj, allow_anaphora=False)], "syntax")
            weapon = token.head
            if not r.recipients and token.dep_ == "acl" and weapon.dep_ == "dobj":
                # "The RSF has been using Chinese-made drones supplied by the UAE": who uses
                # (or buys, or fires) the weapons received them.
                user = _subject(weapon.head, [])
                if user is not None and self.t.frame_of(weapon.head.lemma_.lower(), "VERB") in (
                    "use",
                    "acquire",
                ):
                    r.add("recipient", [resolve(user, exclude=r.codes("supplier"))], "syntax")
        else:
            for node in [*heads, *chain[:3]]:
                if frame == "use" and (node is not theme_tok or token.lemma_.lower() in W.launch):
                    continue  # "fired missiles from Belarus", "operated from Mogadishu": a place
                for obj in _preps([node], ("from",)):
                    r.add("supplier", [resolve(obj, exclude=r.codes("recipient"))], "syntax")
                if node is token and token.lemma_.lower() in W.buying:
                    # "drones bought in the United States": where they were bought.
                    for obj in _preps([node], ("in",)):
                        code = resolve(obj, allow_anaphora=False, exclude=r.codes("recipient"))
                        mention = self.index.actor_at(obj.i)
                        if code and mention is not None and mention.kind == "state":
                            r.add("supplier", [code], "syntax")
                # "in talks with Turkey", but not "with US acquiescence".
                for obj in _preps([node], ("with",)):
                    if self.index.actor_at(obj.i):
                        r.add("supplier", [resolve(obj)], "syntax")
            if frame == "acquire" and not r.suppliers:
                # "signed a memorandum of understanding with South Korea on the purchase of":
                # the partner of the deal the purchase hangs from.
                deals = [
                    d
                    for v in chain[:3]
                    if v.pos_ == "VERB"
                    for d in v.children
                    if d.dep_ == "dobj" and d.lemma_.lower() in self.t.nouns.get("deal", ())
                ]
                for obj in _preps([t for d in deals for t in d.subtree], ("with",)):
                    if self.index.actor_at(obj.i):
                        r.add("supplier", [resolve(obj, exclude=r.codes("recipient"))], "syntax")

        r.theme = self._theme(token, theme_tok, sent)
        if not r.theme and noun and frame == "supply":
            # "a sale to the Government of Chile of F-16 jets": the "of" the parser hung on
            # the buyer's name is the sale's.
            inner = [t for obj in _preps(heads, W.recipient_preps) for t in obj.subtree]
            r.theme = [w for o in _preps(inner, ("of",)) for w in self.index.weapons_in(o.subtree)]
        if (
            not r.theme
            and theme_tok is None
            and token.pos_ == "VERB"
            and frame == "acquire"
            and _child(token, "dobj") is None
            and r.suppliers
        ):
            # "The drones were TB2s, and Kenya had become one of a dozen states to buy from
            # Baykar": a buyer with a seller and no object of its own buys what was just named.
            # (Not a seller: "We sell to Americans, Spaniards" is too often something else.)
            r.theme = _last_named(self._named_before(token, sent))
        if (
            frame in ("supply", "offer")
            and r.suppliers
            and all(b == "coref" for _, b in r.suppliers)
        ):
            # "We have supplied Storm Shadow to Ukraine": a supplier found only by co-reference
            # gives way to the one maker of every weapon named, when the story names it.
            makers = {w.info.origin for w in r.theme if not w.info.generic}
            maker = next(iter(makers)) if len(makers) == 1 and r.theme else None
            if (
                maker
                and maker in self._mentioned
                and maker not in r.codes("supplier") | r.codes("recipient")
                and all(not w.info.generic for w in r.theme)
            ):
                r.suppliers = [(maker, "catalogue")]
        if frame == "use" and not r.suppliers:
            # "missiles used by the Houthis were built with components supplied from Iran".
            sources = [c for t in sent if self.t.frame_of(t.lemma_.lower(), t.pos_) == "supply"
                       for p in [*_preps([t], ("from",)), *filter(None, [_agent(t)])]
                       if (c := resolve(p, allow_anaphora=False))
                       and c not in r.codes("recipient")]  # fmt: skip
            if sources:
                r.fallback_supplier = sources[0]
            elif token.lemma_.lower() in W.strong_use:
                r.fallback_supplier = self._other_state(sent, r.codes("recipient"), maker=True)
        return r

    def _paired_in_order(self, token: Token, frame: str, roles: _Roles) -> list[_Roles]:
        """ "sold Su-25 jets to Sudan and Tor-M2 systems to Myanmar": with two or more parties
        on the verb, each weapon goes with the party named right after it, whatever the
        parser made of the list."""
        party_prep, keep = _sides(frame)
        preps = [c for c in token.children
                 if c.dep_ in ("prep", "dative") and c.lower_ in party_prep]  # fmt: skip
        parties = [(p, self.index.resolve(o, allow_anaphora=False))
                   for p in preps for o in p.children if o.dep_ == "pobj"]  # fmt: skip
        parties = [(p, code) for p, code in parties if code]
        if len(parties) < 2 or not roles.codes(keep):
            return []
        out: list[_Roles] = []
        start = token.i
        for prep, code in parties:
            theme = [w for w in self.index.weapons if start < w.start < prep.i]
            start = prep.i
            if not theme:
                return []  # "sold drones to Sudan and Chad": one theme, several parties
            out.append(_paired_roles(roles, keep, theme, [code]))
        return out

    def _second_pairs(self, token: Token, frame: str, roles: _Roles, status: Status,
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
            theme = [w for w in self.index.weapons_in(_np_tokens(t)) if w not in roles.theme]
            parties = [self.index.resolve(p, allow_anaphora=False)
                       for p in _preps([t], party_prep)]  # fmt: skip
            if not theme or not any(parties):
                continue
            out.extend(self._emit(_paired_roles(roles, keep, theme, parties), status, sent, denied))
        return out

    def _reduced_relative(self, token: Token, frame: str) -> tuple[Token, Token] | None:
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
            or not self.index.weapons_in(_np_tokens(subj))
        ):
            return None
        holder = _subject(main, [])
        return (subj, holder) if holder is not None else None

    def _target(self, token: Token) -> bool:
        """Something a weapon is sent at: a party, a place, people ("at our cities", "into
        Ukraine"), not "at an estimated cost" or "at a ceremony"."""
        return bool(self.index.resolve(token, allow_anaphora=False)) or (
            token.lemma_.lower() in W.targets
        )

    def _actorish(self, token: Token) -> bool:
        return token.lemma_.lower() in W.actorish or token.lower_ in PRONOUNS

    def _know_how(self, token: Token) -> bool:
        theme = self._theme_token(token)
        if theme is None:
            return False
        return any(t.lower_ in W.know_how for t in _conjuncts(theme))

    def _production_roles(self, token: Token, chain: list[Token], sent: Span) -> _Roles:
        r = _Roles()
        resolve = self.index.resolve
        # The verbs right above the trigger, stopping at the first clause of another topic.
        near: list[Token] = [token]
        for node in chain:
            near.append(node)
            if node.pos_ == "VERB":
                break
        agent = _agent(token)
        if agent is not None:  # "produced by Adani", "assembled by CAVIM": the producer
            r.add("recipient", [resolve(agent, allow_anaphora=False)], "syntax")
        # Where: "a plant in Russia", "on its territory", "drones built in Venezuela".
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
            and (self.t.frame_of(subject.lemma_.lower(), "NOUN") == "produce")
        ):
            # "A factory in Dushanbe built with Iran's help produces Ababil-2 drones".
            for obj in _preps([subject], W.location_preps):
                r.add("recipient", [resolve(obj, allow_anaphora=False)], "syntax")
        # Who helps: "Iran is helping Russia build", "with Iran's help", "help from Iran".
        for n, node in enumerate(chain):
            if node.lemma_.lower() in self.t.help_verbs:
                subj = _subject(node, chain[n + 1 :])
                if subj is not None:
                    r.add("supplier", [resolve(subj)], "syntax")
                helped = _child(node, "dobj")
                if helped is not None:
                    r.add("recipient", [resolve(helped, exclude=r.codes("supplier"))], "syntax")
        if not r.suppliers:
            for t in sent:
                if t.lemma_.lower() in self.t.help_nouns and t.pos_ == "NOUN":
                    code = self._owner(t) or next(
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
                    if code and code not in r.codes("recipient"):
                        r.add("supplier", [code], "syntax")
                        break
        r.theme = self._theme(token, None, sent, production=True)
        if not r.theme and any(n.lemma_.lower() in self.t.help_verbs for n in chain):
            # "Iran supplied Shahed drones and helped Russia build a factory": those drones.
            before = [w for w in self.index.weapons if sent.start <= w.start < token.i]
            r.theme = before[-1:]
        # The parties of the clause: its subject and whoever it works "with".
        subj = _subject(token, chain)
        top = subj.head if subj is not None else (chain[-1] if chain else token)
        upto = [token, *chain[: chain.index(top) + 1]] if top in chain else [token, *chain]
        subject_codes = {c for s in _conjuncts(subj) if (c := resolve(s))}
        partners = {c for node in upto for p in _preps([node], ("with",))
                    if (c := resolve(p, allow_anaphora=False))}  # fmt: skip
        located = bool(r.recipients)  # where the production is: "a factory in Morocco"
        if not r.recipients and len(subject_codes - r.codes("supplier")) == 1:
            r.add("recipient", subject_codes - r.codes("supplier"), "syntax")
        named = {c for s in _conjuncts(subj) if (c := resolve(s, allow_anaphora=False))}
        foreign = named - r.codes("recipient")
        if not r.suppliers and located and agent is None and len(foreign) == 1:
            # A foreign maker builds in the recipient's country: "Israeli drone maker
            # BlueBird will build a factory in Morocco", "Baykar is building a plant in Ukraine".
            r.add("supplier", foreign, "syntax")
        if not r.suppliers and r.recipients:
            # The subject makes the weapons; a second party is a supplier only when it is
            # conjoined ("Russia and Iran are considering...") or a partner ("with Iran").
            joint = subject_codes if len(subject_codes) > 1 else set()
            others = (joint | partners) - r.codes("recipient")
            prior = self._class_origins.get(r.theme[0].info.system_class) if r.theme else None
            if len(others) == 1:
                r.add("supplier", others, "syntax")
            elif prior in others:
                r.add("supplier", [prior], "catalogue")
        return r

    def _deal_roles(self, token: Token, chain: list[Token]) -> _Roles:
        r = _Roles()
        if any(c.dep_ == "acl" and c.pos_ == "VERB" and c.lemma_.lower() not in
               ("cover", "include", "involve") for c in token.children):  # fmt: skip
            return r  # "a deal to buy drones": the verb's own frame says who is who
        parties: list[str] = []
        owner = self._owner(token)
        if owner:
            parties.append(owner)
        for node in chain[:2]:
            parties.extend(
                c for s in _conjuncts(_subject(node, [])) if (c := self.index.resolve(s))
            )
        verb = next((n for n in chain[:4] if n.pos_ in ("VERB", "AUX")), None)
        if not parties and verb is not None and verb.lemma_.lower() not in W.reporting:
            # "Indonesia is in advanced negotiations for a deal for BrahMos": the clause's
            # subject is a party of the deal it is negotiating.
            parties.extend(
                c for s in _conjuncts(_subject(verb, [])) if (c := self.index.resolve(s))
            )
        for obj in _preps([token, *chain[:2]], ("with", "between")):
            parties.extend(
                c for s in _conjuncts(obj) if (c := self.index.resolve(s, allow_anaphora=False))
            )
        # ("contracts worth 700 million euros for PULS systems": the "for" under the price)
        heads = _preps(
            [*_np_tokens(token), *chain[:1]], ("for", "of", "on", "covering", "including")
        )
        # "a contract ... covering 60 TB3 drones" (the participle parsed as a clause).
        # (or hung on the other party: "a contract with Thailand's air force covering ...").
        holders = [token, *_preps([token], ("with",))]
        # "a deal with Turkish missile maker Roketsan for Atmaca missiles".
        heads += _preps(holders[1:], ("for",))
        heads += [o for h in holders for c in h.children
                  if c.dep_ == "acl" and c.lemma_.lower() in ("cover", "include", "involve")
                  for o in c.children if o.dep_ == "dobj"]  # fmt: skip
        theme = self.index.weapons_in(t for h in heads for t in h.subtree)
        theme = theme or self.index.weapons_in(
            c for c in token.children if c.dep_ in ("compound", "amod")
        )
        distinct = list(dict.fromkeys(parties))
        if not theme or len(distinct) not in (1, 2):
            return r
        origins = {o for w in theme for o, _ in self._origins(w, exclude=None)}
        if len(distinct) == 1:
            # "Kuwait signed a contract for Bayraktar TB2s": one party, the buyer, when the
            # weapons are known to come from one other state.
            if len(origins) == 1 and distinct[0] not in origins:
                r.theme = theme
                r.add("recipient", distinct, "syntax")
                r.add("supplier", sorted(origins), "origin")
            return r
        r.theme = theme
        makers = [p for p in distinct if p in origins]
        if len(makers) == 1:
            r.add("supplier", makers, "syntax")
            r.add("recipient", [p for p in distinct if p != makers[0]], "syntax")
        return r

    # --- themes and origins -----------------------------------------------------------

    def _theme_token(self, token: Token) -> Token | None:
        if token.dep_ in ("acl", "relcl") and self._is_weaponish(token.head):
            return token.head
        if token.dep_ in ("amod", "compound") and token.tag_ == "VBN":
            # "Turkish-supplied Bayraktar TB2 drones": the noun the participle describes.
            noun = token.head
            while noun.dep_ == "compound" and noun.head != noun:
                noun = noun.head
            if self._is_weaponish(noun):
                return noun
        passive = any(c.dep_ == "auxpass" for c in token.children)
        objects = [
            _relative_antecedent(c) or c
            for c in token.children
            if c.dep_ in ("dobj", "nsubjpass", "attr", "dep", "oprd")
            # "missiles which they said had been supplied": a passive subject the parser
            # labelled active
            or (passive and c.dep_ == "nsubj" and c.lower_ in ("which", "that"))
        ]
        # The small model often splits "Chinese CH-4 drones" into several objects: prefer
        # the one that names a weapon.
        for child in objects:
            if self.index.weapons_in(_np_tokens(child)):
                return child
        if objects:
            return objects[0]
        subj = _child(token, "nsubj")
        if subj is not None and self._weapon_subject(token, subj):
            return subj
        for obj in _preps([token], ("of", "in", "for", "on", "with", "over", "about")):
            if self._is_weaponish(obj):
                return obj
        return None

    def _weapon_subject(self, token: Token, subj: Token) -> bool:
        """ "the TB2s delivered to Bangladesh continue to fly", parsed with `delivered` as the
        main verb: weapons do not supply or acquire, so a weapon subject of an object-less
        past form of those verbs is what was moved (a passive the parser missed)."""
        return (
            token.tag_ in ("VBD", "VBN")
            and not any(c.dep_ in ("dobj", "aux", "auxpass") for c in token.children)
            and self.t.frame_of(token.lemma_.lower(), "VERB") in ("supply", "acquire")
            and bool(self.index.weapons_in(_np_tokens(subj)))
        )

    def _is_weaponish(self, token: Token) -> bool:
        """The noun phrase itself names a weapon (not a clause hanging from it)."""
        return bool(self.index.weapons_in(_np_tokens(token))) or token.lower_ in W.generic_themes

    def _theme(self, token: Token, theme_tok: Token | None, sent: Span,
               production: bool = False) -> list[WeaponMention]:  # fmt: skip
        found: list[WeaponMention] = []
        if theme_tok is not None:
            found = self.index.weapons_in(_np_tokens(theme_tok))
            # "supplied L-39 jets": a designation the tagger took for punctuation, left hanging
            # from the verb right before the object.
            stray = [c for c in token.children if c.dep_ in ("punct", "dep", "nummod", "npadvmod")
                     and 0 < theme_tok.left_edge.i - c.i <= 2]  # fmt: skip
            found += [w for w in self.index.weapons_in(stray) if w not in found]
            for sibling in theme_tok.head.children:  # "Chinese CH-4 and CH-5 drones", split up
                if (
                    sibling != theme_tok
                    and sibling.dep_ in ("dobj", "dep")
                    and sibling.head == token
                ):
                    found += [
                        w for w in self.index.weapons_in(_np_tokens(sibling)) if w not in found
                    ]
            # "received CH-92A drones alongside Chinese air defence systems": a second theme.
            for obj in _preps([token, theme_tok], ("alongside",)):
                found += [w for w in self.index.weapons_in(_np_tokens(obj)) if w not in found]
        if not found and token.pos_ in ("NOUN", "PROPN"):
            found = self.index.weapons_in(_np_tokens(token))
        if not found and token.dep_ == "nsubj" and token.head.lemma_.lower() in W.containing:
            # "Germany's latest aid to Ukraine includes four IRIS-T systems".
            found = [w for c in token.head.children if c.dep_ == "dobj"
                     for w in self.index.weapons_in(c.subtree)]  # fmt: skip
        if not found and production:
            # "a plant that assembles missiles", "building drones": the trigger's own phrase.
            found = self.index.weapons_in(token.subtree)
            if not found and token.dep_ == "compound":
                found = self.index.weapons_in(token.head.subtree)
            verb = next((g for g in self._governors(token) if g.pos_ == "VERB"), None)
            if not found and verb is not None:
                # "set up an assembly line at the base for the Mohajer-2".
                subject = {t.i for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")
                           for t in c.subtree}  # fmt: skip
                found = self.index.weapons_in(t for t in verb.subtree if t.i not in subject)
        # "... three Patriot batteries, as well as HIMARS", "sales, including F-15 jets".
        list_heads = [token, *([theme_tok] if theme_tok is not None else [])]
        if token.pos_ in ("NOUN", "PROPN"):
            # "approved $20 billion in weapons sales to Israel, including F-15 jets".
            for node in self._governors(token):
                list_heads.append(node)
                if node.pos_ == "VERB":
                    break
        for obj in _preps(list_heads, (*W.list_preps, "with") if found or theme_tok is None
                          else W.list_preps):  # fmt: skip
            for w in self.index.weapons_in(obj.subtree):
                if w not in found:
                    found.append(w)
        if found:
            return found
        # Only a pronoun points back to a weapon named before ("hundreds of them").
        pronoun = theme_tok is not None and (
            any(t.lower_ in W.theme_pronouns for t in _np_tokens(theme_tok))
            # "interest in the system", "the type": a definite description of a weapon.
            or (theme_tok.lower_ in W.generic_themes
                and any(c.lower_ == "the" for c in theme_tok.children))
        )  # fmt: skip
        before = self._named_before(token, sent)
        if (
            not pronoun
            and theme_tok is not None
            and any(
                c.dep_ == "det" and c.lower_ in ("the", "these", "those")
                for c in theme_tok.children
            )
        ):
            # "F-16 fighter jets ... The jets were supplied by Denmark": the same head noun.
            lemma = theme_tok.lemma_.lower()
            same = [w for w in before if self.doc[w.end - 1].lemma_.lower() == lemma]
            return same[-1:]
        if not pronoun:
            return []
        # "Iranian-made missiles and cruise missile components ... these weapons".
        return _last_named(before)

    def _named_before(self, token: Token, sent: Span) -> list[WeaponMention]:
        """Weapons named from the previous sentence's start up to `token`."""
        start = self.index.sentence_start_before(sent.start, 1)
        return [w for w in self.index.weapons if start <= w.start < token.i]

    def _origins(self, w: WeaponMention, exclude: str | None) -> list[tuple[str, str]]:
        """Where one weapon comes from: "Iranian drones", "Uvision's Hero-120", "KN-23"."""
        head = self.doc[w.end - 1]
        while (
            head.dep_ in ("compound", "amod", "nmod")
            and head.head.i - head.i > 0
            and (head.head.i - w.end < 4)
        ):
            head = head.head
        tokens = [t for c in head.children if c.i < head.i and c.dep_ in
                  ("amod", "compound", "poss", "nmod") for t in c.subtree]  # fmt: skip
        for t in reversed(self.doc[max(w.start - 4, self.index.sent_of(w.start).start) : w.start]):
            if t.pos_ in ("VERB", "AUX", "ADP", "PUNCT", "CCONJ") and t.text not in ("-", "'s"):
                break
            tokens.append(t)
        found: list[tuple[str, str]] = []
        for t in tokens:
            a = self.index.actor_at(t.i)
            if (
                a
                and a.code
                and a.code != exclude
                and not a.operated
                and (a.kind in ("state", "company", "organ"))
            ):
                if self._holder_of(t, a.code, w):
                    return []  # whose it is, not where from: the text does not say the maker
                found.append((a.code, "origin"))
        if found:
            return found[-1:]
        # "drones from Iran"; "The drones came from Iran" (then "They were handed to ...").
        sources = [head.head] if head.dep_ == "nsubj" and head.head.lemma_ in W.coming else []
        for obj in _preps([head, *sources], ("from",)):
            code = self.index.resolve(obj, allow_anaphora=False)
            if code and code != exclude:
                return [(code, "origin")]
        for c in head.children:  # "drones made in Iran", "missiles produced by North Korea"
            if c.dep_ != "acl":
                continue
            lemma = c.lemma_.lower()
            frame = self.t.frame_of(lemma, "VERB")
            if lemma in W.making_verbs or frame == "supply":
                preps: tuple[str, ...] = ("in", "by")  # "supplied by Iran"
            elif frame == "acquire":
                preps = ("from",)  # "TB2 drones acquired from Turkey"
            else:
                continue
            for obj in _preps([c], preps):
                code = self.index.resolve(obj, allow_anaphora=False)
                if code and code != exclude:
                    return [(code, "origin")]
        origin = w.info.origin
        if origin and origin != exclude and origin in self._mentioned:
            return [(origin, "catalogue")]
        if w.info.generic and any(c.lower_ in ("these", "those", "the", "such")
                                  for c in head.children):  # fmt: skip
            # "shipments of these ballistic missiles": the ones named just before.
            earlier = [
                v
                for v in self.index.weapons
                if v.start < w.start
                and v.info.system_class == w.info.system_class
                and v.start >= w.start - 80
            ]
            for v in reversed(earlier):
                found = self._origins(v, exclude) if v is not w else []
                if found:
                    return found
        return []

    def _holder_of(self, t: Token, code: str, w: WeaponMention) -> bool:
        """ "Russian Shaheds", "the Bangladeshi TB2s": a state word before a designation made
        elsewhere names who has the weapon, not who made it ("Iranian-made" still is)."""
        if w.info.generic or not w.info.origin or w.info.origin == code:
            return False
        after = {x.lower_ for x in self.doc[t.i + 1 : t.i + 3]}
        return not after & W.made_words

    def _story_origins(self) -> dict[str, str]:
        """Per weapon class, the one state named as the maker in the story, if just one."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for w in self.index.weapons:
            for a in self.index.actors_in(max(w.start - 3, 0), w.start):
                if a.code and (a.form == "demonym" or a.made):
                    counts[w.info.system_class][a.code] += 1
            if w.info.origin and w.info.origin in self._mentioned:
                counts[w.info.system_class][w.info.origin] += 1
        return {cls: next(iter(c)) for cls, c in counts.items() if len(c) == 1}

    def _owner(self, noun: Token) -> str | None:
        """The party a noun belongs to: "Iran's provision", "an Iranian deal"."""
        for child in sorted(noun.children, key=lambda c: -c.i):
            if child.dep_ in ("poss", "amod", "compound", "nmod") and child.i < noun.i:
                code = self.index.resolve(child)
                if code:
                    return code
        for obj in _preps([noun], ("by",)):
            code = self.index.resolve(obj)
            if code:
                return code
        if noun.dep_ == "conj":  # "Iran's provision of drones ... and assistance in building"
            return self._owner(noun.head)
        return None

    def _other_state(self, sent: Span, exclude: frozenset[str], maker: bool = False) -> str | None:
        """The one other state taking part in the sentence (a subject or an object, not a
        place, a target or an aside); with `maker`, only one that makes the weapons."""
        others = []
        for a in self.index.actors_in(sent.start, sent.end):
            if a.code in exclude or a.kind != "state" or a.form == "demonym":
                continue
            tok = self.doc[a.end - 1]
            while tok.dep_ in ("compound", "poss") and tok.head != tok:
                tok = tok.head
            if tok.dep_ not in ("nsubj", "nsubjpass", "dobj", "dative", "appos", "conj"):
                continue
            if maker and not any(self.t.frame_of(t.lemma_.lower(), t.pos_) == "produce"
                                 for t in tok.head.subtree):  # fmt: skip
                continue
            others.append(a.code)
        return others[0] if len(set(others)) == 1 else None

    # --- sentence shapes without a trigger word ---------------------------------------

    def _possession(self, sent: Span) -> list[Candidate]:
        """ "Saudi-operated Wing Loong II aircraft": the operator has the maker's weapon."""
        out: list[Candidate] = []
        for a in self.index.actors_in(sent.start, sent.end):
            if not a.operated or not a.code:
                continue
            weapons = [w for w in self.index.weapons if a.end <= w.start <= a.end + 4]
            if weapons:
                r = _Roles(recipients=[(a.code, "syntax")], theme=weapons[:1])
                out.extend(self._emit(r, "delivered", sent, False))
        return out

    def _route(self, sent: Span) -> list[Candidate]:
        """ "a dhow ... bound for Yemen's Houthi rebels", "heading from Iran to Houthi-held
        ports": weapons on their way are a delivery (an interdicted one still counts)."""
        weapons = [w for w in self.index.weapons if sent.start <= w.start < sent.end]
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
            if not self.index.weapons_in(clause.subtree):
                continue
            for obj in _preps([t], ("for", "to", "toward", "towards")):
                code = self.index.resolve(obj, allow_anaphora=False)
                if code:
                    destination.append(code)
            for obj in _preps([t], ("from",)):
                code = self.index.resolve(obj, allow_anaphora=False)
                if code:
                    source.append(code)
        if not destination:
            return []
        r = _Roles(theme=weapons)
        r.add("recipient", destination, "syntax")
        r.add("supplier", [s for s in source if s not in destination], "syntax")
        return self._emit(r, "delivered", sent, False)

    def _arrivals(self, sent: Span) -> list[Candidate]:
        """ "The first Turkish-made Akinci drones arrived in Niamey": weapons that arrive
        somewhere were delivered there (by their maker, when nothing else says who)."""
        out: list[Candidate] = []
        for verb in sent:
            if verb.pos_ != "VERB" or verb.lemma_.lower() not in W.arriving:
                continue
            subj = _child(verb, "nsubj")
            if subj is None or not (theme := self.index.weapons_in(subj.subtree)):
                continue
            places = _preps([verb], ("in", "at"))
            r = _Roles(theme=theme)
            r.add("recipient", [self.index.resolve(p, allow_anaphora=False) for p in places],
                  "syntax")  # fmt: skip
            r.add("supplier", [self.index.resolve(p, allow_anaphora=False)
                               for p in _preps([verb, subj], ("from",))], "syntax")  # fmt: skip
            out.extend(self._emit(r, "delivered", sent, False))
        return out

    def _copular(self, sent: Span) -> list[Candidate]:
        """ "Iranian drones have been a key weapon for Russia": a weapon role noun."""
        out: list[Candidate] = []
        for token in sent:
            if token.lemma_.lower() not in W.role_nouns or token.dep_ not in (
                "attr",
                "dobj",
                "appos",
            ):
                continue
            user = next((c for p in _preps([token], ("for", "of"))
                         if (c := self.index.resolve(p, allow_anaphora=False))), None)  # fmt: skip
            user = user or self._owner(token)
            subj = _subject(token.head, [])
            if not user or subj is None:
                continue
            theme = self.index.weapons_in(_np_tokens(subj))
            r = _Roles(recipients=[(user, "syntax")], theme=theme)
            out.extend(self._emit(r, "delivered", sent, False))
        return out

    def _continuation(self, sent: Span, previous: list[Candidate]) -> list[Candidate]:
        """ "It also includes air defence systems": new weapons for the transfer just named."""
        first = sent[0]
        if first.lower_ not in ("it", "they", "this", "that", "these", "the") or (
            self.index.actors_in(sent.start, sent.end)
        ):
            return []
        if not any(t.lemma_.lower() in ("include", "involve", "comprise", "cover", "contain")
                   for t in sent):  # fmt: skip
            return []
        last = previous[-1]
        theme = [w for w in self.index.weapons if sent.start <= w.start < sent.end]
        r = _Roles([(last.supplier, "coref")], [(last.recipient, "coref")], theme)
        return self._emit(r, last.status, sent, False)

    # --- candidates -------------------------------------------------------------------

    def _emit(self, r: _Roles, status: Status, sent: Span, denied: bool,
              fallback: bool = False) -> list[Candidate]:  # fmt: skip
        if not r.theme:
            return []
        recipients = list(r.recipients)
        suppliers_known = frozenset(c for c, b in r.suppliers if b in ("syntax", "coref"))
        if not suppliers_known and not r.suppliers:
            # "Turkish-supplied TB2 drones ... were delivered": the adjective names the supplier.
            suppliers_known = frozenset(
                a.code for w in r.theme for a in self.index.actors_in(max(0, w.start - 4), w.start)
                if a.supplied and a.code
            )  # fmt: skip
        if not recipients and fallback and suppliers_known and not r.domestic:
            recipients = self._fallback_recipients(sent, suppliers_known)
        if not recipients:
            return []
        hedged = any(t.lemma_.lower() in self.t.hedges or t.lower_ in self.t.hedges for t in sent)
        by_key: dict[
            tuple[str, str, SystemClass], tuple[list[str], float, bool, frozenset[str]]
        ] = {}
        for w in r.theme:
            suppliers = r.suppliers or self._origins(w, exclude=None)
            if not suppliers and r.fallback_supplier:
                suppliers = [(r.fallback_supplier, "fallback")]
            named = bool(r.suppliers)
            makers = (
                frozenset(c for c, b in self._origins(w, exclude=None) if b == "origin")
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
            Candidate(
                s, rc, cls, tuple(systems), status, round(conf, 3), sent, denied, named, makers
            )
            for (s, rc, cls), (systems, conf, named, makers) in by_key.items()
        ]

    def _fallback_recipients(self, sent: Span, suppliers: frozenset[str]) -> list[tuple[str, str]]:
        """A supply with no stated recipient: "to X" later on, the one other state of the
        sentence, the recipient of the transfer just named, or the story's focus."""
        for t in sent:  # "... a further unit had arrived in Ukraine", "reached the Houthis"
            if t.lemma_.lower() in ("arrive", "reach", "land") and t.pos_ == "VERB":
                places = _preps([t], ("in", "at")) + [c for c in t.children if c.dep_ == "dobj"]
                for place in places:
                    code = self.index.resolve(place, allow_anaphora=False, exclude=suppliers)
                    if code:
                        return [(code, "fallback")]
        for obj in _following_preps(sent, W.recipient_preps):
            code = self.index.resolve(obj, allow_anaphora=False, exclude=suppliers)
            if code:
                return [(code, "fallback")]
        other = self._other_state(sent, suppliers)
        if other:
            return [(other, "fallback")]
        for c in reversed(self._last):
            if c.supplier in suppliers and c.recipient not in suppliers:
                return [(c.recipient, "discourse")]
        # "Ukraine received F-16s from Denmark and Norway. France has delivered Mirage
        # fighters": a new supplier in a list of supplies to the one recipient just named.
        previous = self.index.sentence_start_before(sent.start, 1)
        recipients = {c.recipient for c in self._last
                      if c.sent.start >= previous and c.status != "production"}  # fmt: skip
        if len(recipients) == 1 and not recipients & suppliers:
            return [(next(iter(recipients)), "discourse")]
        focus = self.index.focus(suppliers)
        return [(focus, "focus")] if focus else []

    # --- denials ----------------------------------------------------------------------

    def _denials(self, candidates: list[Candidate]) -> dict[_Denied, frozenset[str]]:
        """(supplier, recipient, class) whose transfer a named party denies -> the parties
        who do; class None: any ("denied that Moscow was negotiating the S-400" leaves the
        Su-35 deal standing)."""
        denied: defaultdict[_Denied, frozenset[str]] = defaultdict(frozenset)
        sents = self.index.sentences
        pairs = {_pair(c) for c in candidates if c.status != "production"}
        for n, sent in enumerate(sents):
            deniers, anaphoric, clause = self._deniers(sent)
            if not deniers:
                continue
            here = any(c.sent.start == sent.start and {c.supplier, c.recipient} & deniers
                       for c in candidates)  # fmt: skip
            # "X say Iranian drones are a key weapon for Russia, something both Moscow and
            # Tehran have denied": the claim of this sentence, not those before it.
            window = (
                {s.start for s in sents[max(0, n - 3) : n]} if anaphoric and not here else set()
            )
            mentioned = {a.code for a in self.index.actors_in(sent.start, sent.end)}
            for c in candidates:
                if c.status == "production" or not ({c.supplier, c.recipient} & deniers):
                    continue
                if c.sent.start == sent.start or c.sent.start in window:
                    key = (*_pair(c), c.system_class)
                    denied[key] |= deniers & {c.supplier, c.recipient}
            if clause:
                # "denied supplying the Houthis with weapons": the pair named in the denial,
                # for the kinds of weapon it names, if it names any.
                named: set[str | None] = {w.info.system_class for w in self.index.weapons_in(sent)
                                          if w.info.name}  # fmt: skip
                for pair in pairs:
                    if set(pair) & deniers and set(pair) <= (mentioned | deniers):
                        for cls in named or {None}:
                            denied[(*pair, cls)] |= deniers & set(pair)
        return denied

    def _confirmations(self) -> dict[int, frozenset[str]]:
        """Sentence start -> who confirms what it reports ("Iran admitted it had sent", "Tehran
        acknowledged supplying"): the subject of an unnegated confirming verb."""
        out: dict[int, frozenset[str]] = {}
        for sent in self.index.sentences:
            found: set[str] = set()
            for token in sent:
                if token.pos_ != "VERB" or token.lemma_.lower() not in self.t.confirmation_verbs:
                    continue
                governors = self._governors(token)
                if any(c.dep_ == "neg" for c in token.children) or any(
                    g.lemma_.lower() in ("refuse", "decline", "fail") for g in governors
                ):
                    continue  # "has not confirmed", "declined to confirm"
                subj = _subject(token, governors)
                found |= {c for h in _conjuncts(subj) if (c := self.index.resolve(h))}
            if found:
                out[sent.start] = frozenset(found)
        return out

    def _deniers(self, sent: Span) -> tuple[set[str], bool, bool]:
        """(who denies, whether the object points back, whether its clause names a transfer)."""
        deniers: set[str] = set()
        anaphoric = clause = False
        for token in sent:
            lemma = token.lemma_.lower()
            is_verb = token.pos_ == "VERB" and lemma in self.t.denial_verbs
            is_noun = token.pos_ == "NOUN" and lemma in ("denial", "rejection")
            if not (is_verb or is_noun):
                continue
            governors = self._governors(token)
            if any(c.dep_ == "neg" for c in token.children) or any(
                g.lemma_.lower() in ("refuse", "decline", "fail") for g in governors
            ):
                continue  # "has not denied", "refused to deny": no denial
            obj = _child(token, "dobj")
            complement = _child(token, "ccomp") or _child(token, "xcomp")
            # "denied a report that deliveries were delayed": the report's own clause says
            # what is denied; the object does not point back at an earlier sentence.
            content = _content_clause(obj) if obj is not None else None
            if content is not None:
                obj = None
                complement = complement or content
            if obj is not None and (obj.lemma_.lower() in self.t.denial_objects
                                    or obj.lower_ in self.t.denial_objects):  # fmt: skip
                anaphoric = True
            if complement is not None and not self._denies_transfer(complement):
                # "denied that deliveries had been delayed", "rejected reports that Israeli
                # personnel had operated the drones": the transfer itself stands.
                continue
            if is_noun:
                owner = self._owner(token)
                deniers |= {owner} if owner else set()
            else:
                subj = _subject(token, governors)
                deniers |= {c for h in _conjuncts(subj) if (c := self.index.resolve(h))}
            for part in (complement, obj):
                if part is not None and self._is_transferish(part):
                    clause = True
            if is_verb and obj is None and complement is None:
                anaphoric = True  # "something both Moscow and Tehran have denied"
        lowered = sent.text.lower()
        phrases = [p for p in self.t.denial_phrases if _has_phrase(lowered, p)]
        if not deniers and phrases:
            subj = _subject(sent.root, [])
            deniers |= {c for h in _conjuncts(subj) if (c := self.index.resolve(h))}
            # "never supplied drones to Russia" names the pair; "despite claims to the
            # contrary" or "called the reports baseless" point at this or the last sentences.
            clause = any(p.startswith(("never", "not", "did not", "has not", "have not"))
                         for p in phrases) and self._is_transferish(sent.root)  # fmt: skip
            anaphoric = any(t.lemma_.lower() in self.t.denial_objects and t.pos_ == "NOUN"
                            for t in sent)  # fmt: skip
        return deniers, anaphoric, clause

    def _denies_transfer(self, clause: Token) -> bool:
        """Whether a denied clause is about the transfer, not a delay of it or who flew it."""
        lemma = clause.lemma_.lower()
        if lemma in W.disruptions or lemma in self.t.negating:
            return False
        if self.t.frame_of(lemma, clause.pos_) == "use":
            subj = _child(clause, "nsubj")
            return subj is None or subj.lemma_.lower() not in W.personnel
        return True

    def _is_transferish(self, token: Token) -> bool:
        """Says that weapons moved (a deal or a meeting denied is not a transfer denied)."""
        return any(
            self.t.frame_of(t.lemma_.lower(), t.pos_) in ("supply", "acquire", "use")
            or self.index.weapon_at(t.i) or t.lower_ in ("weapons", "arms")
            for t in token.subtree
        )  # fmt: skip


# --- merging ----------------------------------------------------------------------------


def _foreign_military_sale(token: Token) -> bool:
    """ "a possible Foreign Military Sale to", "FMS case": the US government's sales."""
    words = [t.lower_ for t in token.doc[max(0, token.i - 2) : token.i + 1]]
    return words[-3:] == ["foreign", "military", token.lower_] and token.lower_ in (
        "sale", "sales")  # fmt: skip


def _relative_antecedent(token: Token) -> Token | None:
    """The noun a relative pronoun stands for: "drones, which officials say were delivered"."""
    if token.lower_ not in ("which", "that"):
        return None
    for ancestor in token.ancestors:
        if ancestor.dep_ == "relcl":
            return ancestor.head
    return None


def _content_clause(noun: Token) -> Token | None:
    """The clause a noun like "report" or "claim" states: "reports that X had Y"."""
    return next((c for c in noun.children if c.dep_ in ("acl", "ccomp", "relcl")
                 and any(m.dep_ == "mark" for m in c.children)), None)  # fmt: skip


def _kind(status: Status) -> str:
    return "production" if status == "production" else "transfer"


def _without_makers_of_brokered(candidates: list[Candidate]) -> list[Candidate]:
    """ "The UAE supplied Chinese-made drones to the LNA, which used them": the named
    middleman is the supplier; the maker is not a second supplier of the same weapons."""
    brokered = {(maker, c.recipient, c.system_class) for c in candidates for maker in c.makers
                if maker != c.supplier}  # fmt: skip
    return [c for c in candidates
            if c.named or (c.supplier, c.recipient, c.system_class) not in brokered]  # fmt: skip


def _pair(c: Candidate) -> tuple[str, str]:
    return (c.supplier, c.recipient)


def _with_denials(c: Candidate, denied: dict[_Denied, frozenset[str]]) -> Candidate:
    """The candidate, denied (and by whom) when a denial covers its class or any class."""
    found = [denied.get((*_pair(c), cls)) for cls in (c.system_class, None)]
    if c.status == "production" or all(by is None for by in found):
        return c
    return replace(c, denied=True, denied_by=c.denied_by.union(*(b for b in found if b)))


def _confirmed(c: Candidate, confirmers: dict[int, frozenset[str]]) -> Candidate:
    """The candidate with the parties to it who confirm it in its own sentence."""
    by = confirmers.get(c.sent.start, frozenset()) & {c.supplier, c.recipient}
    return replace(c, confirmed_by=c.confirmed_by | by) if by else c


def merge(candidates: Iterable[Candidate]) -> list[Transfer]:
    """One Transfer per (supplier, recipient, class, kind), with the most advanced status
    the story reports for it (an old order and its delivery: delivered)."""
    groups: dict[tuple[str, str, str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        groups[(c.supplier, c.recipient, c.system_class, _kind(c.status))].append(c)
    transfers: list[Transfer] = []
    for (supplier, recipient, _, _), group in groups.items():
        status = max((c.status for c in group), key=lambda s: _STATUS_ORDER[s])
        miss = 1.0
        for c in group:
            miss *= 1.0 - c.confidence
        systems = list(dict.fromkeys(s for c in group for s in c.systems))
        evidence: list[Evidence] = []
        for c in sorted(group, key=lambda c: (-c.confidence, c.sent.start)):
            if len(evidence) >= _MAX_EVIDENCE:
                break
            if any(e.start == c.sent.start_char for e in evidence):
                continue
            evidence.append(Evidence(sentence=c.sent.text, start=c.sent.start_char,
                                     end=c.sent.end_char))  # fmt: skip
        transfers.append(
            Transfer(
                supplier=supplier,
                recipient=recipient,
                system_class=group[0].system_class,
                systems=tuple(systems),
                status=status,
                denied=any(c.denied for c in group),
                denied_by=tuple(sorted({p for c in group for p in c.denied_by})),
                confirmed_by=tuple(sorted({p for c in group for p in c.confirmed_by})),
                confidence=round(min(0.99, 1.0 - miss), 3),
                evidence=tuple(sorted(evidence, key=lambda e: e.start)),
            )
        )
    return sorted(transfers, key=lambda t: (-t.confidence, t.supplier or "", t.recipient or ""))


# --- dependency helpers -----------------------------------------------------------------


def _child(token: Token, dep: str) -> Token | None:
    return next((c for c in token.children if c.dep_ == dep), None)


def _agent(token: Token) -> Token | None:
    for child in token.children:
        if child.dep_ == "agent":
            return _child(child, "pobj")
    return None


def _subject(token: Token | None, chain: list[Token]) -> Token | None:
    if token is None:
        return None
    if token.dep_ == "xcomp" and token.head.lemma_.lower() in W.raising:
        # "North Korea is believed to have sent": the subject of the passive hedge is the
        # subject of the verb under it.
        raised = _child(token.head, "nsubjpass")
        if raised is not None:
            return raised
    for node in (token, *chain):
        if node is not token and node.lemma_.lower() in W.reporting:
            break  # "..., an Israeli spokesman said": the speaker is not a party
        subjects = [c for c in node.children if c.dep_ in ("nsubj", "csubj")]
        if subjects:
            # "something both Moscow and Tehran have denied": the one next to the verb.
            before = [c for c in subjects if c.i < node.i]
            return before[-1] if before else subjects[0]
        if node.tag_ == "VBG" and node.dep_ == "pcomp":
            if node.head.lower_ in ("of", "for", "over"):
                # "accused Iran of supplying", "added Iranian firms to its sanctions list for
                # facilitating", "charges of violating export laws by sending": the one
                # accused (or thanked, or listed) does it.
                doer = _doer_above(node.head)
                if doer is not None:
                    return doer
            # "about Russia seeking to buy": the noun before a gerund is its subject.
            pobj = next((c for c in node.head.children if c.dep_ == "pobj" and c.i < node.i), None)
            if pobj is not None:
                return pobj
        if node.tag_ == "VBG" and node.dep_ == "acl" and node.head.pos_ in ("PROPN", "NOUN"):
            return node.head
        if node.dep_ == "conj" and node.pos_ in ("VERB", "AUX"):
            # "Iran had supplied drones ... and had helped Russia build": shared subject.
            shared = _subject(node.head, [])
            if shared is not None:
                return shared
        if node.dep_ == "ccomp" or node.lemma_.lower() in W.reporting:
            break
    return None


def _doer_above(prep: Token) -> Token | None:
    """Who a "for"/"of" phrase is said of: the object of the verb above ("accused Iran of",
    "added three firms to its list for"), or the noun an "accused of" participle describes
    ("firms accused of shipping")."""
    head = prep.head
    for _ in range(3):  # through "its sanctions list", "on charges" to the verb
        if head.pos_ in ("NOUN", "PROPN") and head.dep_ == "pobj":
            head = head.head.head
        else:
            break
    if head.dep_ == "acl" and head.tag_ == "VBN" and head.head.pos_ in ("NOUN", "PROPN"):
        return head.head
    if head.pos_ in ("NOUN", "PROPN") and head.dep_ in ("dobj", "conj"):
        # "added four Chinese nationals and a firm to its list for": the parser hung the
        # list on the last of the objects; the first of them is who is listed.
        while head.dep_ == "conj":
            head = head.head
        return head if head.dep_ == "dobj" else None
    if head.pos_ == "VERB":
        return _child(head, "dobj")
    return None


def _last_named(before: list[WeaponMention]) -> list[WeaponMention]:
    """The last weapons named, with those listed just before them."""
    return [w for w in before if w.start >= before[-1].start - 12] if before else []


def _sides(frame: str) -> tuple[Collection[str], str]:
    """For pairing weapons with parties: the preposition naming the other party, and the
    side the verb's own party keeps ("bought X from A": from, recipient)."""
    return (("from",), "recipient") if frame == "acquire" else (W.recipient_preps, "supplier")


def _paired_roles(
    roles: _Roles, keep: str, theme: list[WeaponMention], others: Iterable[str | None]
) -> _Roles:
    r = _Roles(theme=theme)
    r.add(keep, roles.codes(keep), "syntax")
    r.add("supplier" if keep == "recipient" else "recipient", others, "syntax")
    return r


def _in_clause_below(t: Token, top: Token) -> bool:
    """Is `t` inside a clause of its own under `top` ("drones from Iran, which uses ...")?"""
    while t != top and t.head != t:
        if t.dep_ in ("relcl", "acl", "advcl", "ccomp", "xcomp"):
            return True
        t = t.head
    return False


def _conjuncts(token: Token | None) -> list[Token]:
    if token is None:
        return []
    return [token, *token.conjuncts]


def _both_sides(token: Token) -> bool:
    """ "both sides", "each side", "the two armies": every party at once."""
    return token.lemma_.lower() in ("side", "party", "army", "country", "belligerent") and any(
        c.lower_ in ("both", "each", "either", "two", "all") for c in token.children
    )


def _preps(heads: Iterable[Token], words: Collection[str]) -> list[Token]:
    """Objects of the given prepositions under `heads`, with their conjuncts."""
    out: list[Token] = []
    for head in heads:
        for child in head.children:
            if child.dep_ in ("prep", "agent", "dative") and child.lower_ in words:
                for obj in child.children:
                    if obj.dep_ in ("pobj", "pcomp"):
                        out.extend(_conjuncts(obj))
                    elif obj.dep_ == "prep":  # "such as X", "along with X", "as well as X"
                        out.extend(p for o in obj.children if o.dep_ == "pobj"
                                   for p in _conjuncts(o))  # fmt: skip
    return out


def _following_preps(sent: Span, words: Collection[str]) -> list[Token]:
    """Surface fallback when the parse is wrong: "... to <actor>" in the sentence."""
    out: list[Token] = []
    for t in sent:
        if t.lower_ in words and t.i + 1 < sent.end:
            nxt = sent.doc[t.i + 1]
            if nxt.lower_ == "the" and t.i + 2 < sent.end:
                nxt = sent.doc[t.i + 2]
            out.append(nxt)
    return out


def _np_tokens(token: Token) -> list[Token]:
    """A noun phrase's tokens, leaving out clauses and verb phrases attached to it."""
    # Depth-first, in the order a recursion would give, but with a stack: a run of a
    # thousand conjuncts ("Iran Iran Iran ...") is a chain deeper than Python's recursion.
    out: list[Token] = []
    stack = [token]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(
            reversed([c for c in node.children if c.dep_ not in ("relcl", "acl", "advcl", "ccomp")])
        )
    return out


def _own(token: Token) -> bool:
    """ "Russia's own production": domestic, no foreign supplier."""
    return any(c.lower_ in W.own for c in token.children)


def _has_phrase(text: str, phrase: str) -> bool:
    start = text.find(phrase)
    while start != -1:
        end = start + len(phrase)
        if (start == 0 or not text[start - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            return True
        start = text.find(phrase, start + 1)
    return False
