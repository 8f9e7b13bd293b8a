"""Bring writers' labelled texts into corpus/: `python -m tools.corpus_import STAGING...`.

Each staging folder holds `<id>.txt` files and `labels.jsonl` (corpus/BRIEF.md). A label is
checked (vocabularies, codes, every evidence quote an exact substring of its text) and gets
each evidence quote's character span and sentence index, the sentence being spaCy's
rule-based `sentencizer` over the file's text (deterministic: no model). A file goes to
`dev` or `train` by a hash of its id (`DEV_SHARE`), so adding texts never moves old ones.
corpus/train and corpus/dev are rebuilt from the staging folders on each run (blind sets,
in folders of their own, are never touched); a label that fails a check is reported and
skipped, never half-imported.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DEV_SHARE = 12  # percent of files in dev

CLASSES = {"drone", "missile", "air_defense", "aircraft", "other"}
STATUSES = {"delivered", "agreed", "sought", "production"}
TOPICS = {"drone_transfer", "missile_transfer", "weapons_production", "sanctions"}
ACTOR = re.compile(r"^([A-Z]{2}|[a-z0-9]+(-[a-z0-9]+)*)$")


def split_of(file_id: str) -> str:
    bucket = int(hashlib.sha256(file_id.encode()).hexdigest(), 16) % 100
    return "dev" if bucket < DEV_SHARE else "train"


def sentencizer() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def check(label: dict[str, Any], text: str) -> list[str]:
    """What is wrong with one label (empty when nothing)."""
    problems = []
    both = set(label.get("topics", [])) & set(label.get("topics_optional", []))
    if both:
        problems.append(f"topics both required and optional: {sorted(both)}")
    keys = [
        (t.get("supplier"), t.get("recipient"), t.get("system_class"),
         t.get("status") == "production")
        for t in label.get("transfers", [])
    ]  # fmt: skip
    if len(keys) != len(set(keys)):
        problems.append("two transfers with one (supplier, recipient, class, kind)")
    if set(label.get("topics", [])) - TOPICS:
        problems.append(f"unknown topics {set(label['topics']) - TOPICS}")
    relevant_topics = set(label.get("topics", [])) & (TOPICS - {"sanctions"})
    if bool(label.get("relevant")) != bool(relevant_topics):
        problems.append("relevant disagrees with the topics")
    for t in label.get("transfers", []):
        for role in ("supplier", "recipient"):
            if not ACTOR.match(str(t.get(role))):
                problems.append(f"{role} {t.get(role)!r} is no ISO code or slug")
        if t.get("system_class") not in CLASSES:
            problems.append(f"class {t.get('system_class')!r}")
        if t.get("status") not in STATUSES:
            problems.append(f"status {t.get('status')!r}")
        if not t.get("evidence_text"):
            problems.append("a transfer without evidence_text")
        for quote in t.get("evidence_text", []):
            if quote not in text:
                problems.append(f"evidence not in the text: {quote[:60]!r}")
    return problems


def with_evidence(label: dict[str, Any], text: str, nlp: Any) -> dict[str, Any]:
    """The label with `evidence`: [{sentence_index, start, end}] for each quote."""
    starts = [s.start_char for s in nlp(text).sents]
    out = dict(label)
    out["transfers"] = []
    for t in label.get("transfers", []):
        spans = []
        for quote in t["evidence_text"]:
            start = text.index(quote)
            index = max(i for i, s in enumerate(starts) if s <= start)
            spans.append({"sentence_index": index, "start": start, "end": start + len(quote)})
        out["transfers"].append({**t, "evidence": spans})
    return out


def import_folder(
    folder: Path, nlp: Any, known: set[str], into: str | None = None
) -> tuple[int, list[str]]:
    added, problems = 0, []
    for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        label = json.loads(line)
        file_id = label["id"]
        if file_id in known:
            continue
        source = folder / label["file"]
        if source.stem != file_id or not source.exists():
            problems.append(f"{folder.name}/{label['file']}: no such text for id {file_id}")
            continue
        text = source.read_text(encoding="utf-8")
        if wrong := check(label, text):
            problems.extend(f"{folder.name}/{label['file']}: {w}" for w in wrong)
            continue
        split = CORPUS / (into or split_of(file_id))
        split.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, split / source.name)
        with (split / "gold.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(with_evidence(label, text, nlp), ensure_ascii=False) + "\n")
        known.add(file_id)
        added += 1
    return added, problems


def main(args: list[str]) -> int:
    """`STAGING...` rebuilds train and dev; `--blind NAME STAGING...` builds corpus/NAME."""
    blind = args[1] if args[:1] == ["--blind"] else None
    folders = args[2:] if blind else args
    nlp = sentencizer()
    for split in [blind] if blind else ["train", "dev"]:
        shutil.rmtree(CORPUS / split, ignore_errors=True)
    known: set[str] = set()
    total, problems = 0, []
    for name in folders:
        added, wrong = import_folder(Path(name), nlp, known, blind)
        total += added
        problems.extend(wrong)
        print(f"{name}: {added} imported", file=sys.stderr)
    for p in problems:
        print(f"skipped: {p}", file=sys.stderr)
    print(f"{total} imported, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
