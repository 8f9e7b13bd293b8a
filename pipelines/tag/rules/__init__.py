"""The rule-based transfer extractor: who supplies what to whom, from the dependency parse.

Doc + DocIndex (state.py)
  -> frames       trigger words (lexicon/triggers.yaml): supply, acquire, use, want,
     frames.py    offer, produce, deal, interdict; status from the words governing the
                  trigger (tense, modality, "agreed to", "plans to", "interested in")
  -> roles        suppliers and recipients from syntax first (subject, agent, "to",
     roles.py     "from", "with", "X's"), then per weapon its origin ("Iranian-made",
     origins.py   "Uvision's", a designation's maker), then light co-reference and the
     pairs.py     story's focus; every list is expanded over conjuncts; production and
     production.py  deals have roles of their own; themes.py finds the weapons
  -> shapes       sentences without a trigger verb: "Saudi-operated Wing Loong",
     shapes.py    "a vessel heading from Iran to Houthi-held ports", "X has been a key
                  weapon for Russia", "It also includes air defence systems"
  -> candidates   emit.py: one Candidate per (supplier, recipient, class) of a rule's roles
  -> denials      a named party denies the transfer (same sentence, "the accusations"
     denials.py   just after, or "denied that X transferred...")
  -> merged       candidate.py: one Transfer per (supplier, recipient, class, kind)

The word sets live in lexicon/rules.yaml (words.py); syntax.py has the dependency helpers.
Each phrasing rule asks `patterns.on(id)` before it applies; lexicon/patterns.yaml registers
it with what it binds, an example and the exact tuples the tagger gives on it.
"""

from .candidate import Candidate, merge
from .extractor import Extractor

__all__ = ["Candidate", "Extractor", "merge"]
