"""tools/misses.py: each cause of a missed or spurious transfer, from labels and records."""

from __future__ import annotations

from typing import Any

from tools.misses import causes


def _t(s: str, r: str, cls: str = "drone", status: str = "delivered", **kw: Any) -> dict[str, Any]:
    return {"supplier": s, "recipient": r, "system_class": cls, "status": status, **kw}


def _rec(stem: str, transfers: list[dict[str, Any]], norms: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"source": {"path": f"x/{stem}.txt"}, "transfers": transfers,
            "entities": [{"norm": n} for n in norms]}  # fmt: skip


def _gold(stem: str, transfers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": stem, "relevant": bool(transfers), "transfers": transfers}


def test_each_missed_and_spurious_cause_is_named() -> None:
    gold = [
        _gold("a", [_t("IR", "RU")]),  # output reversed
        _gold("b", [_t("TR", "UA")]),  # output as a missile
        _gold("c", [_t("CN", "PK", status="production")]),  # output as a transfer
        _gold("d", [_t("KP", "RU")]),  # North Korea never recognised
        _gold("e", [_t("AE", "rsf")]),  # both recognised, never paired
        _gold("f", []),  # nothing to report
        _gold("g", [_t("US", "TW")]),  # China only reports it
    ]
    records = [
        _rec("a", [_t("RU", "IR")]),
        _rec("b", [_t("TR", "UA", "missile")]),
        _rec("c", [_t("CN", "PK")]),
        _rec("d", [], ("RU",)),
        _rec("e", [], ("AE", "rsf")),
        _rec("f", [_t("IL", "AZ")]),
        _rec("g", [_t("US", "TW"), _t("CN", "TW")]),
    ]
    missed, spurious, lines = causes(gold, records)
    assert missed == {"reversed": 1, "class": 1, "kind": 1, "no supplier": 1, "not paired": 1}
    assert spurious == {"reversed": 1, "class": 1, "kind": 1, "not relevant": 1, "third party": 1}
    assert "d: missed no supplier: ('KP', 'RU', 'drone', 'transfer')" in lines


def test_optional_labels_count_neither_way() -> None:
    gold = [_gold("a", [_t("IR", "RU"), _t("BY", "RU", optional=True)])]
    missed, spurious, _ = causes(gold, [_rec("a", [_t("IR", "RU"), _t("BY", "RU")])])
    assert not missed and not spurious
