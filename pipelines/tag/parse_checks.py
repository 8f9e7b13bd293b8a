"""Questions the actor index (actors.py) asks of a token's place in the parse."""

from __future__ import annotations

from spacy.tokens import Token


def _opens_sentence(token: Token) -> bool:
    """A subject pronoun, or the possessive of a subject ("Its air force has bombed")."""
    if token.dep_ in ("nsubj", "nsubjpass"):
        return True
    return token.dep_ == "poss" and token.head.dep_ in ("nsubj", "nsubjpass")


def _in_subject(token: Token) -> bool:
    """Is the token (a name, or a modifier of one) part of a clause's subject?"""
    while token.dep_ in ("compound", "poss", "amod", "appos", "conj") and token.head != token:
        token = token.head
    return token.dep_ in ("nsubj", "nsubjpass")


def _reporting_subject(token: Token) -> Token | None:
    """The subject of the clause a pronoun's clause is reported in ("X said it ...")."""
    clause = token.head
    while clause.dep_ not in ("ccomp", "ROOT") and clause.head != clause:
        clause = clause.head
    if clause.dep_ != "ccomp":
        return None
    return next((c for c in clause.head.children if c.dep_ == "nsubj"), None)


def _pobj(prep: Token) -> Token | None:
    for child in prep.children:
        if child.dep_ in ("pobj", "pcomp"):
            return child
    return None


def _definite(token: Token) -> bool:
    determiners = ("the", "this", "that", "its", "their", "his", "her", "our")
    return token.lower_ == "both" or any(
        c.dep_ in ("det", "poss") and c.lower_ in determiners for c in token.children
    )
