"""The benchmark corpora, built deterministically from the labelled texts and word lists.

    labelled   seeds/*.txt and tests/data/dev/*.txt: news about arms transfers (and a few
               near misses), every one of which reaches spaCy
    generated  everyday news (bench/words.py) as plain text and as full HTML pages with menus
               and footers: irrelevant, and never reaching spaCy

Each input gets a URL of its own. The copies of a labelled text are one story, as any text
found again under another URL is (worker/seen.py): every copy is cleaned and tagged, but
only one of them is published (`published` counts the distinct stories).
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.clean import clean, default_rules
from pipelines.record import Source, Story
from pipelines.tag.gazetteer import load_gazetteer

from .words import BEATS, FOOTER_LINKS, NAV_SECTIONS, SLOTS

ROOT = Path(__file__).resolve().parent.parent
LABELLED_DIRS = (ROOT / "seeds", ROOT / "tests/data/dev")
SEED = 20240607


@dataclass(frozen=True)
class Item:
    """One benchmark input: its text or page, and the gold label file it came from if any."""

    url: str
    raw: str
    raw_format: str  # "text" or "html"
    label: str | None = None  # the labelled file's stem (gold `id`); None: generated

    def story(self) -> Story:
        return Story(
            source=Source(kind="url", url=self.url),
            raw=self.raw,
            raw_format="html" if self.raw_format == "html" else "text",
        )


def labelled_texts() -> list[tuple[str, str]]:
    """(stem, text) of every labelled file, in name order."""
    return [
        (path.stem, path.read_text(encoding="utf-8"))
        for folder in LABELLED_DIRS
        for path in sorted(folder.glob("*.txt"))
    ]


def _fill(template: str, rng: random.Random) -> str:
    return template.format_map({k: rng.choice(v) for k, v in SLOTS.items()})


def headline(beat: str, rng: random.Random) -> str:
    text = _fill(rng.choice(BEATS[beat]["headline"]), rng)
    return text[0].upper() + text[1:]


def generated_article(rng: random.Random) -> tuple[str, str, list[str]]:
    """(beat, headline, paragraphs) of an everyday story of about 200 to 800 words."""
    beat = rng.choice(sorted(BEATS))
    parts = BEATS[beat]
    title = headline(beat, rng)
    paragraphs = [
        " ".join(_fill(rng.choice(parts["sentence"]), rng) for _ in range(rng.randint(2, 5)))
        for _ in range(rng.randint(6, 14))
    ]
    return beat, title, paragraphs


def as_text(title: str, paragraphs: list[str], rng: random.Random) -> str:
    byline = f"By {rng.choice(SLOTS['person'])}"
    date = f"{rng.choice(SLOTS['month'])} {rng.randint(1, 28)}, {rng.randint(2021, 2025)}"
    return "\n\n".join([title, byline, date, *paragraphs]) + "\n"


def as_html(beat: str, title: str, paragraphs: list[str], rng: random.Random) -> str:
    """A whole news page: head with scripts and styles, menus, the article, teasers, footer."""
    esc = html.escape
    nav = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in NAV_SECTIONS)
    teasers = "".join(
        f'<li><a href="/story/{rng.randint(1000, 9999)}">{esc(headline(b, rng))}</a></li>'
        for b in rng.sample(sorted(BEATS), 8)
    )
    footer = "".join(f'<li><a href="/{i}">{esc(x)}</a></li>' for i, x in enumerate(FOOTER_LINKS))
    body = "".join(f"<p>{esc(p)}</p>\n" for p in paragraphs)
    person = rng.choice(SLOTS["person"])
    date = f"{rng.randint(2021, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    style = "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px}}" for i in range(120))
    script = "".join(f"window.cfg{i}={{id:{i},slot:'ad-{i}'}};" for i in range(60))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)} | The Daily Example</title>
<meta name="description" content="{esc(paragraphs[0][:150])}">
<meta property="article:published_time" content="{date}">
<style>{style}</style><script>{script}</script></head>
<body><header><div class="logo">The Daily Example</div><nav><ul>{nav}</ul></nav>
<div class="cookie">We use cookies to improve your experience. <a href="/cookies">Settings</a></div>
</header>
<main><article><h1>{esc(title)}</h1>
<p class="byline">By <span class="author">{esc(person)}</span> · {date} · {beat.title()}</p>
{body}</article>
<aside><h2>Most read</h2><ul>{teasers}</ul></aside></main>
<footer><ul>{footer}</ul><p>© 2025 The Daily Example. All rights reserved.</p></footer>
</body></html>
"""


def generated(count: int, rng: random.Random, *, html_share: float = 0.5) -> Iterator[Item]:
    for i in range(count):
        beat, title, paragraphs = generated_article(rng)
        if rng.random() < html_share:
            page = as_html(beat, title, paragraphs, rng)
            yield Item(f"https://news.example/{beat}/{i}.html", page, "html")
        else:
            text = as_text(title, paragraphs, rng)
            yield Item(f"https://news.example/{beat}/{i}.txt", text, "text")


def reaching_nlp(text: str) -> bool:
    """Every story of the text passes the prefilter (the tagger's own test)."""
    gazetteer = load_gazetteer()
    return all(gazetteer.mentions_weapons(s.text) for s in _stories(text))


def labelled(count: int, *, only_nlp: bool = False) -> Iterator[Item]:
    """`count` inputs cycling through the labelled texts, each copy under its own URL."""
    texts = [(stem, t) for stem, t in labelled_texts() if reaching_nlp(t) or not only_nlp]
    for i in range(count):
        stem, text = texts[i % len(texts)]
        yield Item(f"https://wire.example/{i // len(texts)}/{stem}", text, "text", label=stem)


def all_relevant(inputs: int) -> list[Item]:
    """Labelled texts whose every story reaches spaCy (a few near misses name no weapon)."""
    return list(labelled(inputs, only_nlp=True))


def mixed(stories: int, *, relevant_share: float = 0.05, seed: int = SEED) -> list[Item]:
    """About `stories` stories, `relevant_share` of them labelled, the rest generated, shuffled."""
    rng = random.Random(seed)
    # Labelled inputs hold ~1.1 stories each (some seeds are several stories in one file).
    texts = labelled_texts()
    per_input = sum(len(_stories(t)) for _, t in texts) / len(texts)
    n_labelled = max(1, round(stories * relevant_share / per_input))
    items = list(labelled(n_labelled)) + list(
        generated(stories - round(n_labelled * per_input), rng)
    )
    rng.shuffle(items)
    return items


def _stories(text: str) -> list[Story]:
    return clean(Story(source=Source(kind="file"), text=text), rules=default_rules())
