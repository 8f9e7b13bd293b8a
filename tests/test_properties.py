"""Random and malformed input through the stages: processed or rejected with a reason,
never an exception escaping as a crash (issue 6)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.clean import default_rules
from pipelines.decode import decode
from pipelines.errors import ArmswatchError, InputRejected
from pipelines.fetch import ParsedFeed, parse_feed
from pipelines.pipeline import process
from pipelines.record import Source, Story
from pipelines.tag import Tagger

# Fragments that real pages and feeds are made of, to mix with noise.
NEWS = st.sampled_from(
    [
        "Iran supplied Shahed-136 drones to Russia.",
        "Tehran denied the reports.",
        "Latest News",
        "TT",
        "© 2024 Example",
        "Leave a Reply",
        "<p>",
        "</div>",
        "<script>x()</script>",
        "<html><body>",
        "&amp;",
        "\u00a0",
        "\u202f",
        "\x00",
        "\ufeff",
        "Ã©",
        "\r\n",
        "\n\n\n",
        "The following two tabs change content below.",
        "KN-23",
        "missiles",
        "Moscow",
    ]
)
TEXT = st.lists(st.one_of(NEWS, st.text(max_size=80)), max_size=40).map(" ".join)
HTML = st.lists(st.one_of(NEWS, st.text(max_size=40)), max_size=30).map(
    lambda parts: (
        "<html><head><title>t</title></head><body><article>"
        + "".join(f"<p>{p}</p>" if i % 2 else p for i, p in enumerate(parts))
        + "</article></body></html>"
    )
)
SLOW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _run(tagger: Tagger, raw: str, fmt: str) -> None:
    story = Story(source=Source(kind="file", path="fuzz"), raw=raw, raw_format=fmt)  # type: ignore[arg-type]
    (result,) = process([story], tagger=tagger, rules=default_rules())
    if result.error is not None:
        assert isinstance(result.error, ArmswatchError)
        assert result.error.reason and result.error.stage in ("extract", "clean", "tag")
    else:
        assert result.stories
        for s in result.stories:
            assert s.id and s.text.strip()
            for t in s.transfers:
                for e in t.evidence:
                    assert s.text[e.start : e.end] == e.sentence


@SLOW
@given(raw=TEXT)
def test_any_text_is_processed_or_rejected(tagger: Tagger, raw: str) -> None:
    _run(tagger, raw, "text")


@SLOW
@given(raw=HTML)
def test_any_html_is_processed_or_rejected(tagger: Tagger, raw: str) -> None:
    _run(tagger, raw, "html")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096))
def test_any_bytes_decode_or_are_rejected(data: bytes) -> None:
    outcome: str | InputRejected
    try:
        outcome = decode(data, name="fuzz.bin", max_bytes=2048)
    except InputRejected as exc:
        outcome = exc
    if isinstance(outcome, InputRejected):
        assert outcome.input == "fuzz.bin" and outcome.reason
    else:
        assert isinstance(outcome, str)


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02", "<<<>>>", "a" * 100_000])
def test_edge_cases(tagger: Tagger, text: str) -> None:
    _run(tagger, text, "text")
    _run(tagger, text, "html")


@pytest.mark.parametrize("sep", [" ", ", ", " and "], ids=["spaces", "commas", "and"])
def test_a_run_of_a_thousand_conjuncts_is_tagged_not_dropped(tagger: Tagger, sep: str) -> None:
    """The parser makes such a run one chain of a thousand tokens: no walk over it recurses."""
    text = f"Russia sold drones to {sep.join(['Iran'] * 1000)}. Iran received the drones."
    [result] = process(
        [Story(source=Source(kind="file", path="run.txt"), raw=text, raw_format="text")],
        tagger=tagger,
        rules=default_rules(),
    )
    assert result.error is None, result.error
    [story] = result.stories
    assert story.relevant and {(t.supplier, t.recipient) for t in story.transfers} == {("RU", "IR")}


# --- feed XML -------------------------------------------------------------------------------

LINKS = st.sampled_from(
    [
        "https://news.example/a.html",
        "/relative/b.html",
        "javascript:alert(1)",
        "http://127.0.0.1/private",
        "",
        "https://news.example/c.html?utm_source=x&amp;id=3",
        "ftp://files.example/x",
        "http://[::1",
    ]
)
ITEM = st.builds(
    lambda title, link, summary, junk: (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{summary}</description>{junk}</item>"
    ),
    st.one_of(NEWS, st.text(max_size=30)),
    LINKS,
    st.one_of(NEWS, st.text(max_size=60)),
    st.sampled_from(["", "<guid>1</guid>", "<pubDate>not a date</pubDate>", "<item>", "]]>"]),
)
FEED = st.builds(
    lambda decl, items, tail: (
        f'{decl}<rss version="2.0"><channel><title>t</title>{"".join(items)}{tail}'
    ).encode("utf-8", "surrogatepass"),
    st.sampled_from(
        [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<?xml version="1.0" encoding="iso-8859-1"?>',  # declared wrong: bytes are UTF-8
            '<?xml version="1.0" encoding="nonsense"?>',
            "",
        ]
    ),
    st.lists(ITEM, max_size=8),
    st.sampled_from(["</channel></rss>", "", "</channel>", "<unclosed"]),
)


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(FEED, st.binary(max_size=2048)))
def test_any_feed_bytes_parse_or_are_rejected_with_a_reason(data: bytes) -> None:
    outcome: ParsedFeed | InputRejected
    try:
        outcome = parse_feed(data, url="https://news.example/feed.xml")
    except InputRejected as exc:
        outcome = exc
    if isinstance(outcome, InputRejected):
        assert outcome.input == "https://news.example/feed.xml" and outcome.reason
        return
    for entry in outcome.entries:
        # Every entry kept is fetchable: an absolute http(s) URL, canonical form alongside.
        assert entry.link.startswith(("http://", "https://")), entry.link
        assert entry.url.startswith(("http://", "https://")) and entry.entry_id
