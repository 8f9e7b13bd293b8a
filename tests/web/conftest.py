"""Fixtures for the page: `armswatch web`'s app served by uvicorn on loopback, stories to show."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import redis
import yaml

from pipelines.alerts import route
from pipelines.ledger import project
from pipelines.publish import publish
from pipelines.record import Evidence, Source, Story, Transfer
from pipelines.subscriptions import load_subscriptions
from worker.cli_web import build_app
from worker.settings import Settings
from worker.web.server import ThreadedServer

# Markup and script in every field an article controls: none of it may run or render.
HOSTILE_TITLE = '<script>window.pwned="title"</script>Drones <img src=x onerror="window.pwned=1">'
HOSTILE_SENTENCE = 'Iran sent <script>window.pwned="text"</script> Shahed-136 drones to Russia.'

SUBSCRIPTIONS = [
    {"name": "drones", "match": {"system_classes": ["drone"]}},
    {"name": "missiles", "match": {"system_classes": ["missile"]}},
]


def make_story(
    story_id: str,
    *,
    title: str,
    sentence: str,
    supplier: str = "IR",
    recipient: str = "RU",
    system_class: str = "drone",
    status: str = "delivered",
    before: str = "An opening paragraph.\n\n",
    after: str = "\n\nA closing paragraph <b>with markup</b>.",
) -> Story:
    """A tagged story whose one transfer has `sentence` as evidence, at its offsets."""
    text = before + sentence + after
    start = len(before)
    return Story(
        id=story_id,
        source=Source(kind="url", url=f"https://news.example/{story_id}"),
        title=title,
        text=text,
        relevant=True,
        relevance=0.9,
        transfers=(
            Transfer(
                supplier=supplier,
                recipient=recipient,
                system_class=system_class,  # type: ignore[arg-type]
                systems=("Shahed-136",) if system_class == "drone" else ("KN-23",),
                status=status,  # type: ignore[arg-type]
                confidence=0.8,
                evidence=(Evidence(sentence=sentence, start=start, end=start + len(sentence)),),
            ),
        ),
    )


@pytest.fixture
def web_settings(redis_url: str, config_dir: Path, tmp_path: Path) -> Settings:
    (config_dir / "subscriptions.yaml").write_text(yaml.safe_dump({"subscriptions": SUBSCRIPTIONS}))
    return Settings.load(redis_url=redis_url, config_dir=config_dir, data_dir=tmp_path / "data")


@pytest.fixture
def ingest(web_settings: Settings, redis_client: redis.Redis) -> Callable[[Sequence[Story]], int]:
    """Publish stories, route their alerts and apply them to the transfer ledger, as the
    pipeline does; returns the alerts added."""
    subs = load_subscriptions(web_settings.config_dir)

    def run(stories: Sequence[Story]) -> int:
        keys = web_settings.keys
        publish(stories, client=redis_client, keys=keys, maxlen=1000, seen_ttl=600)
        alerts = route(stories, subs, client=redis_client, keys=keys, maxlen=1000, seen_ttl=600)
        project(redis_client, keys, consumer="test", maxlen=1000)
        return len(alerts)

    return run


class WebServer(ThreadedServer):
    """The page for these settings, served from a thread on a free loopback port."""

    def __init__(self, settings: Settings, *, token: str | None) -> None:
        assert settings.redis_url
        super().__init__(build_app(settings, settings.redis_url, token=token))


@pytest.fixture
def web(web_settings: Settings) -> Iterator[WebServer]:
    with WebServer(web_settings, token=None) as server:
        yield server
