"""The trained transfer model: which candidates are transfers, their status and denial.

Three models over the same string features (features.py), trained by tools/train.py on
corpus/train and stored in `weights.json` beside this file:
    transfer  boosted trees (trees.py) or a linear score over each occurrence of a
              candidate; the best occurrence, Platt-calibrated, is P(the story reports this
              transfer): the record's `confidence`; kept when above the threshold chosen on
              held-out folds
    status    delivered / agreed / sought for a kept transfer (production is its kind):
              the rules' status where the rules found the same tuple (more accurate there
              on dev), else a linear model
    denied    P(a party denies it), linear
Of a pair kept in both directions, the likelier direction stays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...record import Evidence, Transfer
from ..actors import DocIndex
from ..triggers import Triggers
from .candidates import Candidate, propose
from .features import instances
from .trees import Trees

if TYPE_CHECKING:
    from .gate import Gate

WEIGHTS = Path(__file__).with_name("weights.json")
STATUSES = ("delivered", "agreed", "sought")


@dataclass(frozen=True)
class Linear:
    """A linear score over string features: bias + the sum of the present features' weights."""

    bias: float
    weights: dict[str, float]

    def score(self, feats: Iterable[str]) -> float:
        w = self.weights
        return self.bias + sum(w.get(f, 0.0) for f in feats)

    def scores(self, batch: Sequence[Iterable[str]]) -> list[float]:
        return [self.score(f) for f in batch]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


@dataclass(frozen=True)
class TransferModel:
    transfer: Linear | Trees
    platt: tuple[float, float]  # calibrated P = sigmoid(a * score + b)
    threshold: float
    status: dict[str, Linear]  # one-vs-rest, highest score wins
    denied: Linear
    version: str
    # Which stories need the parser (gate.py); None: every story naming a weapon.
    gate: Gate | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TransferModel:
        from .gate import Gate

        gate = data.get("gate")
        transfer = data["transfer"]
        return cls(
            transfer=Trees.from_json(transfer)
            if transfer.get("kind") == "trees"
            else Linear(transfer["bias"], transfer["weights"]),
            platt=(float(data["platt"][0]), float(data["platt"][1])),
            threshold=float(data["threshold"]),
            status={s: Linear(**data["status"][s]) for s in STATUSES},
            denied=Linear(**data["denied"]),
            version=str(data["version"]),
            gate=Gate(Linear(**gate["model"]), float(gate["threshold"])) if gate else None,
        )

    def probabilities(self, candidates: Sequence[list[set[str]]]) -> list[float]:
        """Calibrated P(transfer) of each candidate (its occurrences' feature sets), from
        its best-scoring occurrence; all occurrences of a story scored in one batch."""
        flat = [f for inst in candidates for f in inst]
        raw = [float(x) for x in self.transfer.scores(flat)] if flat else []
        a, b = self.platt
        out, at = [], 0
        for inst in candidates:
            out.append(sigmoid(a * max(raw[at : at + len(inst)]) + b))
            at += len(inst)
        return out

    def decide(self, index: DocIndex, rules: Sequence[Transfer], t: Triggers) -> list[Transfer]:
        """The transfers of one story."""
        candidates = propose(index, rules, t)
        each = [instances(c, index, t) for c in candidates]
        probs = self.probabilities(each)
        # A kept candidate's features (status, denial) are the union of its occurrences'.
        scored = [(p, c, set().union(*inst))
                  for p, c, inst in zip(probs, candidates, each, strict=True)
                  if p >= self.threshold]  # fmt: skip
        kept = {c.key: (p, c, f) for p, c, f in scored}
        out = []
        for key, (p, c, feats) in kept.items():
            back = kept.get((key[1], key[0], key[2], key[3]))
            if back is not None and (back[0], back[1].key) > (p, key):
                continue
            out.append(self._transfer(c, feats, p, index))
        return out

    def _transfer(self, c: Candidate, feats: set[str], p: float, index: DocIndex) -> Transfer:
        status = "production"
        if c.kind == "transfer" and c.rule is not None and c.rule.status in STATUSES:
            status = c.rule.status
        elif c.kind == "transfer":
            status = max(STATUSES, key=lambda s: self.status[s].score(feats))
        return Transfer(
            supplier=c.supplier,
            recipient=c.recipient,
            system_class=c.system_class,
            systems=tuple(c.systems),
            status=status,
            denied=sigmoid(self.denied.score(feats)) >= 0.5,
            confidence=round(p, 3),
            evidence=evidence(c, index),
            # Who denies or confirms: the rules read it off the sentence when they found it.
            denied_by=c.rule.denied_by if c.rule is not None else (),
            confirmed_by=c.rule.confirmed_by if c.rule is not None else (),
        )


def evidence(c: Candidate, index: DocIndex) -> tuple[Evidence, ...]:
    """The rules' evidence when they found it; else the sentences where the parties meet."""
    if c.rule is not None and c.rule.evidence:
        return c.rule.evidence
    best = sorted(c.occurrences, key=lambda o: (o.distance, -len(o.supplier) - len(o.recipient)))
    out = []
    for o in best[:2]:
        s = index.sentences[o.sentence]
        out.append(Evidence(sentence=s.text, start=s.start_char, end=s.end_char))
    return tuple(out)


@cache
def load_model(path: Path = WEIGHTS) -> TransferModel | None:
    """The trained model, or None where none was trained (the rules decide alone)."""
    if not path.exists():
        return None
    return TransferModel.from_json(json.loads(path.read_text(encoding="utf-8")))
