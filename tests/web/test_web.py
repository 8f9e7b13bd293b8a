"""`armswatch web` over real HTTP on a real Redis: headers, escaping, SSE, Atom, the token."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import feedparser
import httpx
import pytest
import redis

from pipelines.errors import ConfigError
from tests.web.conftest import HOSTILE_SENTENCE, HOSTILE_TITLE, WebServer, make_story
from worker.cli_web import access_token
from worker.settings import Settings
from worker.web.security import CSP

Ingest = Callable[..., int]


def _events(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Server-sent events of a streaming response, as dicts of their fields."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def test_every_response_carries_a_strict_policy_and_only_reading_is_allowed(
    web: WebServer, ingest: Ingest
) -> None:
    ingest([make_story("s1", title="Drones", sentence="Iran sent drones to Russia.")])
    for path in (
        "/",
        "/api/alerts",
        "/stories/s1",
        "/static/app.js",
        "/stories/nope",
        "/subscriptions/drones.atom",
        "/healthz",
    ):
        response = httpx.get(web.url + path)
        assert response.status_code == (404 if path == "/stories/nope" else 200), path
        assert response.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert response.headers["x-content-type-options"] == "nosniff"
    for method in ("POST", "PUT", "DELETE"):
        refused = httpx.request(method, web.url + "/api/alerts")
        assert refused.status_code == 405 and refused.headers["content-security-policy"] == CSP


def test_a_hostile_story_is_escaped_with_its_evidence_marked(
    web: WebServer, ingest: Ingest
) -> None:
    ingest([make_story("evil", title=HOSTILE_TITLE, sentence=HOSTILE_SENTENCE)])
    page = httpx.get(web.url + "/stories/evil").text
    assert "<script>window.pwned" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.pwned=&#34;title&#34;&lt;/script&gt;" in page
    assert "<b>with markup</b>" not in page and "&lt;b&gt;with markup&lt;/b&gt;" in page
    # The evidence sentence, escaped, inside one <mark> for transfer 1.
    marked = page.split('<mark class="t1"', 1)[1].split("</mark>", 1)[0]
    assert "Iran sent &lt;script&gt;window.pwned=&#34;text&#34;&lt;/script&gt; Shahed-136" in marked
    assert "An opening paragraph." not in marked
    # The only scripts of any page are our own files.
    index = httpx.get(web.url + "/").text
    scripts = re.findall(r"<script[^>]*>", index)
    assert scripts and all(
        re.fullmatch(r'<script src="/static/[a-z/.-]+\.js">', t) for t in scripts
    )
    assert index.count("<script") == len(scripts) == 4 and index.count("</script>") == 4


def test_alerts_arrive_as_server_sent_events_and_resume_after_the_last_id(
    web: WebServer, ingest: Ingest
) -> None:
    ingest([make_story("old", title="Old", sentence="Iran sent drones to Russia.")])
    first = httpx.get(web.url + "/api/alerts").json()
    assert [a["story_id"] for a in first["alerts"]] == ["old"]
    with httpx.stream(
        "GET", f"{web.url}/events", params={"cursor": first["cursor"]}, timeout=20
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        ingest([make_story("new1", title=HOSTILE_TITLE, sentence=HOSTILE_SENTENCE)])
        event = next(_events(response))
    assert event["event"] == "alert"
    alert = json.loads(event["data"])
    assert alert["story_id"] == "new1" and alert["subscription"] == "drones"
    assert alert["title"] == " ".join(HOSTILE_TITLE.split())  # the text itself, escaped later
    assert alert["transfers"][0]["evidence"] == HOSTILE_SENTENCE
    # Disconnected; two more alerts meanwhile; the browser reconnects with Last-Event-ID.
    ingest([make_story("new2", title="Two", sentence="Iran sent drones to Russia again.")])
    ingest(
        [
            make_story(
                "new3",
                title="Three",
                sentence="North Korea sent missiles to Russia.",
                supplier="KP",
                system_class="missile",
            )
        ]
    )
    with httpx.stream(
        "GET", f"{web.url}/events", headers={"last-event-id": event["id"]}, timeout=20
    ) as response:
        events = _events(response)
        resumed = [json.loads(next(events)["data"]) for _ in range(2)]
    assert sorted((a["story_id"], a["subscription"]) for a in resumed) == [
        ("new2", "drones"),
        ("new3", "missiles"),
    ]


def test_each_subscription_is_an_atom_feed(web: WebServer, ingest: Ingest) -> None:
    ingest([make_story("a1", title="Plain title", sentence="Iran sent drones to Russia.")])
    ingest([make_story("a2", title=HOSTILE_TITLE, sentence=HOSTILE_SENTENCE)])
    response = httpx.get(web.url + "/subscriptions/drones.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and feed.feed.title == "armswatch: drones"
    assert [e.link for e in feed.entries] == [f"{web.url}/stories/a2", f"{web.url}/stories/a1"]
    hostile, plain = feed.entries
    assert plain.title == "new: Plain title"
    assert "IR -> RU  drone (Shahed-136)  delivered" in plain.content[0].value
    # type="text": the markup is the title's text, escaped in the XML, never markup there.
    assert hostile.title_detail.type == "text/plain"
    assert hostile.title == "new: " + HOSTILE_TITLE
    assert "<script" not in response.text and "&lt;script&gt;window.pwned" in response.text
    assert hostile.tags[0].term == "IR>RU:drone"
    assert httpx.get(web.url + "/subscriptions/nobody.atom").status_code == 404


def test_beyond_loopback_a_token_is_required(web_settings: Settings) -> None:
    assert access_token("127.0.0.1", None) is None
    assert access_token("::1", None) is None
    with pytest.raises(ConfigError, match="needs an access token"):
        access_token("0.0.0.0", None)
    with pytest.raises(ConfigError, match="needs an access token"):
        access_token("192.0.2.1", "")  # an empty variable is no token
    assert access_token("0.0.0.0", None, unsafe_no_token=True) is None
    with pytest.raises(ConfigError, match="16-256 characters"):
        access_token("0.0.0.0", "short; bad")
    token = "t0ken-for-the-tests-only"
    with WebServer(web_settings, token=token) as server:
        assert httpx.get(server.url + "/api/alerts").status_code == 401
        assert httpx.get(server.url + "/healthz").status_code == 200  # says only "ok"
        assert httpx.get(server.url + "/api/alerts?token=wrong-token-value").status_code == 401
        # A feed reader's URL carries the token in the query.
        feed = httpx.get(f"{server.url}/subscriptions/drones.atom", params={"token": token})
        assert feed.status_code == 200 and feedparser.parse(feed.content).version == "atom10"
        bearer = {"authorization": f"Bearer {token}"}
        assert httpx.get(server.url + "/api/alerts", headers=bearer).status_code == 200
        # A link with the token sets a cookie, so the page's own requests carry it.
        with httpx.Client() as browser:
            opened = browser.get(f"{server.url}/?token={token}")
            assert opened.status_code == 200 and "HttpOnly" in opened.headers["set-cookie"]
            assert browser.get(server.url + "/api/alerts").status_code == 200


def test_the_ledger_table_graph_and_its_live_changes(web: WebServer, ingest: Ingest) -> None:
    ingest([make_story("l1", title="Talks", sentence="Iran offered drones to Russia.",
                       status="sought")])  # fmt: skip
    first = httpx.get(web.url + "/api/alerts").json()
    with httpx.stream("GET", f"{web.url}/events", params={"cursor": first["cursor"]},
                      timeout=20) as response:  # fmt: skip
        ingest([make_story("l2", title="Delivered", sentence="Iran delivered drones to Russia.")])
        ingest([make_story("l3", title="Missiles", sentence="North Korea sent missiles to Russia.",
                           supplier="KP", system_class="missile")])  # fmt: skip
        kinds = [e["event"] for _, e in zip(range(4), _events(response), strict=False)]
    assert sorted(kinds) == ["alert", "alert", "ledger", "ledger"]
    rows = httpx.get(web.url + "/api/ledger").json()["entries"]
    assert [(r["supplier"], r["recipient"], r["system_class"], r["status"]) for r in rows] == [
        ("KP", "RU", "missile", "delivered"),
        ("IR", "RU", "drone", "delivered"),
    ]
    drone = rows[1]
    assert drone["stories"] == 2 and "record" not in drone
    assert [(h["status"], h["story"]) for h in drone["history"]] == [
        ("sought", "l1"),
        ("delivered", "l2"),
    ]
    only = httpx.get(web.url + "/api/ledger", params={"supplier": "kp"}).json()["entries"]
    assert [r["supplier"] for r in only] == ["KP"]
    assert httpx.get(web.url + "/api/ledger", params={"status": "sought"}).json()["entries"] == []
    graph = httpx.get(web.url + "/api/graph").json()
    assert [(e["id"], e["count"]) for e in graph["edges"]] == [("IR>RU:drone", 2),
                                                               ("KP>RU:missile", 1)]  # fmt: skip
    assert [n["id"] for n in graph["nodes"]] == ["IR", "KP", "RU"]


def test_a_story_is_read_from_the_alert_its_link_names(
    web: WebServer, ingest: Ingest, redis_client: redis.Redis
) -> None:
    ingest([make_story("s1", title="Kept in the alert", sentence="Iran sent drones to Russia.")])
    ingest(
        [make_story("s2", title="Another", sentence="Iran sold drones to Sudan.", recipient="SD")]
    )
    alerts = {a["story_id"]: a for a in httpx.get(web.url + "/api/alerts").json()["alerts"]}
    redis_client.delete("armswatch:tagged")  # trimmed away: only the alert streams hold them
    hint = f"drones={alerts['s1']['entry_id']}"
    page = httpx.get(web.url + "/stories/s1", params={"alert": hint})
    assert page.status_code == 200 and "Kept in the alert" in page.text
    # A hint naming another story's entry is not believed; the streams are searched instead.
    wrong = f"drones={alerts['s2']['entry_id']}"
    page = httpx.get(web.url + "/stories/s1", params={"alert": wrong})
    assert page.status_code == 200 and "Kept in the alert" in page.text
    assert httpx.get(web.url + "/stories/gone", params={"alert": hint}).status_code == 404
    assert httpx.get(web.url + "/stories/bad id!", params={"alert": "x=y"}).status_code == 404
