"""Features of a candidate: what the rules said, where its parties stand, what surrounds it.

Each feature is a string (present or not). Families, by prefix:
    rule:    the rules' opinion (the exact tuple, its status and denial, the reverse tuple)
    s_, r_:  the supplier's and the recipient's mentions in the anchor sentences: dependency
             label, governing word and its trigger frame, preposition, form (name, demonym,
             "Iranian-made"), kind (state, group, company), salience in the story
    sent:    the anchor sentences: trigger frames, verbs, negation, hedges, denials
    lem:     lemmas of the anchor sentences where both parties are named (status, denial)
    cand:    class, kind, how often and how close the parties and the weapon meet
The weights that turn them into a probability are learned (tools/train.py).
"""

from __future__ import annotations

from spacy.tokens import Token

from ..actors import ActorMention, DocIndex
from ..triggers import Triggers
from .candidates import Candidate, Occurrence

# How a dependency label reads for a party (spaCy's labels folded into a few roles).
_ROLE = {"nsubj": "subj", "nsubjpass": "subjpass", "dobj": "obj", "pobj": "pobj",
         "poss": "poss", "compound": "mod", "amod": "mod", "nmod": "mod", "appos": "appos",
         "conj": "conj", "dative": "dative", "attr": "attr", "agent": "agent"}  # fmt: skip
_STOP_POS = frozenset({"DET", "PUNCT", "SPACE", "NUM", "CCONJ", "PRON", "PROPN", "SYM", "X"})


def _rank(index: DocIndex, code: str) -> str:
    ranked = sorted(index.salience.items(), key=lambda kv: -kv[1])
    for n, (c, _) in enumerate(ranked[:3]):
        if c == code:
            return str(n + 1)
    return "4+"


def _governor(token: Token) -> Token:
    """The word a party's phrase hangs from: through a preposition, and through 'of'."""
    head = token.head
    if token.dep_ == "pobj" and head.dep_ in ("prep", "agent"):
        return head.head
    return head


def mention_features(p: str, m: ActorMention, index: DocIndex, t: Triggers) -> set[str]:
    """One party's mention: its role in the sentence (`p` is the "s" or "r" prefix)."""
    root = index.doc[m.start : m.end].root
    role = _ROLE.get(root.dep_, "other")
    gov = _governor(root)
    frame = t.frame_of(gov.lemma_.lower(), gov.pos_) or "none"
    out = {f"{p}_role:{role}", f"{p}_frame:{frame}", f"{p}_roleframe:{role}:{frame}",
           f"{p}_gov:{gov.lemma_.lower()}", f"{p}_form:{m.form}", f"{p}_kind:{m.kind}"}  # fmt: skip
    if root.dep_ == "pobj":
        prep = root.head.lower_
        out |= {f"{p}_prep:{prep}", f"{p}_prepframe:{prep}:{frame}"}
    if index.weapon_at(gov.i) is not None or index.weapon_at(root.head.i) is not None:
        out.add(f"{p}_modifies_weapon:{role}")
    for flag in ("made", "supplied", "operated"):
        if getattr(m, flag):
            out.add(f"{p}_{flag}")
    return out


def sentence_features(index: DocIndex, n: int, t: Triggers) -> set[str]:
    out = set()
    for tok in index.sentences[n]:
        lemma = tok.lemma_.lower()
        frame = t.frame_of(lemma, tok.pos_)
        if frame:
            out.add(f"sent_frame:{frame}")
        if tok.pos_ == "VERB":
            out.add(f"sent_verb:{lemma}")
        if tok.dep_ == "neg" or lemma in t.negating:
            out.add("sent_neg")
        if lemma in t.hedges:
            out.add("sent_hedge")
        if lemma in t.denial_verbs:
            out.add("sent_deny")
        if tok.tag_ == "MD":
            out.add(f"sent_modal:{lemma}")
    return out


def lemma_features(index: DocIndex, n: int) -> set[str]:
    return {
        f"lem:{tok.lemma_.lower()}"
        for tok in index.sentences[n]
        if tok.pos_ not in _STOP_POS and not tok.is_stop and tok.is_alpha
    }


def path_features(s: ActorMention, r: ActorMention, index: DocIndex, t: Triggers) -> set[str]:
    """The dependency path between the two parties through their lowest common ancestor,
    with that word's trigger frame: the classic feature of relation extraction."""
    a = index.doc[s.start : s.end].root
    b = index.doc[r.start : r.end].root
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    common = next((x for x in up_a if x in up_b), None)
    if common is None or len(up_a) + len(up_b) > 24:
        return {"path:none"}
    left = [x.dep_ for x in up_a[: up_a.index(common)]]
    right = [x.dep_ for x in up_b[: up_b.index(common)]]
    frame = t.frame_of(common.lemma_.lower(), common.pos_) or common.pos_
    path = "^".join(left) + f"^{frame}_" + "_".join(reversed(right))
    out = {f"path:{path}", f"path_lca:{frame}", f"path_len:{min(len(left) + len(right), 6)}"}
    if common.i in (a.i, b.i):
        out.add("path:dominates")
    return out


def occurrence_features(o: Occurrence, index: DocIndex, t: Triggers) -> set[str]:
    out = {f"cand_dist:{o.distance}"}
    if o.via_focus[0]:
        out.add("s_via_focus")
    if o.via_focus[1]:
        out.add("r_via_focus")
    for m in o.supplier:
        out |= mention_features("s", m, index, t)
    for m in o.recipient:
        out |= mention_features("r", m, index, t)
    if o.supplier and o.recipient:
        out.add("cand_both_in_sentence")
        first = "s" if o.supplier[0].start < o.recipient[0].start else "r"
        out.add(f"cand_first:{first}")
        out |= path_features(o.supplier[0], o.recipient[0], index, t)
        out |= lemma_features(index, o.sentence)
    out |= sentence_features(index, o.sentence, t)
    if o.sentence == 0:
        out.add("cand_in_title")
    return out


def rule_features(c: Candidate) -> set[str]:
    out = set()
    if c.rule is not None:
        out |= {"rule:exact", f"rule:status:{c.rule.status}"}
        if c.rule.denied:
            out.add("rule:denied")
    else:
        out.add("rule:none")
    if c.reverse_rule is not None:
        out.add("rule:reverse")
    return out


def candidate_features(c: Candidate, index: DocIndex) -> set[str]:
    """What holds for the candidate as a whole: the rules' opinion, class, kind, salience."""
    out = rule_features(c) | {
        f"cand_class:{c.system_class}",
        f"cand_kind:{c.kind}",
        f"cand_classkind:{c.system_class}:{c.kind}",
        f"s_rank:{_rank(index, c.supplier)}",
        f"r_rank:{_rank(index, c.recipient)}",
        f"cand_occurrences:{min(len(c.occurrences), 3)}",
    }
    if c.systems:
        out.add("cand_named_system")
    both = sum(1 for o in c.occurrences if o.supplier and o.recipient)
    out.add(f"cand_both:{min(both, 2)}")
    return out


def instances(c: Candidate, index: DocIndex, t: Triggers) -> list[set[str]]:
    """One feature set per occurrence (the candidate's own features with that sentence's):
    the transfer model scores each and keeps the best, as a reader does with the one
    sentence that states a transfer. A candidate only the rules found has one, bare."""
    whole = candidate_features(c, index)
    return [whole | occurrence_features(o, index, t) for o in c.occurrences] or [whole]


def features(c: Candidate, index: DocIndex, t: Triggers) -> set[str]:
    """Every feature of one candidate (the union over its occurrences): status, denial."""
    return set().union(*instances(c, index, t))
