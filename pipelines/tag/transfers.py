"""Transfer extraction: who supplies what to whom, from the dependency parse.

Doc + DocIndex
  -> frames       trigger words (lexicon/triggers.yaml): supply, acquire, use, want,
                  offer, produce, deal; status from the words governing the trigger
  -> candidates   per frame: supplier, recipient (syntax first: subject, agent, "to",
                  "from", "with"; then the weapon's origin: "Iranian-made", "Uvision's";
                  then light co-reference), one candidate per weapon class
  -> denials      a named party denies the transfer (same sentence, "the accusations"
                  right after it, or a "denied that X transferred..." clause)
  -> merged       one Transfer per (supplier, recipient, class, kind) with evidence
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.tokens import Span, Token

from ..record import Evidence, Status, SystemClass, Transfer
from .actors import DocIndex, WeaponMention
from .triggers import Triggers

# Dependency relations along which the words governing a trigger are collected.
_CLIMB = frozenset(
    {
        "xcomp",
        "ccomp",
        "pcomp",
        "prep",
        "pobj",
        "acomp",
        "advcl",
        "acl",
        "conj",
        "dobj",
        "attr",
        "oprd",
        "relcl",
        "advmod",
        "amod",
        "compound",
    }
)
_REPORTING = frozenset(
    {
        "say",
        "tell",
        "report",
        "state",
        "claim",
        "announce",
        "add",
        "note",
        "warn",
        "write",
        "accord",
        "confirm",
        "believe",
        "think",
        "suggest",
        "show",
        "reveal",
        "indicate",
        "allege",
        "insist",
        "know",
    }
)
_RECIPIENT_PREPS = ("to", "for", "into", "towards", "toward")
_SOURCE_PREPS = ("from",)
_LOCATION_PREPS = ("in", "on", "at", "inside", "near", "outside")
_GENERIC_THEMES = frozenset(
    {
        "weapon",
        "weapons",
        "arm",
        "arms",
        "equipment",
        "system",
        "systems",
        "hardware",
        "munition",
        "munitions",
        "supplies",
        "them",
        "it",
        "these",
        "those",
        "they",
        "one",
        "ones",
        "model",
        "models",
        "unit",
        "units",
        "type",
        "batch",
        "shipment",
        "hundreds",
        "thousands",
        "dozens",
        "consignment",
        "technology",
        "variant",
    }
)
_THEME_PRONOUNS = frozenset({"them", "it", "these", "those", "they"})
_ROLE_NOUNS = frozenset(
    {
        "weapon",
        "arsenal",
        "mainstay",
        "backbone",
        "staple",
        "tool",
        "lifeline",
        "asset",
        "workhorse",
        "source",
        "supplier",
    }
)
_STATUS_ORDER: dict[Status, int] = {"sought": 0, "agreed": 1, "delivered": 2, "production": 3}
_CONFIDENCE = {"syntax": 0.8, "origin": 0.72, "coref": 0.65, "catalogue": 0.6, "fallback": 0.45}
_MAX_EVIDENCE = 3


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


@dataclass
class _Roles:
    supplier: str | None = None
    recipient: str | None = None
    theme: list[WeaponMention] = field(default_factory=list)
    basis: list[str] = field(default_factory=list)


class Extractor:
    """Finds transfer candidates in one Doc and merges them into Transfers."""

    def __init__(self, index: DocIndex, triggers: Triggers):
        self.index = index
        self.t = triggers
        self.doc = index.doc
        self._mentioned = {a.code for a in index.actors if a.code}
        self._class_origins = self._story_origins()

    # --- driving ----------------------------------------------------------------------

    def run(self) -> list[Transfer]:
        candidates: list[Candidate] = []
        previous: list[Candidate] = []
        for sent in self.doc.sents:
            found = self._sentence(sent, previous)
            candidates.extend(found)
            if found:
                previous = found
        denied = self._denials(candidates)
        return merge(
            [
                _with_denied(c) if c.status != "production" and _pair(c) in denied else c
                for c in candidates
            ]
        )

    def _sentence(self, sent: Span, previous: list[Candidate]) -> list[Candidate]:
        if not any(self.index.weapon_at(t.i) for t in sent) and not self._pronoun_theme(sent):
            return []
        out: list[Candidate] = []
        for token in sent:
            frame = self._frame(token)
            if frame is None:
                continue
            out.extend(self._candidates(token, frame, sent))
        if not out:
            out.extend(self._copular(sent))
        if not out and previous:
            out.extend(self._continuation(sent, previous))
        return out

    def _pronoun_theme(self, sent: Span) -> bool:
        return any(t.lower_ in ("them", "they", "it") for t in sent)

    # --- frames -----------------------------------------------------------------------

    def _frame(self, token: Token) -> str | None:
        lemma = token.lemma_.lower()
        pos = token.pos_
        if pos == "PROPN" or token.ent_type_:
            return None
        frame = self.t.frame_of(lemma, pos)
        if frame is None and pos == "VERB" and token.tag_ == "VBN":
            frame = self.t.frame_of(lemma, "VERB")
        if frame is None:
            return None
        if lemma == "take" and not any(c.lemma_ == "delivery" for c in token.children):
            return None
        if lemma in ("get", "make", "build", "pass", "move", "source", "construct") and not (
            self._weapons_under(token)
        ):
            return None
        if (
            pos == "NOUN"
            and token.dep_ == "compound"
            and token.head.lemma_
            in ("line", "chain", "route", "corridor", "network", "depot", "hub")
            and frame == "supply"
        ):
            return None  # "supply lines", "supply chain": logistics, not a transfer
        return frame

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
        while current.dep_ in _CLIMB and current.head is not current and len(chain) < 8:
            current = current.head
            chain.append(current)
            if current.lemma_.lower() in _REPORTING:
                break
        return chain

    def _status(self, token: Token, frame: str, chain: list[Token]) -> tuple[Status | None, bool]:
        """(status, denied): None when the words around the trigger rule a transfer out."""
        if frame == "produce":
            return "production", False
        nodes = [token, *chain]
        for node in nodes:
            lemma = node.lemma_.lower()
            if node.lemma_.lower() in _REPORTING and node is not token:
                break
            if any(c.dep_ == "neg" for c in node.children) or lemma in self.t.negating:
                if lemma in self.t.denial_verbs:
                    return None, True
                return None, False
        if frame in ("want", "offer"):
            return "sought", False
        for node in nodes:
            lemma = node.lemma_.lower()
            if node.lemma_.lower() in _REPORTING and node is not token:
                break
            auxes = {c.lower_ for c in node.children if c.dep_ in ("aux", "auxpass", "mark")}
            if auxes & {"could", "may", "might", "if", "whether"} or (
                node is not token and lemma in self.t.sought
            ):
                return "sought", False
            if node is not token and node.pos_ == "NOUN" and lemma in self.t.nouns.get("deal", ()):
                return ("agreed" if self._signed(node) else "sought"), False
            if auxes & {"will", "would", "shall", "'ll"} or (
                node is not token and lemma in self.t.agreed
            ):
                return "agreed", False
        if frame == "deal":
            return ("agreed" if self._signed(token) else "sought"), False
        if token.lemma_.lower() == "order":
            return "agreed", False
        return "delivered", False

    def _signed(self, deal: Token) -> bool:
        if deal.lemma_.lower() in ("contract", "order"):
            return True
        for node in (deal, *self._governors(deal)[:3]):
            if node.lemma_.lower() in self.t.signing or any(
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
        roles = self._roles(token, frame, chain, sent)
        if not roles.theme:
            return []
        if status is None:  # "Tehran denied supplying drones": reported, and denied
            status = "delivered"
        return self._emit(roles, status, sent, denied)

    def _roles(self, token: Token, frame: str, chain: list[Token], sent: Span) -> _Roles:
        if frame == "produce":
            return self._production_roles(token, chain, sent)
        if frame == "deal":
            return self._deal_roles(token, chain)
        r = _Roles()
        noun = (token.pos_ in ("NOUN", "ADJ") and frame != "want") or token.pos_ == "NOUN"
        agent = _agent(token)
        subject_side = "supplier" if frame in ("supply", "offer") else "recipient"
        object_side = "recipient" if subject_side == "supplier" else "supplier"
        theme_tok = self._theme_token(token)

        # The party in subject position (or the agent of a passive, or the noun's owner).
        if agent is not None:
            self._set(r, subject_side, self.index.resolve(agent), "syntax")
        elif noun:
            self._set(r, subject_side, self._owner(token), "syntax")
        else:
            subj = _subject(token, chain)
            if subj is not None:
                code = self.index.resolve(subj)
                basis = "syntax" if self.index.actor_at(subj.i) else "coref"
                self._set(r, subject_side, code, basis)
        if getattr(r, subject_side) is None:
            # "An Iranian deal to supply Bolivia": the deal's owner does the supplying.
            for node in chain:
                if node.pos_ == "NOUN":
                    self._set(r, subject_side, self._owner(node), "syntax")
                    break

        # Prepositions and objects: "to Russia", "from Iran", "arm the Houthis with".
        heads = [token, *([theme_tok] if theme_tok is not None else [])]
        if object_side == "recipient":
            for prep_tok in _preps(heads, _RECIPIENT_PREPS):
                self._set(
                    r, "recipient", self.index.resolve(prep_tok, exclude=_ex(r.supplier)), "syntax"
                )
            for child in token.children:
                if child.dep_ in ("dative", "iobj"):
                    self._set(r, "recipient", self.index.resolve(child), "syntax")
            dobj = _child(token, "dobj")
            if dobj is not None and r.recipient is None:
                code = self.index.resolve(dobj, allow_anaphora=False)
                if code and (
                    self.index.actor_at(dobj.i) or not self.index.weapons_in(dobj.subtree)
                ):
                    r.recipient = code
                    r.basis.append("syntax")
                    with_obj = next(iter(_preps([token], ("with",))), None)
                    theme_tok = with_obj
        else:
            for node in [*heads, *chain[:3]]:
                for prep_tok in _preps([node], (*_SOURCE_PREPS, "with")):
                    self._set(
                        r,
                        "supplier",
                        self.index.resolve(prep_tok, exclude=_ex(r.recipient)),
                        "syntax",
                    )

        r.theme = self._theme(token, theme_tok, sent)
        if r.supplier is None:
            origin = self._origin(r.theme, theme_tok, exclude=r.recipient)
            if origin:
                self._set(r, "supplier", origin[0], origin[1])
        if r.recipient is None and frame in ("supply", "offer"):
            for prep_tok in _following_preps(token, _RECIPIENT_PREPS):
                self._set(
                    r,
                    "recipient",
                    self.index.resolve(prep_tok, allow_anaphora=False, exclude=_ex(r.supplier)),
                    "fallback",
                )
        if r.supplier is None and frame == "use" and r.recipient:
            self._set(r, "supplier", self._other_state(sent, r.recipient, token), "fallback")
        return r

    def _production_roles(self, token: Token, chain: list[Token], sent: Span) -> _Roles:
        r = _Roles()
        nodes = [token, *chain]
        # Where: "a plant in Russia", "on its territory", "In Venezuela, they were building".
        for node in nodes:
            for prep_tok in _preps(
                [node, *[c for c in node.children if c.dep_ == "dobj"]], _LOCATION_PREPS
            ):
                code = self.index.resolve(prep_tok)
                if code:
                    self._set(r, "recipient", code, "syntax")
                    break
            if r.recipient:
                break
        # Who helps: "Iran is helping Russia build", "with Iran's help", "assistance from Iran".
        for node in chain:
            if node.lemma_.lower() in self.t.help_verbs:
                subj = _subject(node, [])
                if subj is not None:
                    self._set(r, "supplier", self.index.resolve(subj), "syntax")
                obj = _child(node, "dobj")
                if obj is not None:
                    self._set(
                        r, "recipient", self.index.resolve(obj, exclude=_ex(r.supplier)), "syntax"
                    )
        if r.supplier is None:
            for t in sent:
                if t.lemma_.lower() in self.t.help_nouns and t.pos_ == "NOUN":
                    code = self._owner(t) or next(
                        (
                            self.index.resolve(p, allow_anaphora=False)
                            for p in _preps([t], ("from", "of", "by"))
                            if p is not None
                        ),
                        None,
                    )
                    if code and code != r.recipient:
                        self._set(r, "supplier", code, "syntax")
                        break
        r.theme = self._theme(token, None, sent, production=True)
        # The producer is the subject of the verb the trigger hangs from, not of some
        # clause further up ("in exchange for ... assistance with the construction of").
        verb_chain = []
        for node in chain:
            if node.pos_ in ("NOUN", "PROPN") and node is not token and node.dep_ in ("pobj",):
                break
            verb_chain.append(node)
        subj = _subject(token, verb_chain)
        subject_code = self.index.resolve(subj) if subj is not None else None
        partner = next(
            (
                self.index.resolve(p, allow_anaphora=False)
                for node in nodes[:4]
                for p in _preps([node], ("with",))
            ),
            None,
        )
        if r.recipient is None and subject_code and subject_code != r.supplier:
            self._set(r, "recipient", subject_code, "syntax")
        if r.supplier is None:
            origin = self._origin(r.theme, None, exclude=r.recipient)
            if origin:
                self._set(r, "supplier", origin[0], origin[1])
        if r.supplier is None and partner and partner != r.recipient:
            self._set(r, "supplier", partner, "syntax")
        if r.supplier is None and subject_code and subject_code != r.recipient:
            self._set(r, "supplier", subject_code, "coref")
        if r.supplier is None and r.recipient:
            # "Russia and Iran are considering a drone assembly line in Russia".
            others = [
                a.code
                for a in self.index.actors_in(sent.start, sent.end)
                if a.code != r.recipient and a.kind == "state"
            ]
            prior = self._class_origins.get(r.theme[0].info.system_class) if r.theme else None
            if prior in others:
                self._set(r, "supplier", prior, "catalogue")
            elif len(set(others)) == 1:
                self._set(r, "supplier", others[0], "fallback")
        return r

    def _deal_roles(self, token: Token, chain: list[Token]) -> _Roles:
        r = _Roles()
        parties: list[str] = []
        owner = self._owner(token)
        if owner:
            parties.append(owner)
        for node in [*chain[:2]]:
            subj = _subject(node, [])
            if subj is not None:
                parties.extend(c for c in (self.index.resolve(s) for s in _conjuncts(subj)) if c)
        for prep_tok in _preps([token, *chain[:2]], ("with", "between")):
            parties.extend(
                c
                for c in (self.index.resolve(s, allow_anaphora=False) for s in _conjuncts(prep_tok))
                if c
            )
        theme_heads = [p for p in _preps([token], ("for", "of", "on", "covering", "including"))]
        r.theme = self.index.weapons_in(
            t for h in theme_heads for t in h.subtree
        ) or self.index.weapons_in(c for c in token.children if c.dep_ in ("compound", "amod"))
        distinct = list(dict.fromkeys(parties))
        if len(distinct) != 2 or not r.theme:
            return r
        origin = self._origin(r.theme, None, exclude=None)
        if origin and origin[0] in distinct:
            r.supplier = origin[0]
            r.recipient = next(p for p in distinct if p != origin[0])
            r.basis.extend(["syntax", origin[1]])
        return r

    # --- themes and origins -----------------------------------------------------------

    def _theme_token(self, token: Token) -> Token | None:
        if token.dep_ in ("acl", "relcl") and self._is_weaponish(token.head):
            return token.head
        for dep in ("dobj", "nsubjpass", "attr"):
            child = _child(token, dep)
            if child is not None:
                return child
        for prep_tok in _preps([token], ("of", "in", "for", "on", "with")):
            if self._is_weaponish(prep_tok):
                return prep_tok
        return None

    def _is_weaponish(self, token: Token) -> bool:
        """The noun phrase itself names a weapon (not a clause hanging from it)."""
        return bool(self.index.weapons_in(_np_tokens(token))) or token.lower_ in _GENERIC_THEMES

    def _theme(
        self, token: Token, theme_tok: Token | None, sent: Span, production: bool = False
    ) -> list[WeaponMention]:
        if theme_tok is not None:
            found = self.index.weapons_in(_np_tokens(theme_tok))
            if found:
                return found
        if token.pos_ == "NOUN" or production:
            found = self.index.weapons_in(_np_tokens(token))
            if found:
                return found
        # Only a pronoun points back to a weapon named before ("hundreds of them").
        pronoun = theme_tok is not None and any(
            t.lower_ in _THEME_PRONOUNS for t in _np_tokens(theme_tok)
        )
        if not (pronoun or production):
            return []
        # "shipping hundreds of them to Russia": the weapon named last before the trigger,
        # in this sentence or the one before.
        start = self.doc[max(sent.start - 1, 0)].sent.start
        before = [w for w in self.index.weapons if start <= w.start < token.i]
        if before:
            return [before[-1]]
        if production:
            after = [w for w in self.index.weapons if token.i < w.start < sent.end]
            return after[:1]
        return []

    def _origin(
        self, theme: list[WeaponMention], theme_tok: Token | None, exclude: str | None
    ) -> tuple[str, str] | None:
        """Where the weapons come from: "Iranian drones", "Uvision's Hero-120", "KN-23"."""
        for w in theme:
            head = self.doc[w.end - 1]
            while (
                head.dep_ in ("compound", "amod")
                and head.head.i > head.i
                and head.head.i - w.end < 4
            ):
                head = head.head
            modifiers = [
                t
                for c in head.children
                if c.i < head.i and c.dep_ in ("amod", "compound", "poss", "nmod")
                for t in c.subtree
            ]
            modifiers += [t for t in self.doc[max(w.start - 4, head.left_edge.i) : w.start]]
            for t in modifiers:
                a = self.index.actor_at(t.i)
                if a and a.code and a.code != exclude and a.kind in ("state", "company", "organ"):
                    return a.code, "origin"
            for prep_tok in _preps([head], ("from",)):
                code = self.index.resolve(prep_tok, allow_anaphora=False)
                if code and code != exclude:
                    return code, "origin"
            for c in head.children:  # "drones made in Iran", "missiles produced by North Korea"
                if c.dep_ == "acl" and c.lemma_.lower() in (
                    "make",
                    "produce",
                    "build",
                    "manufacture",
                    "design",
                    "supply",
                ):
                    for prep_tok in _preps([c], ("in", "by")):
                        code = self.index.resolve(prep_tok, allow_anaphora=False)
                        if code and code != exclude:
                            return code, "origin"
        for w in theme:
            origin = w.info.origin
            if origin and origin != exclude and origin in self._mentioned:
                return origin, "catalogue"
        return None

    def _story_origins(self) -> dict[str, str]:
        """Per weapon class, the state most often named as the weapons' maker in the story."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for w in self.index.weapons:
            start = max(w.start - 3, 0)
            for a in self.index.actors_in(start, w.start):
                if a.form == "demonym" and a.code:
                    counts[w.info.system_class][a.code] += 1
            if w.info.origin and w.info.origin in self._mentioned:
                counts[w.info.system_class][w.info.origin] += 1
        return {cls: max(c, key=lambda k: c[k]) for cls, c in counts.items() if c}

    def _owner(self, noun: Token) -> str | None:
        """The party a noun belongs to: "Iran's provision", "an Iranian deal"."""
        for child in sorted(noun.children, key=lambda c: -c.i):
            if child.dep_ in ("poss", "amod", "compound", "nmod") and child.i < noun.i:
                code = self.index.resolve(child)
                if code:
                    return code
        for prep_tok in _preps([noun], ("by",)):
            code = self.index.resolve(prep_tok)
            if code:
                return code
        if noun.dep_ == "conj":  # "Iran's provision of drones ... and assistance in building"
            return self._owner(noun.head)
        return None

    def _other_state(self, sent: Span, user: str, trigger: Token) -> str | None:
        """The one other state of the sentence that is not a place or a target."""
        others = []
        for a in self.index.actors_in(sent.start, sent.end):
            if a.code == user or a.kind != "state" or (a.form == "demonym" and not a.made):
                continue
            tok = self.doc[a.start]
            if tok.dep_ == "pobj" and tok.head.lower_ in (
                "in",
                "against",
                "into",
                "on",
                "at",
                "over",
                "across",
                "near",
            ):
                continue
            others.append(a.code)
        distinct = set(others)
        return others[0] if len(distinct) == 1 else None

    # --- special sentence shapes ------------------------------------------------------

    def _copular(self, sent: Span) -> list[Candidate]:
        """ "Iranian drones have been a key weapon for Russia": a weapon role noun."""
        out: list[Candidate] = []
        for token in sent:
            if token.lemma_.lower() not in _ROLE_NOUNS or token.dep_ not in (
                "attr",
                "dobj",
                "appos",
            ):
                continue
            user = next(
                (
                    self.index.resolve(p, allow_anaphora=False)
                    for p in _preps([token], ("for", "of"))
                    if p is not None
                ),
                None,
            )
            user = user or self._owner(token)
            subj = _subject(token.head, [])
            if not user or subj is None:
                continue
            theme = self.index.weapons_in(_np_tokens(subj))
            origin = self._origin(theme, subj, exclude=user)
            if theme and origin:
                r = _Roles(origin[0], user, theme, ["syntax", origin[1]])
                out.extend(self._emit(r, "delivered", sent, False))
        return out

    def _continuation(self, sent: Span, previous: list[Candidate]) -> list[Candidate]:
        """ "It also includes air defence systems": new weapons for the transfer just named."""
        first = sent[0]
        if first.lower_ not in (
            "it",
            "they",
            "this",
            "that",
            "these",
            "the",
        ) or self.index.actors_in(sent.start, sent.end):
            return []
        if not any(
            t.lemma_.lower() in ("include", "involve", "comprise", "cover", "contain") for t in sent
        ):
            return []
        last = previous[-1]
        theme = [w for w in self.index.weapons if sent.start <= w.start < sent.end]
        r = _Roles(last.supplier, last.recipient, theme, ["coref"])
        return self._emit(r, last.status, sent, False)

    # --- candidates -------------------------------------------------------------------

    def _set(self, r: _Roles, side: str, code: str | None, basis: str) -> None:
        if code and getattr(r, side) is None:
            setattr(r, side, code)
            r.basis.append(basis)

    def _emit(self, r: _Roles, status: Status, sent: Span, denied: bool) -> list[Candidate]:
        if not (r.supplier and r.recipient) or r.supplier == r.recipient or not r.theme:
            return []
        confidence = min(_CONFIDENCE.get(b, 0.5) for b in r.basis) if r.basis else 0.5
        if any(t.lemma_.lower() in self.t.hedges or t.lower_ in self.t.hedges for t in sent):
            confidence *= 0.85
        by_class: dict[SystemClass, list[str]] = {}
        for w in r.theme:
            systems = by_class.setdefault(w.info.system_class, [])
            if w.info.name and w.info.name not in systems:
                systems.append(w.info.name)
        return [
            Candidate(
                r.supplier,
                r.recipient,
                cls,
                tuple(systems),
                status,
                round(confidence, 3),
                sent,
                denied,
            )
            for cls, systems in by_class.items()
        ]

    # --- denials ----------------------------------------------------------------------

    def _denials(self, candidates: list[Candidate]) -> set[tuple[str, str]]:
        """(supplier, recipient) pairs whose transfer a named party denies."""
        denied: set[tuple[str, str]] = set()
        sents = list(self.doc.sents)
        transfer_pairs = {(c.supplier, c.recipient) for c in candidates if c.status != "production"}
        for n, sent in enumerate(sents):
            deniers, anaphoric, clause = self._deniers(sent)
            if not deniers:
                continue
            window = {id(s) for s in sents[max(0, n - 2) : n]} if anaphoric else set()
            mentioned = {a.code for a in self.index.actors_in(sent.start, sent.end)}
            for c in candidates:
                if c.status == "production" or not ({c.supplier, c.recipient} & deniers):
                    continue
                same = c.sent.start == sent.start
                before = id(c.sent) in window
                about = clause and ({c.supplier, c.recipient} <= (mentioned | deniers))
                if same or before or about:
                    denied.add(_pair(c))
            # A denial naming the pair with no candidate of its own still marks the pair.
            if clause:
                for pair in transfer_pairs:
                    if set(pair) <= (mentioned | deniers) and set(pair) & deniers:
                        denied.add(pair)
        return denied

    def _deniers(self, sent: Span) -> tuple[set[str], bool, bool]:
        """(who denies, whether the object points back, whether a clause says what)."""
        deniers: set[str] = set()
        anaphoric = clause = False
        lowered = sent.text.lower()
        for token in sent:
            lemma = token.lemma_.lower()
            is_verb = token.pos_ == "VERB" and lemma in self.t.denial_verbs
            is_noun = token.pos_ == "NOUN" and lemma in ("denial", "rejection")
            if not (is_verb or is_noun):
                continue
            if any(c.dep_ == "neg" for c in token.children) or any(
                g.lemma_.lower() in ("refuse", "decline", "fail") for g in self._governors(token)
            ):
                continue  # "has not denied", "refused to deny": no denial
            subj = _subject(token, self._governors(token)) if is_verb else None
            heads = _conjuncts(subj) if subj is not None else []
            if is_noun:
                owner = self._owner(token)
                deniers |= {owner} if owner else set()
            deniers |= {c for c in (self.index.resolve(h) for h in heads) if c}
            obj = _child(token, "dobj")
            if obj is not None and (
                obj.lemma_.lower() in self.t.denial_objects or obj.lower_ in self.t.denial_objects
            ):
                anaphoric = True
            if _child(token, "ccomp") is not None or (
                obj is not None and self._is_transferish(obj)
            ):
                clause = True
            if is_verb and obj is None and _child(token, "ccomp") is None:
                anaphoric = True  # "something both Moscow and Tehran have denied"
        if not deniers and any(_has_phrase(lowered, p) for p in self.t.denial_phrases):
            root = sent.root
            subj = _subject(root, [])
            heads = _conjuncts(subj) if subj is not None else []
            deniers |= {c for c in (self.index.resolve(h) for h in heads) if c}
            clause = True
        return deniers, anaphoric, clause

    def _is_transferish(self, token: Token) -> bool:
        return any(
            self.t.frame_of(t.lemma_.lower(), t.pos_) or self.index.weapon_at(t.i)
            for t in token.subtree
        )


