"""Denials and confirmations: a named party denies (or admits) the transfer."""

from __future__ import annotations

from collections import defaultdict

from spacy.tokens import Span, Token

from .candidate import Candidate, _Denied, _pair
from .frames import _governors
from .origins import _owner
from .patterns import on
from .state import State
from .syntax import _child, _conjuncts, _content_clause, _has_phrase, _subject
from .words import W


def _denials(x: State, candidates: list[Candidate]) -> dict[_Denied, frozenset[str]]:
    """(supplier, recipient, class) whose transfer a named party denies -> the parties
    who do; class None: any ("denied that Moscow was negotiating the S-400" leaves the
    Su-35 deal standing)."""
    denied: defaultdict[_Denied, frozenset[str]] = defaultdict(frozenset)
    sents = x.index.sentences
    pairs = {_pair(c) for c in candidates if c.status != "production"}
    for n, sent in enumerate(sents):
        deniers, anaphoric, clause = _deniers(x, sent)
        if not deniers:
            continue
        here = any(c.sent.start == sent.start and {c.supplier, c.recipient} & deniers
                   for c in candidates)  # fmt: skip
        # "X say Iranian drones are a key weapon for Russia, something both Moscow and
        # Tehran have denied": the claim of this sentence, not those before it.
        window = (
            {s.start for s in sents[max(0, n - 3) : n]}
            if on("denial.earlier_sentences") and anaphoric and not here
            else set()
        )
        mentioned = {a.code for a in x.index.actors_in(sent.start, sent.end)}
        for c in candidates:
            if c.status == "production" or not ({c.supplier, c.recipient} & deniers):
                continue
            if c.sent.start == sent.start or c.sent.start in window:
                key = (*_pair(c), c.system_class)
                denied[key] |= deniers & {c.supplier, c.recipient}
        if on("denial.clause_pair") and clause:
            # "denied supplying the Houthis with weapons": the pair named in the denial,
            # for the kinds of weapon it names, if it names any.
            named: set[str | None] = {w.info.system_class for w in x.index.weapons_in(sent)
                                      if w.info.name}  # fmt: skip
            for pair in pairs:
                if set(pair) & deniers and set(pair) <= (mentioned | deniers):
                    for cls in named or {None}:
                        denied[(*pair, cls)] |= deniers & set(pair)
    return denied


def _confirmations(x: State) -> dict[int, frozenset[str]]:
    """Sentence start -> who confirms what it reports ("Iran admitted it had sent", "Tehran
    acknowledged supplying"): the subject of an unnegated confirming verb."""
    out: dict[int, frozenset[str]] = {}
    for sent in x.index.sentences:
        found: set[str] = set()
        for token in sent:
            if token.pos_ != "VERB" or token.lemma_.lower() not in x.t.confirmation_verbs:
                continue
            governors = _governors(x, token)
            if any(c.dep_ == "neg" for c in token.children) or any(
                g.lemma_.lower() in ("refuse", "decline", "fail") for g in governors
            ):
                continue  # "has not confirmed", "declined to confirm"
            subj = _subject(token, governors)
            found |= {c for h in _conjuncts(subj) if (c := x.index.resolve(h))}
        if found:
            out[sent.start] = frozenset(found)
    return out


def _deniers(x: State, sent: Span) -> tuple[set[str], bool, bool]:
    """(who denies, whether the object points back, whether its clause names a transfer)."""
    deniers: set[str] = set()
    anaphoric = clause = False
    for token in sent:
        found = _denial_at(x, token) if on("denial.verb") else None
        if found is not None:
            deniers |= found[0]
            anaphoric |= found[1]
            clause |= found[2]
    lowered = sent.text.lower()
    phrases = [p for p in x.t.denial_phrases if _has_phrase(lowered, p)]
    if on("denial.phrase") and not deniers and phrases:
        subj = _subject(sent.root, [])
        deniers |= {c for h in _conjuncts(subj) if (c := x.index.resolve(h))}
        # "never supplied drones to Russia" names the pair; "despite claims to the
        # contrary" or "called the reports baseless" point at this or the last sentences.
        clause = any(p.startswith(("never", "not", "did not", "has not", "have not"))
                     for p in phrases) and _is_transferish(x, sent.root)  # fmt: skip
        anaphoric = any(t.lemma_.lower() in x.t.denial_objects and t.pos_ == "NOUN"
                        for t in sent)  # fmt: skip
    return deniers, anaphoric, clause


def _denial_at(x: State, token: Token) -> tuple[set[str], bool, bool] | None:
    """_deniers' answer for one denial verb or noun; None when the word denies nothing."""
    lemma = token.lemma_.lower()
    is_verb = token.pos_ == "VERB" and lemma in x.t.denial_verbs
    is_noun = token.pos_ == "NOUN" and lemma in ("denial", "rejection")
    if not (is_verb or is_noun):
        return None
    governors = _governors(x, token)
    if any(c.dep_ == "neg" for c in token.children) or any(
        g.lemma_.lower() in ("refuse", "decline", "fail") for g in governors
    ):
        return None  # "has not denied", "refused to deny": no denial
    obj = _child(token, "dobj")
    complement = _child(token, "ccomp") or _child(token, "xcomp")
    # "denied a report that deliveries were delayed": the report's own clause says
    # what is denied; the object does not point back at an earlier sentence.
    content = _content_clause(obj) if obj is not None else None
    if content is not None:
        obj = None
        complement = complement or content
    anaphoric = obj is not None and (obj.lemma_.lower() in x.t.denial_objects
                                     or obj.lower_ in x.t.denial_objects)  # fmt: skip
    if complement is not None and not _denies_transfer(x, complement):
        # "denied that deliveries had been delayed", "rejected reports that Israeli
        # personnel had operated the drones": the transfer itself stands.
        return set(), anaphoric, False
    deniers: set[str] = set()
    if is_noun:
        owner = _owner(x, token)
        deniers |= {owner} if owner else set()
    else:
        subj = _subject(token, governors)
        deniers |= {c for h in _conjuncts(subj) if (c := x.index.resolve(h))}
    clause = any(part is not None and _is_transferish(x, part) for part in (complement, obj))
    if is_verb and obj is None and complement is None:
        anaphoric = True  # "something both Moscow and Tehran have denied"
    return deniers, anaphoric, clause


def _denies_transfer(x: State, clause: Token) -> bool:
    """Whether a denied clause is about the transfer, not a delay of it or who flew it."""
    lemma = clause.lemma_.lower()
    if lemma in W.disruptions or lemma in x.t.negating:
        return False
    if x.t.frame_of(lemma, clause.pos_) == "use":
        subj = _child(clause, "nsubj")
        return subj is None or subj.lemma_.lower() not in W.personnel
    return True


def _is_transferish(x: State, token: Token) -> bool:
    """Says that weapons moved (a deal or a meeting denied is not a transfer denied)."""
    return any(
        x.t.frame_of(t.lemma_.lower(), t.pos_) in ("supply", "acquire", "use")
        or x.index.weapon_at(t.i) or t.lower_ in ("weapons", "arms")
        for t in token.subtree
    )  # fmt: skip
