"""Story identity in one place: a file and the same text served over HTTP are one story,
and stories made from one template, a few words apart, stay distinct."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import redis

from bench.corpus import as_text, generated_article
from pipelines.keys import Keys
from tests.conftest import SEEDS

KEYS = Keys("armswatch:")


@pytest.fixture
def everything(config_dir: Path) -> None:
    (config_dir / "subscriptions.yaml").write_text(
        "subscriptions:\n  - name: everything\n    match: {}\n"
    )


def _published(client: redis.Redis) -> list[dict]:
    return [json.loads(f["record"]) for _, f in client.xrange(KEYS.tagged)]


def _new_alerts(client: redis.Redis) -> list[str]:
    entries = client.xrange(KEYS.alerts("everything"))
    return [f["id"] for _, f in entries if f["kind"] == "new"]


def _sources(client: redis.Redis, story_id: str) -> list[dict]:
    return [json.loads(m) for m in client.zrange(KEYS.seen_sources(story_id), 0, -1)]


def test_replayed_files_then_the_same_files_over_http_are_published_and_alerted_once(
    run, everything: None, redis_client: redis.Redis
) -> None:
    assert run("replay", "-j", "1", str(SEEDS)).exit_code == 0
    first = _published(redis_client)
    assert len(first) == 5  # the four seed files hold five stories
    alerts = _new_alerts(redis_client)
    assert sorted(alerts) == sorted(r["id"] for r in first)

    again = run("replay", "--via-http", str(SEEDS))
    assert again.exit_code == 0, again.output
    assert _published(redis_client) == first  # nothing published twice
    assert _new_alerts(redis_client) == alerts  # no second `kind: new` alert
    assert redis_client.xlen(KEYS.alerts("everything")) == len(alerts)  # nor any other
    for record in first:  # each copy recorded as another source of its story
        kinds = [s["kind"] for s in _sources(redis_client, record["id"])]
        assert kinds == ["file", "feed"], record["source"]


def test_the_same_files_over_http_then_replayed_are_one_story(
    run, everything: None, redis_client: redis.Redis
) -> None:
    assert run("replay", "--via-http", str(SEEDS)).exit_code == 0
    first = _published(redis_client)
    assert len(first) == 5 and {r["source"]["kind"] for r in first} == {"feed"}
    result = run("replay", "-j", "1", str(SEEDS))
    assert result.exit_code == 0
    assert "Nothing new: all 5 stories were already published." in result.stdout
    assert _published(redis_client) == first
    assert len(_new_alerts(redis_client)) == 5


def _template_stories(folder: Path) -> list[Path]:
    """Pairs of stories from one template, the second a few words apart from the first (as
    the benchmark and fault-test corpora make them)."""
    folder.mkdir()
    rng = random.Random(13)
    paths = []
    for n in range(3):
        _, title, paragraphs = generated_article(rng)
        words = paragraphs[2].split()
        changed = [*paragraphs[:2], " ".join([*words[:-3], "on", "Tuesday."]), *paragraphs[3:]]
        for k, body in enumerate((paragraphs, changed)):
            path = folder / f"{n}-{k}.txt"
            path.write_text(as_text(title, body, random.Random(n)), encoding="utf-8")
            paths.append(path)
    return paths


def test_template_stories_a_few_words_apart_stay_distinct_in_files_and_over_http(
    run, redis_client: redis.Redis, tmp_path: Path
) -> None:
    paths = _template_stories(tmp_path / "t")
    assert run("replay", "-j", "1", *map(str, paths)).exit_code == 0
    assert len({r["id"] for r in _published(redis_client)}) == len(paths) == 6
    assert run("replay", "--via-http", *map(str, paths)).exit_code == 0
    assert len(_published(redis_client)) == 6  # each page is its own file's story again
    for record in _published(redis_client):
        assert [s["kind"] for s in _sources(redis_client, record["id"])] == ["file", "feed"]
