"""Candidates (one rule's finding) and their merging into Transfers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace

from spacy.tokens import Span

from ...record import Evidence, Status, SystemClass, Transfer
from ..actors import WeaponMention
from .words import W

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
