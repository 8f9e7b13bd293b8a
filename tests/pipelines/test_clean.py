"""The cleaner on the seed corpus and on the inputs that break scrapers."""

from __future__ import annotations

import codecs

import pytest

from pipelines.clean import clean, default_rules, is_headline, normalize, parse_date_line
from pipelines.decode import decode
from pipelines.errors import InputRejected
from pipelines.extract import extract, looks_like_html
from pipelines.record import Source, Story
from tests.conftest import SEEDS

# Per seed: furniture that must be gone, article sentences that must survive.
CASES = {
    "000_261182a3d3c6a647": (
        [],
        [
            "Tehran hosted defense ministers from Bolivia and Belarus in July",
            "We saw that Iran supplied drone systems to Ethiopia",
            "Argentina signed a contract to buy Israeli company Uvision's Hero-120",
        ],
    ),
    "001_a0859556386acb74": (
        ["\nTT\n", "\n\nTT"],
        [
            "An Iranian deal to supply Bolivia with drones threatens its relationship",
            "Iran has denied any involvement in the incident.",
            "Both Moscow and Pyongyang have denied that North Korea has transferred weapons",
            "Russia has not denied the involvement of North Korean troops in the war",
        ],
    ),
    "002_43f3cc6b7e9ffe8c": (
        ["Latest News", "© 2023", "Patriot News Alerts", "Ben Marquis", "June 10, 2023"],
        [
            'The White House is now warning of a "full-scale defense partnership"',
            "It also includes things like anti-aircraft defense systems",
            "should watch out for to ensure they don't inadvertently find themselves",
        ],
    ),
    "003_66b9e44e360c82d3": (
        [
            "The following two tabs change content below",
            "Paul, 37",
            "Leave a Reply",
            "all-girls High School",
        ],
        [
            "Russia is reportedly contemplating working with Iran on weapons development",
            "Iran had transferred hundreds of drones to Russia since August.",
            "Iran has denied the accusations",
        ],
    ),
}


def _stories(stem: str) -> list[Story]:
    path = SEEDS / f"{stem}.txt"
    raw = Story(source=Source(kind="file", path=str(path)), raw=path.read_text("utf-8"))
    return clean(extract(raw), rules=default_rules())


@pytest.mark.parametrize("stem", sorted(CASES), ids=sorted(CASES))
def test_seed_furniture_removed_and_sentences_kept(stem: str) -> None:
    furniture, kept = CASES[stem]
    text = "\n\n".join(s.text for s in _stories(stem))
    for junk in furniture:
        assert junk not in text, f"furniture {junk!r} left in {stem}"
    for sentence in kept:
        assert sentence in text, f"article sentence lost from {stem}: {sentence!r}"


def test_two_stories_split_with_their_titles() -> None:
    stories = _stories("001_a0859556386acb74")
    assert [s.title for s in stories] == [
        "Iranian Drones Disrupt Relations between Bolivia, Argentina",
        "Satellite Images Suggest North Korea Expanding Missile Plant, Researchers Say",
    ]
    assert [s.story_index for s in stories] == [0, 1]
    assert stories[0].id != stories[1].id
    assert "North Korea" not in stories[0].text
    assert "Bolivia" not in stories[1].text
    # The headline and the photo caption, printed twice by the page, appear at most once.
    caption = "signed an agreement in Tehran last week (Tasnim)"
    assert stories[0].text.count(caption) == 1
    assert stories[0].title not in stories[0].text


def test_byline_and_dateline_become_fields() -> None:
    (story,) = _stories("002_43f3cc6b7e9ffe8c")
    assert story.author == "Ben Marquis"
    assert story.published == "2023-06-10"
    assert story.title.startswith("White House warns of 'full-scale defense partnership'")


def test_a_subheading_does_not_split_a_story() -> None:
    paragraph = "Officials said the drones were delivered last month to the army. " * 12
    text = (
        f"Main Headline About Drone Deliveries\n\n{paragraph}\n\nA Subheading Here\n\n{paragraph}"
    )
    stories = clean(Story(source=Source(kind="file"), text=text), rules=default_rules())
    assert len(stories) == 1
    assert "A Subheading Here" in stories[0].text