# --- merging ----------------------------------------------------------------------------


def _kind(status: Status) -> str:
    return "production" if status == "production" else "transfer"


def _pair(c: Candidate) -> tuple[str, str]:
    return (c.supplier, c.recipient)


def _with_denied(c: Candidate) -> Candidate:
    return Candidate(
        c.supplier, c.recipient, c.system_class, c.systems, c.status, c.confidence, c.sent, True
    )


def merge(candidates: Iterable[Candidate]) -> list[Transfer]:
    """One Transfer per (supplier, recipient, class, kind): status by weighted vote."""
    groups: dict[tuple[str, str, str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        groups[(c.supplier, c.recipient, c.system_class, _kind(c.status))].append(c)
    transfers: list[Transfer] = []
    for (supplier, recipient, _, _), group in groups.items():
        votes: dict[Status, float] = defaultdict(float)
        for c in group:
            votes[c.status] += c.confidence
        status = max(votes, key=lambda s: (round(votes[s], 6), _STATUS_ORDER[s]))
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
            evidence.append(
                Evidence(sentence=c.sent.text, start=c.sent.start_char, end=c.sent.end_char)
            )
        transfers.append(
            Transfer(
                supplier=supplier,
                recipient=recipient,
                system_class=group[0].system_class,
                systems=tuple(systems),
                status=status,
                denied=any(c.denied for c in group),
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


def _subject(token: Token, chain: list[Token]) -> Token | None:
    for node in (token, *chain):
        for child in node.children:
            if child.dep_ in ("nsubj", "csubj"):
                return child
        # "about Russia seeking to buy": the noun before a gerund is its subject.
        if node.tag_ == "VBG" and node.dep_ == "pcomp":
            pobj = next((c for c in node.head.children if c.dep_ == "pobj" and c.i < node.i), None)
            if pobj is not None:
                return pobj
        if node.tag_ == "VBG" and node.dep_ == "acl" and node.head.pos_ in ("PROPN", "NOUN"):
            return node.head
        if node.dep_ in ("ccomp",) or node.lemma_.lower() in _REPORTING:
            break
    return None


def _conjuncts(token: Token | None) -> list[Token]:
    if token is None:
        return []
    return [token, *(c for c in token.conjuncts)]


def _preps(heads: Iterable[Token], words: tuple[str, ...]) -> list[Token]:
    """Objects of the given prepositions under `heads`, with their conjuncts."""
    out: list[Token] = []
    for head in heads:
        for child in head.children:
            if child.dep_ in ("prep", "agent", "dative") and child.lower_ in words:
                for obj in child.children:
                    if obj.dep_ in ("pobj", "pcomp"):
                        out.extend(_conjuncts(obj))
    return out


def _following_preps(token: Token, words: tuple[str, ...]) -> list[Token]:
    """Surface fallback when the parse is wrong: "... to <actor>" later in the clause."""
    out: list[Token] = []
    for t in token.doc[token.i + 1 : token.sent.end]:
        if t.pos_ == "VERB" and t.dep_ not in ("xcomp", "conj", "acl"):
            break
        if t.lower_ in words and t.i + 1 < token.sent.end:
            nxt = token.doc[t.i + 1]
            nxt = token.doc[t.i + 2] if nxt.lower_ == "the" and t.i + 2 < token.sent.end else nxt
            out.append(nxt)
    return out


def _np_tokens(token: Token) -> list[Token]:
    """A noun phrase's tokens, leaving out relative clauses and verb phrases attached to it."""
    out = [token]
    for child in token.children:
        if child.dep_ in ("relcl", "acl", "advcl", "ccomp"):
            continue
        out.extend(_np_tokens(child))
    return out


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


def _ex(code: str | None) -> frozenset[str]:
    return frozenset({code}) if code else frozenset()
