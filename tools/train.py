"""`make train`: the transfer model from corpus/train, then its scores on corpus/dev.

    corpus/train/*.txt + gold.jsonl
      clean, spaCy, DocIndex, the rules     the tagger's own stages (pipelines/tag)
      propose, features                     pipelines/tag/learned
      label                                 a candidate is a transfer when its key is a
                                            labelled one (optional labels are left out)
      fit                                   transfer: boosted trees (LightGBM, fixed seed,
                                            deterministic); status and denied: logistic
                                            regressions (scikit-learn); Platt scaling and
                                            the threshold from 5 folds grouped by file,
                                            never from dev
    pipelines/tag/learned/weights.json      read by the tagger at run time (no LightGBM,
                                            no scikit-learn: trees.py walks the trees)

Then corpus/dev: candidate recall, reliability of `confidence`, and the scores of
`armswatch tag` with the model and with the rules alone.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.clean import clean, default_rules
from pipelines.record import Source, Story
from pipelines.tag import load_tagger
from pipelines.tag.actors import DocIndex
from pipelines.tag.learned.candidates import Candidate, kind_of, propose
from pipelines.tag.learned.features import instances
from pipelines.tag.learned.model import STATUSES, WEIGHTS
from pipelines.tag.rules import Extractor
from tools.score import load_jsonl, score

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = 20261207
C = 0.1  # inverse regularisation of the linear models (0.1, 0.3, 1.0 compared on dev)
# The transfer model: LightGBM over occurrences. On dev (2026-12-07, candidates of 1,411
# train files) it beat the logistic regression it replaced: transfer F1 0.615 vs 0.565.
TREES = {"n_estimators": 300, "num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 10}
MIN_COUNT = 5  # features in fewer occurrences are left out (noise, and LightGBM's time)
FOLDS = 5


@dataclass
class Examples:
    """Every candidate of a folder: its occurrences' features and whether each is a
    sentence the labels quote as evidence; the union of features, label, file; gold
    status and denial."""

    instances: list[list[set[str]]] = field(default_factory=list)
    evidence: list[list[bool]] = field(default_factory=list)
    feats: list[set[str]] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    file: list[str] = field(default_factory=list)
    status: list[str | None] = field(default_factory=list)
    denied: list[bool] = field(default_factory=list)
    missed: int = 0  # labelled transfers no candidate proposes
    required: int = 0


Found = tuple[Candidate, set[str], list[set[str]], list[str]]


def file_candidates(tagger: Any, path: Path) -> Iterator[Found]:
    """Each candidate of a file: itself, its features, its instances, their sentences."""
    raw = Story(source=Source(kind="file", path=str(path)), text=path.read_text())
    stories = clean(raw, rules=default_rules())
    texts = [tagger.nlp_text(s.text) for s in stories]
    for doc in tagger.nlp.pipe(texts):
        index = DocIndex.build(doc, tagger.gazetteer)
        rules = Extractor(index, tagger.triggers).run()
        for c in propose(index, rules, tagger.triggers):
            sentences = [index.sentences[o.sentence].text for o in c.occurrences] or [""]
            inst = instances(c, index, tagger.triggers)
            yield c, set().union(*inst), inst, sentences


def _quoted(sentence: str, quotes: list[str]) -> bool:
    """A sentence the labels quote (the parser and the labeller may cut sentences apart)."""
    norm = " ".join(sentence.split())
    if len(norm) < 12:
        return False
    return any(norm in " ".join(q.split()) or " ".join(q.split()) in norm for q in quotes)


def gold_keys(label: dict[str, Any]) -> tuple[dict[tuple[str, ...], dict[str, Any]], set[Any]]:
    required, optional = {}, set()
    for t in label["transfers"]:
        key = (t["supplier"], t["recipient"], t["system_class"], kind_of(t["status"]))
        if t.get("optional"):
            optional.add(key)
        else:
            required.setdefault(key, t)
    return required, optional


Pooled = dict[tuple[str, ...], tuple[set[str], list[set[str]], list[bool]]]
_TAGGER: Any = None  # one per extraction process


def _load_tagger() -> None:
    global _TAGGER
    _TAGGER = load_tagger(rules_only=True)


def file_examples(path: Path, label: dict[str, Any]) -> Pooled:
    """One labelled file's candidates, pooled by key over its stories (optional ones left
    out): features, occurrence feature sets, and which occurrences are quoted evidence."""
    required, optional = gold_keys(label)
    seen: Pooled = {}
    for c, feats, inst, sentences in file_candidates(_TAGGER, path):
        if c.key in optional:
            continue
        quotes = required[c.key].get("evidence_text", []) if c.key in required else []
        pooled = seen.setdefault(c.key, (set(), [], []))
        pooled[0].update(feats)
        pooled[1].extend(inst)
        pooled[2].extend(_quoted(s, quotes) for s in sentences)
    return seen


def _file_examples(job: tuple[Path, dict[str, Any]]) -> Pooled:
    return file_examples(*job)


def examples(folder: Path, cache: Path | None = None) -> Examples:
    """The folder's candidates, files parsed in one process per core (results in file
    order, so the same corpus gives the same examples); with `cache`, kept in (or read
    from) that pickle."""
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())  # noqa: S301 (our own file, just written)
    out = Examples()
    labels = load_jsonl(folder / "gold.jsonl")
    jobs = [(folder / label["file"], label) for label in labels]
    with ProcessPoolExecutor(os.cpu_count() or 1, initializer=_load_tagger) as pool:
        for n, (label, seen) in enumerate(
            zip(labels, pool.map(_file_examples, jobs, chunksize=8), strict=True)
        ):
            add_file(out, label, seen)
            if n % 100 == 0:
                print(f"  {folder.name}: {n}/{len(labels)} files", file=sys.stderr)
    if cache is not None:
        cache.write_bytes(pickle.dumps(out))
    return out


def add_file(out: Examples, label: dict[str, Any], seen: Pooled) -> None:
    required, _ = gold_keys(label)
    for key, (feats, inst, quoted) in seen.items():
        gold = required.get(key)
        out.instances.append(inst)
        # A labelled transfer whose quotes match no sentence: every occurrence counts.
        out.evidence.append(quoted if any(quoted) or gold is None else [True] * len(inst))
        out.feats.append(feats)
        out.label.append(int(gold is not None))
        out.file.append(label["id"])
        out.status.append(gold["status"] if gold else None)
        out.denied.append(bool(gold and gold["denied"]))
    out.required += len(required)
    out.missed += len(required.keys() - seen.keys())


def linear(vec: Any, model: Any, row: int = 0, threshold: float = 1e-4) -> dict[str, Any]:
    """A fitted scikit-learn linear model as {bias, weights} over feature names (weights
    smaller than `threshold` left out)."""
    coef = model.coef_[row]
    names = vec.get_feature_names_out()
    pairs = zip(names, coef, strict=True)
    weights = {str(n): round(float(w), 5) for n, w in pairs if abs(w) > threshold}
    return {"bias": round(float(model.intercept_[row]), 5), "weights": weights}


def occurrences(ex: Examples) -> tuple[Any, Any, Any, list[str]]:
    """One row per occurrence (0/1 features seen at least MIN_COUNT times), its label (a
    sentence quoted as the transfer's evidence), the candidate it belongs to; the names."""
    from sklearn.feature_extraction import DictVectorizer

    owner = np.array([i for i, inst in enumerate(ex.instances) for _ in inst])
    vec = DictVectorizer(dtype=np.float32)
    x = vec.fit_transform([dict.fromkeys(f, 1) for inst in ex.instances for f in inst])
    keep = np.flatnonzero(np.asarray((x > 0).sum(axis=0)).ravel() >= MIN_COUNT)
    names = [str(n) for n in vec.get_feature_names_out()[keep]]
    y = np.array([int(ex.label[i] and q) for i, qs in enumerate(ex.evidence) for q in qs])
    return x[:, keep].tocsr(), y, owner, names


def boosted(x: Any, y: Any) -> Any:
    import lightgbm

    model = lightgbm.LGBMClassifier(
        **TREES, random_state=SEED, deterministic=True, force_row_wise=True,
        n_jobs=os.cpu_count(), verbose=-1,
    )  # fmt: skip
    return model.fit(x, y)


def fit_transfer(ex: Examples) -> dict[str, Any]:
    """Boosted trees over occurrences (an occurrence is positive when it is a sentence
    quoted as the transfer's evidence); a candidate scores as its best occurrence. Platt
    scaling and the threshold come from candidate scores on held-out folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from pipelines.tag.learned.trees import from_lightgbm

    x, y, owner, names = occurrences(ex)
    files = np.array(ex.file)[owner]
    best = np.full(len(ex.instances), -np.inf)
    for n, (fit_rows, held) in enumerate(GroupKFold(n_splits=FOLDS).split(x, y, groups=files)):
        model = boosted(x[fit_rows], y[fit_rows])
        np.maximum.at(best, owner[held], model.predict(x[held], raw_score=True))
        print(f"  transfer model: fold {n + 1}/{FOLDS}", file=sys.stderr)
    labels = np.array(ex.label)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(best.reshape(-1, 1), labels)
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    probs = 1 / (1 + np.exp(-(a * best + b)))
    threshold = best_threshold(probs, labels, missed=0)
    trees = from_lightgbm(boosted(x, y).booster_.dump_model(), names)
    return {"transfer": trees, "platt": [round(a, 5), round(b, 5)], "threshold": threshold}


def best_threshold(probs: Any, y: Any, *, missed: int) -> float:
    """The threshold of the best F1 over held-out predictions (0.05 steps)."""
    best = (0.0, 0.5)
    for t in np.arange(0.1, 0.9, 0.05):
        tp = int(((probs >= t) & (y == 1)).sum())
        fp = int(((probs >= t) & (y == 0)).sum())
        fn = int(((probs < t) & (y == 1)).sum()) + missed
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        best = max(best, (f1, round(float(t), 2)))
    return best[1]


def fit_status_denied(ex: Examples) -> dict[str, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = [i for i, s in enumerate(ex.status) if s in STATUSES]
    vec = DictVectorizer()
    x = vec.fit_transform([dict.fromkeys(ex.feats[i], 1) for i in rows])
    y = [ex.status[i] for i in rows]
    multi = LogisticRegression(C=C, max_iter=3000, random_state=SEED).fit(x, y)
    status = {str(s): linear(vec, multi, k) for k, s in enumerate(multi.classes_)}
    rows = [i for i, s in enumerate(ex.status) if s is not None]
    vec = DictVectorizer()
    x = vec.fit_transform([dict.fromkeys(ex.feats[i], 1) for i in rows])
    denied = LogisticRegression(C=C, max_iter=3000, random_state=SEED)
    denied.fit(x, [ex.denied[i] for i in rows])
    return {"status": status, "denied": linear(vec, denied)}


def fit_gate(folder: Path) -> dict[str, Any]:
    """The relevance gate: P(a file is relevant or reports a transfer) from its words; the
    threshold keeps 0.99 of such files on held-out folds."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from pipelines.tag.learned.gate import words

    labels = load_jsonl(folder / "gold.jsonl")
    texts = [(folder / g["file"]).read_text(encoding="utf-8") for g in labels]
    y = np.array([int(g["relevant"] or any(not t.get("optional") for t in g["transfers"]))
                  for g in labels])  # fmt: skip
    vec = DictVectorizer()
    x = vec.fit_transform([dict.fromkeys(words(t), 1) for t in texts])
    lr = LogisticRegression(C=1.0, max_iter=3000, random_state=SEED)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    probs = cross_val_predict(lr, x, y, cv=folds, method="predict_proba")[:, 1]
    kept = np.sort(probs[y == 1])
    threshold = float(kept[int(0.01 * len(kept))]) if len(kept) else 0.5
    skipped = float((probs[y == 0] < threshold).mean()) if (y == 0).any() else 0.0
    without = int((y == 0).sum())
    print(f"gate: threshold {threshold:.3f} keeps 0.99 of {len(kept)} files with transfers "
          f"and skips {skipped:.2f} of the {without} without (held-out folds)")  # fmt: skip
    lr.fit(x, y)
    return {"model": linear(vec, lr, threshold=1e-3), "threshold": round(threshold, 5)}


def tag_folder(folder: Path, rules_only: bool) -> list[dict[str, Any]]:
    env = {**os.environ, "ARMSWATCH_TAGGER": "rules" if rules_only else "model"}
    out = subprocess.run(
        [sys.executable, "-m", "worker", "tag", *map(str, sorted(folder.glob("*.txt")))],
        cwd=ROOT, capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def reliability(records: list[dict[str, Any]], gold: list[dict[str, Any]]) -> list[str]:
    """Per confidence bin: transfers output and the share of them that are labelled."""
    keys = {g["id"]: set(gold_keys(g)[0]) for g in gold}
    bins: dict[int, list[int]] = {}
    for rec in records:
        stem = Path(rec["source"]["path"]).stem
        for t in rec["transfers"]:
            k = (t["supplier"], t["recipient"], t["system_class"], kind_of(t["status"]))
            b = min(int(t["confidence"] * 10), 9)
            bins.setdefault(b, []).append(int(k in keys.get(stem, set())))
    return [f"  confidence {b / 10:.1f}-{(b + 1) / 10:.1f}: {len(v):4d} transfers, "
            f"{sum(v) / len(v):.2f} labelled" for b, v in sorted(bins.items())]  # fmt: skip


def main() -> int:
    # For trying model settings: candidates kept between runs (delete after changing code).
    cache = (
        Path(os.environ["ARMSWATCH_TRAIN_CACHE"]) if "ARMSWATCH_TRAIN_CACHE" in os.environ else None
    )
    train = examples(CORPUS / "train", cache and cache / "train.pickle")
    print(f"train: {len(train.label)} candidates, {sum(train.label)} transfers; "
          f"candidate recall {1 - train.missed / max(train.required, 1):.3f}")  # fmt: skip
    weights = {"version": f"corpus-{len(set(train.file))}-files", **fit_transfer(train),
               **fit_status_denied(train), "gate": fit_gate(CORPUS / "train")}  # fmt: skip
    WEIGHTS.write_text(json.dumps(weights, sort_keys=True, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {WEIGHTS.relative_to(ROOT)} (threshold {weights['threshold']})")
    dev = examples(CORPUS / "dev", cache and cache / "dev.pickle")
    proposed = dev.required - dev.missed
    print(f"dev: candidate recall {proposed / max(dev.required, 1):.3f} "
          f"({proposed} of {dev.required} labelled transfers proposed)")  # fmt: skip
    gold = load_jsonl(CORPUS / "dev" / "gold.jsonl")
    for name, rules_only in (("model", False), ("rules", True)):
        records = tag_folder(CORPUS / "dev", rules_only)
        s = score(gold, records)
        print(f"dev {name:5}: " + " ".join(f"{k}={v:.3f}" for k, v in s.items()
                                            if isinstance(v, float)))  # fmt: skip
        if not rules_only:
            print("\n".join(reliability(records, gold)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