def test_furniture_marker_in_the_header_does_not_cut_the_article() -> None:
    body = "Iran shipped drones to Russia, officials said on Monday, citing intelligence. " * 8
    stories = clean(
        Story(source=Source(kind="file"), text=f"Leave a Reply\n\n{body}"), rules=default_rules()
    )
    assert stories[0].text.startswith("Iran shipped drones")


def test_only_furniture_is_rejected_with_a_reason() -> None:
    story = Story(source=Source(kind="file", path="junk.txt"), text="Latest News\n\nTT\n\n© 2024 X")
    with pytest.raises(InputRejected, match="no article text") as info:
        clean(story, rules=default_rules())
    assert info.value.input == "junk.txt"


def test_normalize_repairs_mojibake_and_odd_spaces() -> None:
    assert normalize("Iranâ€™s drones") == "Iran's drones"
    assert normalize("Rogers\u202fAugust\u00a06\u200b") == "Rogers August 6"
    assert normalize("a\r\nb") == "a\nb"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("June 10, 2023", "2023-06-10"),
        ("Published 2024-01-05", "2024-01-05"),
        ("10 March 2022", "2022-03-10"),
        ("Iran ships drones", None),
        ("", None),
    ],
)
def test_date_lines(line: str, expected: str | None) -> None:
    assert parse_date_line(line) == expected


def test_headlines_are_not_sentences() -> None:
    assert is_headline("Satellite Images Suggest North Korea Expanding Missile Plant")
    assert not is_headline("Iran is getting a boost to its status as an arms supplier.")
    assert not is_headline("- Disagreement in the Bolivian parliament")


class TestDecode:
    def test_utf8_with_bom(self) -> None:
        assert (
            decode(codecs.BOM_UTF8 + "Tehran’s drones".encode(), name="a", max_bytes=100)
            == "Tehran’s drones"
        )

    def test_utf16(self) -> None:
        assert decode("Kyiv drones".encode("utf-16"), name="a", max_bytes=100) == "Kyiv drones"

    def test_latin1_is_detected(self) -> None:
        data = "Le ministre a confirmé la livraison des drones à Bamako. " * 5
        assert "confirmé" in decode(data.encode("latin-1"), name="a", max_bytes=10_000)

    def test_wrong_declared_charset_falls_back(self) -> None:
        assert decode(b"drones", name="a", declared="no-such-charset", max_bytes=100) == "drones"

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "binary"),
            (b"   \n ", "empty"),
            (b"x" * 2000, "too large"),
            (bytes(range(1, 32)) * 20, "binary"),
        ],
        ids=["png", "blank", "huge", "control-characters"],
    )
    def test_bad_bytes_are_rejected(self, data: bytes, reason: str) -> None:
        with pytest.raises(InputRejected, match=reason) as info:
            decode(data, name="bad.bin", max_bytes=1000)
        assert info.value.input == "bad.bin"


def test_html_goes_through_trafilatura() -> None:
    html = (
        "<html><head><title>Iran ships drones - Example</title>"
        '<meta property="article:published_time" content="2024-05-02T10:00:00Z"></head><body>'
        "<nav>Home | World | Latest News</nav><article><h1>Iran ships drones to Russia</h1>"
        + "<p>Iran has shipped hundreds of Shahed-136 drones to Russia, officials said.</p>"
        * 3
        + "<p>Tehran denied the reports, calling them baseless.</p></article>"
        "<footer>© 2024 Example News. All rights reserved.</footer></body></html>"
    )
    assert looks_like_html(html)
    raw = Story(source=Source(kind="url", url="https://example.org/a"), raw=html, raw_format="html")
    (story,) = clean(extract(raw), rules=default_rules())
    assert story.title == "Iran ships drones to Russia"
    assert story.published == "2024-05-02"
    assert story.extraction == "html"
    assert "Tehran denied the reports" in story.text
    assert "All rights reserved" not in story.text and "Home | World" not in story.text


def test_broken_html_is_rejected_not_crashed() -> None:
    raw = Story(
        source=Source(kind="file", path="x.html"),
        raw="<html><body><div><p></div>",
        raw_format="html",
    )
    with pytest.raises(InputRejected, match="no article text"):
        extract(raw)
