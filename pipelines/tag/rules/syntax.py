"""Dependency helpers: subjects, agents, prepositional objects, conjuncts."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from spacy.tokens import Span, Token

from ..actors import WeaponMention
from .words import W


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
