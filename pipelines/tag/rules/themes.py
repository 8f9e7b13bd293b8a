"""The weapons a trigger is about: its theme phrase, lists, or weapons named before."""

from __future__ import annotations

from spacy.tokens import Span, Token

from ..actors import WeaponMention
from .frames import _governors
from .patterns import on
from .state import State
from .syntax import _child, _conjuncts, _last_named, _np_tokens, _preps, _relative_antecedent
from .words import W


def _know_how(x: State, token: Token) -> bool:
    theme = _theme_token(x, token)
    if theme is None:
        return False
    return any(t.lower_ in W.know_how for t in _conjuncts(theme))


def _theme_token(x: State, token: Token) -> Token | None:
    if token.dep_ in ("acl", "relcl") and _is_weaponish(x, token.head):
        return token.head
    if token.dep_ in ("amod", "compound") and token.tag_ == "VBN":
        # "Turkish-supplied Bayraktar TB2 drones": the noun the participle describes.
        noun = token.head
        while noun.dep_ == "compound" and noun.head != noun:
            noun = noun.head
        if _is_weaponish(x, noun):
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
        if x.index.weapons_in(_np_tokens(child)):
            return child
    if objects:
        return objects[0]
    subj = _child(token, "nsubj")
    if subj is not None and _weapon_subject(x, token, subj):
        return subj
    for obj in _preps([token], ("of", "in", "for", "on", "with", "over", "about")):
        if _is_weaponish(x, obj):
            return obj
    return None


def _weapon_subject(x: State, token: Token, subj: Token) -> bool:
    """ "the TB2s delivered to Bangladesh continue to fly", parsed with `delivered` as the
    main verb: weapons do not supply or acquire, so a weapon subject of an object-less
    past form of those verbs is what was moved (a passive the parser missed)."""
    return (
        token.tag_ in ("VBD", "VBN")
        and not any(c.dep_ in ("dobj", "aux", "auxpass") for c in token.children)
        and x.t.frame_of(token.lemma_.lower(), "VERB") in ("supply", "acquire")
        and bool(x.index.weapons_in(_np_tokens(subj)))
    )


def _is_weaponish(x: State, token: Token) -> bool:
    """The noun phrase itself names a weapon (not a clause hanging from it)."""
    return bool(x.index.weapons_in(_np_tokens(token))) or token.lower_ in W.generic_themes


def _theme(x: State, token: Token, theme_tok: Token | None, sent: Span,
           production: bool = False) -> list[WeaponMention]:  # fmt: skip
    """The weapons of a trigger: its theme phrase, lists after it, or ones named before."""
    found = _theme_phrase(x, token, theme_tok) if theme_tok is not None else []
    if not found and token.pos_ in ("NOUN", "PROPN"):
        found = x.index.weapons_in(_np_tokens(token))
    if (
        on("theme.includes")
        and not found
        and token.dep_ == "nsubj"
        and token.head.lemma_.lower() in W.containing
    ):
        # "Germany's latest aid to Ukraine includes four IRIS-T systems".
        found = [w for c in token.head.children if c.dep_ == "dobj"
                 for w in x.index.weapons_in(c.subtree)]  # fmt: skip
    if not found and production:
        found = _production_theme(x, token)
    # "... three Patriot batteries, as well as HIMARS", "sales, including F-15 jets".
    list_heads = [token, *([theme_tok] if theme_tok is not None else [])]
    if token.pos_ in ("NOUN", "PROPN"):
        # "approved $20 billion in weapons sales to Israel, including F-15 jets".
        for node in _governors(x, token):
            list_heads.append(node)
            if node.pos_ == "VERB":
                break
    for obj in _preps(list_heads, (*W.list_preps, "with") if found or theme_tok is None
                      else W.list_preps) if on("theme.list") else []:  # fmt: skip
        for w in x.index.weapons_in(obj.subtree):
            if w not in found:
                found.append(w)
    if found:
        return found
    return _theme_before(x, token, theme_tok, sent)


def _theme_phrase(x: State, token: Token, theme_tok: Token) -> list[WeaponMention]:
    """The weapons of the theme phrase, with the parts of it the parser split off."""
    found = x.index.weapons_in(_np_tokens(theme_tok))
    # "supplied L-39 jets": a designation the tagger took for punctuation, left hanging
    # from the verb right before the object.
    stray = [c for c in token.children if c.dep_ in ("punct", "dep", "nummod", "npadvmod")
             and 0 < theme_tok.left_edge.i - c.i <= 2]  # fmt: skip
    found += [
        w for w in x.index.weapons_in(stray) if w not in found and on("theme.stray_designation")
    ]
    for sibling in theme_tok.head.children:  # "Chinese CH-4 and CH-5 drones", split up
        if sibling != theme_tok and sibling.dep_ in ("dobj", "dep") and sibling.head == token:
            found += [w for w in x.index.weapons_in(_np_tokens(sibling)) if w not in found]
    # "received CH-92A drones alongside Chinese air defence systems": a second theme.
    for obj in _preps([token, theme_tok], ("alongside",)) if on("theme.alongside") else []:
        found += [w for w in x.index.weapons_in(_np_tokens(obj)) if w not in found]
    return found


def _production_theme(x: State, token: Token) -> list[WeaponMention]:
    """ "a plant that assembles missiles", "building drones": the trigger's own phrase."""
    found = x.index.weapons_in(token.subtree)
    if not found and token.dep_ == "compound":
        found = x.index.weapons_in(token.head.subtree)
    verb = next((g for g in _governors(x, token) if g.pos_ == "VERB"), None)
    if not found and verb is not None:
        # "set up an assembly line at the base for the Mohajer-2".
        subject = {t.i for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")
                   for t in c.subtree}  # fmt: skip
        found = x.index.weapons_in(t for t in verb.subtree if t.i not in subject)
    return found


def _theme_before(
    x: State, token: Token, theme_tok: Token | None, sent: Span
) -> list[WeaponMention]:
    """Weapons named before that a pronoun or a definite noun points back to."""
    # Only a pronoun points back to a weapon named before ("hundreds of them").
    pronoun = theme_tok is not None and (
        any(t.lower_ in W.theme_pronouns for t in _np_tokens(theme_tok))
        # "interest in the system", "the type": a definite description of a weapon.
        or (theme_tok.lower_ in W.generic_themes
            and any(c.lower_ == "the" for c in theme_tok.children))
    )  # fmt: skip
    before = _named_before(x, token, sent)
    if (
        on("theme.same_head_noun")
        and not pronoun
        and theme_tok is not None
        and any(
            c.dep_ == "det" and c.lower_ in ("the", "these", "those") for c in theme_tok.children
        )
    ):
        # "F-16 fighter jets ... The jets were supplied by Denmark": the same head noun.
        lemma = theme_tok.lemma_.lower()
        same = [w for w in before if x.doc[w.end - 1].lemma_.lower() == lemma]
        return same[-1:]
    if not pronoun or not on("theme.pronoun"):
        return []
    # "Iranian-made missiles and cruise missile components ... these weapons".
    return _last_named(before)


def _named_before(x: State, token: Token, sent: Span) -> list[WeaponMention]:
    """Weapons named from the previous sentence's start up to `token`."""
    start = x.index.sentence_start_before(sent.start, 1)
    return [w for w in x.index.weapons if start <= w.start < token.i]
