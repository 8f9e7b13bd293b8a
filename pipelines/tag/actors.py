"""Actors and weapons aligned to a parsed Doc, and who a noun phrase refers to.

Doc + gazetteer matches -> DocIndex
  actor mentions      gazetteer names, demonyms, metonyms, companies (to their state),
                      ambiguous names kept only where spaCy's NER agrees, datelines dropped
  persons             "Bolivian Defense Minister Edmundo Novillo" -> Novillo: BO
  weapon mentions     designations and class words
resolve(token)        the actor a noun phrase names, through modifiers ("Bolivia's
                      minister"), persons, and light co-reference ("the country", "it")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span, Token

from .gazetteer import ActorInfo, Gazetteer, WeaponInfo
from .parse_checks import _definite, _in_subject, _opens_sentence, _pobj, _reporting_subject

# Entity labels under which an ambiguous name ("Jordan", "Chad") is taken as an actor.
_AGREEING_LABELS = {
    "state": {"GPE", "NORP", "LOC"},
    "group": {"ORG", "NORP", "GPE"},
    "company": {"ORG", "PRODUCT", "NORP"},
    "organ": {"ORG", "NORP"},
}

STATE_NOUNS = frozenset(
    {
        "country", "nation", "state", "kingdom", "republic", "government", "regime", "emirate",
        "monarchy", "administration", "authorities", "ally", "junta", "capital", "side",
        "partner", "neighbor", "neighbour", "power", "military", "army", "navy", "force",
        "forces", "troops", "ministry", "buyer", "customer", "client",
    }
)  # fmt: skip
# Nouns for a state's rulers and armed forces, which a story uses for one another.
GOVERNMENT_NOUNS = frozenset({"junta", "regime", "military", "government", "army",
                              "authorities", "administration"})  # fmt: skip
GROUP_NOUNS = frozenset(
    {
        "group", "militia", "rebels", "movement", "fighters", "insurgents", "organization",
        "organisation", "faction", "paramilitary", "paramilitaries", "proxies", "proxy",
    }
)  # fmt: skip
COMPANY_NOUNS = frozenset(
    {"company", "firm", "manufacturer", "maker", "contractor", "producer", "developer",
     "exporter"}
)  # fmt: skip
PERSON_NOUNS = frozenset(
    {
        "minister", "official", "president", "leader", "spokesman", "spokeswoman",
        "spokesperson", "ambassador", "envoy", "counterpart", "commander", "general", "chief",
        "secretary", "diplomat", "delegation", "officials", "embassy", "mission", "officer",
        "officers",
    }
)  # fmt: skip
PRONOUNS = frozenset(
    {"it", "its", "they", "their", "them", "he", "his", "she", "her", "we", "our", "us",
     "itself", "themselves"}
)  # fmt: skip
PERSON_PRONOUNS = frozenset({"he", "his", "she", "her", "him"})
# Speakers' pronouns: in an interview, the country the speaker represents.
FIRST_PERSON = frozenset({"we", "our", "us", "ours"})
# Heads whose "of"/"in" complement says who they belong to ("the government of Iran",
# "officials in Tehran"); other nouns' complements are places or topics ("use in Ukraine").
_OWNED_HEADS = STATE_NOUNS | GROUP_NOUNS | PERSON_NOUNS | COMPANY_NOUNS
_MODIFIER_DEPS = frozenset({"compound", "amod", "poss", "nmod", "npadvmod", "nummod"})
_MADE = ("-made", "-built", "-designed", "-manufactured", "-produced", "-supplied", "-origin",
         "-developed", "-provided", "-sourced", "-donated", "-delivered")  # fmt: skip
_SUPPLIED = ("-supplied", "-provided", "-donated", "-delivered", "-sold")
_OPERATED = ("-operated", "-owned", "-flown", "-held", "-controlled", "-run")


@dataclass(frozen=True)
class ActorMention:
    code: str | None
    kind: str
    form: str
    text: str
    start: int  # token indices [start, end)
    end: int
    # "Iranian-made", "Iranian-built": the maker, not the owner.
    made: bool = False
    # "Saudi-operated", "Houthi-held": who has the weapon, not who made it.
    operated: bool = False
    # "Turkish-supplied", "US-donated": the supplier, as plainly as a verb would say it.
    supplied: bool = False


@dataclass(frozen=True)
class WeaponMention:
    info: WeaponInfo
    text: str
    start: int  # token indices
    end: int
    start_char: int
    end_char: int


@dataclass
class DocIndex:
    """Mentions of one Doc, by token, and the memory co-reference needs."""

    doc: Doc
    actors: list[ActorMention] = field(default_factory=list)
    weapons: list[WeaponMention] = field(default_factory=list)
    persons: dict[str, str] = field(default_factory=dict)  # name or surname -> code
    _actor_at: dict[int, ActorMention] = field(default_factory=dict)
    _weapon_at: dict[int, WeaponMention] = field(default_factory=dict)
    _salience: dict[str, int] | None = None
    # Sentences once per Doc: spaCy's Token.sent rescans every sentence on each call.
    sentences: list[Span] = field(default_factory=list)
    ents: list[Span] = field(default_factory=list)  # likewise Doc.ents, rebuilt on each access
    _sentence_of: list[int] = field(default_factory=list)
    # Where a government noun was introduced with its state ("Myanmar's military", "the
    # Malian junta"): token index, lemma, code. Filled on first use.
    _introduced: list[tuple[int, str, str]] | None = None

    @classmethod
    def build(cls, doc: Doc, gazetteer: Gazetteer) -> DocIndex:
        index = cls(doc)
        index.sentences = list(doc.sents)
        index.ents = list(doc.ents)
        index._sentence_of = [0] * len(doc)
        for n, sent in enumerate(index.sentences):
            for i in range(sent.start, sent.end):
                index._sentence_of[i] = n
        entity_of: dict[int, Span] = {t.i: ent for ent in index.ents for t in ent}
        text = doc.text  # Doc.text joins every token anew on each access
        found = [
            (m, span)
            for m in gazetteer.actors(text)
            if (span := doc.char_span(m.start, m.end, alignment_mode="expand")) is not None
        ]
        # One sense per story: "Chad" that spaCy missed once is still the state the story
        # names as one elsewhere ("Chadian", or "Chad" where spaCy saw a place).
        sure = {m.info.code for m, span in found if _accept(m.info, span, entity_of)}
        for m, span in found:
            if not _accept(m.info, span, entity_of) and not (
                m.info.code in sure and all(t.ent_type_ in ("", "ORG", "GPE") for t in span)
            ):
                continue
            if _dateline(text, m.start, m.end):
                continue
            tail = text[m.end : m.end + 14].lower()
            mention = ActorMention(
                m.info.code, m.info.kind, m.info.form, m.text, span.start, span.end,
                made=tail.startswith(_MADE), operated=tail.startswith(_OPERATED),
                supplied=tail.startswith(_SUPPLIED),
            )  # fmt: skip
            index.actors.append(mention)
            for i in range(span.start, span.end):
                index._actor_at[i] = mention
        for w in gazetteer.weapons(text):
            span = doc.char_span(w.start, w.end, alignment_mode="expand")
            if span is None:
                continue
            wm = WeaponMention(w.info, w.text, span.start, span.end, w.start, w.end)
            index.weapons.append(wm)
            for i in range(span.start, span.end):
                # A weapon word inside an actor name ("Drone Corps") stays an actor.
                if i not in index._actor_at:
                    index._weapon_at[i] = wm
        index._learn_persons()
        return index

    def _learn_persons(self) -> None:
        """Map people to their state from the phrase that introduces them."""
        for ent in self.ents:
            if ent.label_ != "PERSON":
                continue
            code = self._person_state(ent)
            if code:
                self.persons.setdefault(ent.text, code)
                self.persons.setdefault(ent[-1].text, code)

    def _person_state(self, ent: Span) -> str | None:
        # "Bolivian Defense Minister Edmundo Novillo", "Iran's foreign minister, Hossein X":
        # the actor among the tokens just before the name, within the same noun phrase.
        head = ent.root
        for token in [*head.lefts, *(c for t in head.lefts for c in t.subtree)]:
            mention = self._actor_at.get(token.i)
            if mention and mention.code and mention.kind in ("state", "organ"):
                return mention.code
        if head.dep_ == "appos":
            return self.resolve(head.head, allow_anaphora=False)
        for child in head.children:
            if child.dep_ == "appos":
                found = self.resolve(child, allow_anaphora=False)
                if found:
                    return found
        return None

    # --- lookups ----------------------------------------------------------------------

    def sent_of(self, i: int) -> Span:
        """The sentence holding token `i`."""
        return self.sentences[self._sentence_of[i]]

    def sentence_start_before(self, i: int, n: int) -> int:
        """Token index where the sentence `n` sentences before token `i`'s starts."""
        return self.sentences[max(0, self._sentence_of[i] - n)].start

    def actor_at(self, i: int) -> ActorMention | None:
        return self._actor_at.get(i)

    def weapon_at(self, i: int) -> WeaponMention | None:
        return self._weapon_at.get(i)

    def weapons_in(self, tokens: Iterable[Token]) -> list[WeaponMention]:
        seen: dict[int, WeaponMention] = {}
        for t in tokens:
            w = self._weapon_at.get(t.i)
            if w is not None:
                seen.setdefault(w.start, w)
        return [seen[k] for k in sorted(seen)]

    def actors_in(self, start: int, end: int) -> list[ActorMention]:
        seen: dict[int, ActorMention] = {}
        for i in range(start, end):
            a = self._actor_at.get(i)
            if a is not None and a.code:
                seen.setdefault(a.start, a)
        return [seen[k] for k in sorted(seen)]

    @property
    def salience(self) -> dict[str, int]:
        """How often each party is named (makers in "Chinese-made" not counted)."""
        if self._salience is None:
            counts: dict[str, int] = {}
            for m in self.actors:
                if m.code and not m.made and m.kind in ("state", "group", "organ"):
                    counts[m.code] = counts.get(m.code, 0) + 1
            self._salience = counts
        return self._salience

    def focus(self, exclude: frozenset[str] = frozenset()) -> str | None:
        """The party the story is most about (named most often), other than `exclude`."""
        ranked = sorted(((n, c) for c, n in self.salience.items() if c not in exclude),
                        reverse=True)  # fmt: skip
        if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
            return None
        return ranked[0][1]

    # --- resolution -------------------------------------------------------------------

    def resolve(
        self,
        token: Token,
        *,
        allow_anaphora: bool = True,
        exclude: frozenset[str] = frozenset(),
        depth: int = 0,
    ) -> str | None:
        """The actor code a noun phrase headed by `token` refers to, if any."""
        if depth > 4:
            return None
        mention = self._actor_at.get(token.i)
        if mention is not None:
            return mention.code if mention.code not in exclude else None
        if token.ent_type_ == "PERSON":
            code = self.persons.get(token.text)
            if code and code not in exclude:
                return code
        # "Croatia, which bought Rafales": a relative pronoun is the noun its clause hangs on.
        # ("In the Gulf, Kuwait, which": the parser may hang the clause on a conjunct; the
        # nearest one before the pronoun is meant.)
        if token.lower_ in ("which", "who", "that") and token.head.dep_ == "relcl":
            return self._relative(token, allow_anaphora, exclude, depth)
        # Modifiers: "Bolivia's minister", "the Bolivian minister", "Iran drones".
        for child in sorted(token.children, key=lambda c: -c.i):
            if child.dep_ in _MODIFIER_DEPS and child.i < token.i:
                named = self._actor_at.get(child.i)
                if named is not None and named.code in exclude:
                    # "the Turkish Air Force" with Turkey excluded is still Turkey's: no
                    # other party may be guessed for it.
                    return None
                code = self.resolve(child, allow_anaphora=allow_anaphora, exclude=exclude,
                                    depth=depth + 1)  # fmt: skip
                if code:
                    return code
        code = self._owned(token, exclude, depth)
        if code:
            return code
        if allow_anaphora:
            return self.antecedent(token, exclude=exclude)
        return None

    def _owned(self, token: Token, exclude: frozenset[str], depth: int) -> str | None:
        """ "the government of Iran", "officials in Tehran", "Novillo, Bolivia's minister"."""
        owned = token.lemma_.lower() in _OWNED_HEADS or token.lower_ in _OWNED_HEADS
        for child in token.children:
            target: Token | None = None
            if child.dep_ == "appos":
                target = child
            elif child.dep_ == "prep" and child.lower_ in ("of", "in", "from") and owned:
                target = _pobj(child)
            if target is not None:
                code = self.resolve(target, allow_anaphora=False, exclude=exclude,
                                    depth=depth + 1)  # fmt: skip
                if code:
                    return code
        return None

    def _relative(
        self, token: Token, allow_anaphora: bool, exclude: frozenset[str], depth: int
    ) -> str | None:
        """What a relative pronoun stands for: the nearest noun before it that resolves."""
        noun = token.head.head
        nouns = sorted((n for n in (noun, *noun.conjuncts) if n.i < token.i),
                       key=lambda n: -n.i)  # fmt: skip
        for n in nouns:
            code = self.resolve(n, allow_anaphora=allow_anaphora, exclude=exclude,
                                depth=depth + 1)  # fmt: skip
            if code:
                return code
        return None

    def antecedent(self, token: Token, *, exclude: frozenset[str] = frozenset()) -> str | None:
        """Light co-reference for pronouns and definite descriptions ("the country")."""
        word = token.lower_
        lemma = token.lemma_.lower()
        kinds: tuple[str, ...]
        if word in FIRST_PERSON:
            return self._previous_person(token, exclude) or self.focus(exclude)
        if word in PERSON_PRONOUNS or lemma in PERSON_NOUNS:
            person = self._previous_person(token, exclude)
            if person:
                return person
            kinds = ("state", "organ")
        elif word in PRONOUNS:
            return self._pronoun_antecedent(token, exclude)
        elif lemma in STATE_NOUNS and _definite(token):
            introduced = self._introduced_as(token, exclude)
            if introduced:
                return introduced
            kinds = ("state", "organ")
        elif lemma in GROUP_NOUNS and _definite(token):
            kinds = ("group",)
        elif lemma in COMPANY_NOUNS and _definite(token):
            kinds = ("company",)
        else:
            return None
        # "his country": the country of the person "his" points to.
        for child in token.children:
            if child.dep_ == "poss" and child.lower_ in PERSON_PRONOUNS:
                person = self._previous_person(child, exclude)
                if person:
                    return person
        return self._previous_actor(token, kinds, exclude)

    def _pronoun_antecedent(self, token: Token, exclude: frozenset[str]) -> str | None:
        """ "it", "they": the reporting subject, the last subject, or the last party."""
        # "Venezuela had said it was building drones": the reporting clause's subject.
        speaker = _reporting_subject(token)
        if speaker is not None and speaker.i < token.i:
            code = self.resolve(speaker, allow_anaphora=False, exclude=exclude)
            if code:
                return code
        if _opens_sentence(token) and token.i - self.sent_of(token.i).start <= 1:
            # "Germany is a donor. It has delivered...": a sentence-initial pronoun
            # continues the previous sentence's subject.
            code = self._previous_subject(token, exclude)
            if code:
                return code
        return self._previous_actor(
            token, ("state", "group", "organ", "company"), exclude, salient=False
        )

    def _previous_actor(
        self, token: Token, kinds: tuple[str, ...], exclude: frozenset[str], salient: bool = True
    ) -> str | None:
        """The antecedent: recent, and among recent ones the story's main party."""
        window_start = self.sentence_start_before(token.i, 2)
        recent: dict[str, tuple[bool, int]] = {}
        for mention in self.actors:
            if mention.start >= token.i or mention.start < window_start:
                continue
            if not mention.code or mention.kind not in kinds or mention.code in exclude:
                continue
            if mention.made:  # "Chinese-made": the maker, never the one referred to
                continue
            subject = _in_subject(self.doc[mention.end - 1])
            best = recent.get(mention.code, (False, -1))
            recent[mention.code] = (best[0] or subject, mention.start)
        if not recent:
            return None
        # "the junta", "the kingdom": the state the story is about beats the one named last,
        # and a subject ("The Pakistan Air Force received...") beats a "from China".
        salience = self.salience if salient else {}
        return max(recent, key=lambda c: (salience.get(c, 0) >= 3, recent[c][0], recent[c][1]))

    def _previous_subject(self, token: Token, exclude: frozenset[str]) -> str | None:
        start = self.sent_of(token.i).start
        if start == 0:
            return None
        previous = self.sent_of(start - 1)
        for t in previous:
            if t.dep_ in ("nsubj", "nsubjpass") and t.head == previous.root:
                code = self.resolve(t, allow_anaphora=False, exclude=exclude)
                if code is None:
                    # "The junta's response relied on airpower. Its air force...": a
                    # government noun introduced earlier with its state.
                    nouns = [n for n in t.subtree if n.lemma_.lower() in STATE_NOUNS
                             and _definite(n)]  # fmt: skip
                    code = next((c for n in nouns if (c := self._introduced_as(n, exclude))),
                                None)  # fmt: skip
                return code
        return None

    def _introduced_as(self, token: Token, exclude: frozenset[str]) -> str | None:
        """The state a definite government noun was introduced with ("Myanmar's military
        ... the junta"): the same noun first, else any of the government nouns."""
        lemma = token.lemma_.lower()
        if self._introduced is None:
            self._introduced = []
            for t in self.doc:
                noun = t.lemma_.lower()
                if noun not in STATE_NOUNS or t.pos_ not in ("NOUN", "PROPN"):
                    continue
                for child in t.children:
                    mention = self._actor_at.get(child.i)
                    if (child.dep_ in ("poss", "amod", "compound") and mention is not None
                            and mention.code and mention.kind == "state"):  # fmt: skip
                        self._introduced.append((t.i, noun, mention.code))
                        break
        earlier = [(i, n, c) for i, n, c in self._introduced if i < token.i and c not in exclude]
        same = [(i, c) for i, n, c in earlier if n == lemma]
        # "Its air force ... flown by the air force": the same noun under a possessive
        # pronoun, if nearer, is introduced by whatever the pronoun stands for.
        owned_by_pronoun = [
            t for t in self.doc[same[-1][0] + 1 if same else 0 : token.i]
            if t.lemma_.lower() == lemma and t.pos_ == "NOUN"
            and any(c.dep_ == "poss" and c.lower_ in ("its", "their") for c in t.children)
        ]  # fmt: skip
        if owned_by_pronoun:
            pronoun = next(c for c in owned_by_pronoun[-1].children if c.dep_ == "poss")
            code = self.antecedent(pronoun, exclude=exclude)
            if code:
                return code
        if same:
            return same[-1][1]
        if lemma in GOVERNMENT_NOUNS:
            kin = [c for _, n, c in earlier if n in GOVERNMENT_NOUNS]
            if kin:
                return kin[-1]
        return None

    def _previous_person(self, token: Token, exclude: frozenset[str]) -> str | None:
        window_start = self.sentence_start_before(token.i, 2)
        for ent in reversed(self.ents):
            if ent.start >= token.i or ent.start < window_start:
                continue
            if ent.label_ == "PERSON":
                code = self.persons.get(ent.text) or self.persons.get(ent[-1].text)
                if code and code not in exclude:
                    return code
                return None  # the nearest person is unknown: do not guess past them
        return None


def _accept(info: ActorInfo, span: Span, entity_of: dict[int, Span]) -> bool:
    """Unambiguous names always; ambiguous ones ("Jordan", "Chad") where spaCy agrees."""
    if not info.ambiguous:
        return True
    labels = _AGREEING_LABELS.get(info.kind, set())
    return any(t.i in entity_of and entity_of[t.i].label_ in labels for t in span)


def _dateline(text: str, start: int, end: int) -> bool:
    """ "LONDON —", "TEHRAN (state media) —": where a story was filed, not an actor in it."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if before.strip(" ,/.") and not before.isupper():
        return False
    if end - start < 3 or not text[start:end].isupper():
        return False
    rest = text[end : end + 80]
    return "—" in rest[:60] or " - " in rest[:40] or rest.lstrip().startswith(("(", ",", "/"))
