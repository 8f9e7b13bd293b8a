"""feedparser's own 2,107 test feeds (../shared/corpora/feedparser-tests), each served from
loopback and polled through `poll_feed`: every one ends ok, empty, or refused with a reason;
none crashes the poll or hangs it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newssite import NewsSite, Reply
from pipelines.errors import ArmswatchError
from tests.conftest import ROOT
from worker.context import Context
from worker.feeds import Feed
from worker.live import poll_feed
from worker.settings import Settings

CORPUS = "shared/corpora/feedparser-tests"
_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):[ \t]*(.*?)\s*$", re.MULTILINE)
# Headers that would change the poll itself, not what is parsed.
_DROPPED = {"content-length", "etag", "last-modified"}


def _corpus() -> Path | None:
    """The corpus beside the clone (CI: ../shared), or beside a parent (a worktree)."""
    for parent in ROOT.parents:
        if (parent / CORPUS).is_dir():
            return parent / CORPUS
    return None


def _headers(data: bytes) -> dict[str, str]:
    """The HTTP headers a test feed asks to be served with (its `Header:` comment lines)."""
    headers = {"Content-Type": "application/xml"}
    for name, value in _HEADER.findall(data[:2000]):
        if name.decode().lower() not in _DROPPED:
            headers[name.decode().title()] = value.decode("latin-1")
    return headers


def _outcomes(ctx: Context, site: NewsSite, files: list[Path]) -> Iterator[tuple[str, str]]:
    for n, path in enumerate(files):
        data = path.read_bytes()
        site.routes[f"/{n}"] = Reply(body=data, headers=_headers(data))
        try:
            report = poll_feed(ctx, Feed(name=f"fp{n}", url=f"{site.url}/{n}"))
        except ArmswatchError as exc:  # transient: loopback never should be
            yield str(path), f"raised {type(exc).__name__}: {exc}"
            continue
        if report.status == "failed":
            yield str(path), f"rejected: {report.error}"
        elif report.status == "ok":
            yield str(path), "ok" if report.entries else "empty"
        else:
            yield str(path), report.status


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_feedparser_test_feed_is_polled_to_an_outcome(
    live_settings: Settings, redis_url: str, site: NewsSite
) -> None:
    corpus = _corpus()
    if corpus is None:
        pytest.skip(f"{CORPUS} is not beside the clone (CI puts ../shared there)")
    # Generous timeouts: 2,107 polls on a busy machine must not meet the fault tests' 0.5 s.
    settings = live_settings.model_copy(
        update={"http_read_timeout": 20.0, "http_total_timeout": 60.0}
    )
    ctx = Context(settings=settings, redis_url=redis_url)
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".xml", ".json"))
    assert len(files) > 2000
    outcomes = dict(_outcomes(ctx, site, files))
    assert len(outcomes) == len(files)
    kinds = Counter(o.split(":")[0] for o in outcomes.values())
    assert set(kinds) <= {"ok", "empty", "rejected"}, {
        f: o for f, o in outcomes.items() if o.split(":")[0] not in ("ok", "empty", "rejected")
    }
    rejected = {f: o for f, o in outcomes.items() if o.startswith("rejected")}
    assert all("not a readable RSS or Atom feed (" in o for o in rejected.values())
    # feedparser's entity tests are readable feeds with harmless warnings, not failures.
    entities = [o for f, o in outcomes.items() if "/entities/" in f]
    assert sum(o != "ok" and o != "empty" for o in entities) <= 3, entities
    # Nearly everything in wellformed/ reads; the few refusals are feeds with nothing in them
    # feedparser recognises (no version, no title).
    wellformed = [f for f in outcomes if "/wellformed/" in f]
    assert sum(f in rejected for f in wellformed) < len(wellformed) // 20, kinds
    ctx.fetcher.close()
    ctx.redis.close()
