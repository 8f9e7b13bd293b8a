"""feeds.yaml: validated at start, errors that name the feed and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import ConfigError
from pipelines.fetch import parse_feed
from tests.conftest import DATA, ROOT
from worker.feeds import load_feeds


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


def test_the_shipped_feeds_file_is_valid() -> None:
    feeds = load_feeds(ROOT / "config" / "feeds.yaml")
    assert feeds and len({f.name for f in feeds}) == len(feeds)
    assert all(f.url.startswith("https://") for f in feeds)


def test_a_feed_with_defaults(tmp_path: Path) -> None:
    (feed,) = load_feeds(_write(tmp_path, "feeds:\n  - name: wire\n    url: https://x.org/rss\n"))
    assert (feed.name, feed.interval, feed.tags, feed.every(300)) == ("wire", None, (), 300)


@pytest.mark.parametrize(
    ("entry", "named", "field"),
    [
        ("  - name: wire\n    url: ftp://x.org/rss\n", "feed 'wire'", "url"),
        (
            "  - name: wire\n    url: https://x.org/rss\n    interval: 0\n",
            "feed 'wire'",
            "interval",
        ),
        (
            "  - name: wire\n    url: https://x.org/rss\n    interval: soon\n",
            "feed 'wire'",
            "interval",
        ),
        ("  - name: wire\n    url: https://x.org/rss\n    tag: [x]\n", "feed 'wire'", "tag"),
        ("  - url: https://x.org/rss\n", "feed #1", "name"),
        ("  - name: has space\n    url: https://x.org/rss\n", "feed 'has space'", "name"),
    ],
)
def test_errors_name_the_feed_and_the_field(
    tmp_path: Path, entry: str, named: str, field: str
) -> None:
    path = _write(tmp_path, "feeds:\n" + entry)
    with pytest.raises(ConfigError) as info:
        load_feeds(path)
    message = str(info.value)
    assert f"{named}: {field}" in message
    assert str(path) in message


def test_names_are_unique(tmp_path: Path) -> None:
    text = "feeds:\n" + "  - name: wire\n    url: https://x.org/rss\n" * 2
    with pytest.raises(ConfigError, match="feed 'wire': name: used twice"):
        load_feeds(_write(tmp_path, text))


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no feeds file"):
        load_feeds(tmp_path / "feeds.yaml")
    with pytest.raises(ConfigError, match="not valid YAML: line 2, column 1: "):
        load_feeds(_write(tmp_path, "feeds: [\n"))
    assert load_feeds(_write(tmp_path, "")) == []


SHIPPED = load_feeds(ROOT / "config" / "feeds.yaml")


@pytest.mark.parametrize("feed", SHIPPED, ids=[f.name for f in SHIPPED])
def test_every_configured_feed_has_a_fixture_that_parses(feed) -> None:
    """Adding a feed means adding tests/data/feeds/<name>.xml (README, 'How to add a feed')."""
    sample = DATA / "feeds" / f"{feed.name}.xml"
    assert sample.exists(), f"add {sample.relative_to(ROOT)}: a saved copy of {feed.url}"
    parsed = parse_feed(sample.read_bytes(), url=feed.url)
    assert parsed.entries and parsed.warning is None
    assert all(e.url.startswith(("https://", "http://")) and e.title for e in parsed.entries)
