"""The matcher stage on a real Redis: once per subscription, updates, copies, readers."""

from __future__ import annotations

import json
import threading

import pytest
import redis

from pipelines.alerts import GroupReader, alert_json, format_alert, route
from pipelines.errors import ConfigError
from pipelines.keys import Keys
from pipelines.record import Evidence, Source, Story, Transfer
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import Subscription

KEYS = Keys("armswatch:")


def _transfer(supplier="IR", recipient="RU", cls="drone", status="delivered", denied=False):
    return Transfer(
        supplier=supplier,
        recipient=recipient,
        system_class=cls,
        systems=("Shahed-136",),
        status=status,
        denied=denied,
        confidence=0.8,
        evidence=(Evidence(sentence="Iran sent Shahed-136 drones to Russia.", start=0, end=38),),
    )


def _story(story_id="s1", *transfers, text="Iran sent Shahed-136 drones to Russia.", url=None):
    return Story(
        id=story_id,
        source=Source(kind="feed" if url else "file", url=url, path=None if url else "x.txt"),
        title=f"title {story_id}",
        text=text,
        relevant=True,
        relevance=0.9,
        transfers=transfers,
    )


def _sub(name="iran", **match) -> Subscription:
    return Subscription.model_validate({"name": name, "match": match})


def _route(client, stories, subs):
    return route(stories, subs, client=client, keys=KEYS, maxlen=1000, seen_ttl=600)


def _entries(client, name):
    return [alert_json(i, f) for i, f in client.xrange(KEYS.alerts(name))]


def test_each_story_once_per_subscription(redis_client: redis.Redis) -> None:
    subs = [_sub("iran", suppliers=["IR"]), _sub("korea", suppliers=["KP"]), _sub("all")]
    stories = [_story("a", _transfer()), _story("b", _transfer("KP", cls="missile"), text="KN-23")]
    first = _route(redis_client, stories, subs)
    assert sorted((a.subscription, a.story_id, a.kind) for a in first) == [
        ("all", "a", "new"),
        ("all", "b", "new"),
        ("iran", "a", "new"),
        ("korea", "b", "new"),
    ]
    # A retry or a replay: nothing more.
    assert _route(redis_client, stories, subs) == []
    assert [a["story_id"] for a in _entries(redis_client, "iran")] == ["a"]
    assert redis_client.xlen(KEYS.alerts("all")) == 2


def test_a_syndicated_copy_under_another_id_adds_nothing(redis_client: redis.Redis) -> None:
    sub = _sub(suppliers=["IR"])
    text = "Iran sent Shahed-136 drones to Russia, officials said."
    original = _story("id-a", _transfer(), text=text, url="https://a.example/1")
    copy = _story("id-b", _transfer(), text=text.upper() + "  ", url="https://b.example/2")
    assert len(_route(redis_client, [original], [sub])) == 1
    assert _route(redis_client, [copy], [sub]) == []


def test_an_updated_story_alerts_again_with_what_changed(redis_client: redis.Redis) -> None:
    sub = _sub(suppliers=["IR"])
    _route(redis_client, [_story("s1", _transfer(status="sought"))], [sub])
    # Same id, a new transfer and a new status for the known one (and a KP transfer that
    # does not concern this subscription).
    update = _story(
        "s1",
        _transfer(status="sought"),
        _transfer(status="delivered"),
        _transfer("IR", "BY"),
        _transfer("KP", cls="missile"),
        text="Updated: Iran delivered drones to Russia and Belarus.",
    )
    (alert,) = _route(redis_client, [update], [sub])
    assert alert.kind == "update"
    assert sorted(c.text for c in alert.changes) == [
        "IR -> RU drone: sought -> delivered",
        "new transfer IR -> BY drone (delivered)",
    ]
    entry = _entries(redis_client, "iran")[-1]
    assert entry["kind"] == "update" and entry["matched"] == [0, 1, 2]
    assert [c["text"] for c in entry["changes"]] == [c.text for c in alert.changes]
    # The same update again, or the old version again: nothing.
    assert _route(redis_client, [update], [sub]) == []
    assert _route(redis_client, [_story("s1", _transfer(status="sought"))], [sub]) == []


def test_denial_flips_once_and_a_change_outside_the_subscription_is_silent(
    redis_client: redis.Redis,
) -> None:
    sub = _sub(suppliers=["IR"])
    _route(redis_client, [_story("s1", _transfer())], [sub])
    (alert,) = _route(redis_client, [_story("s1", _transfer(denied=True), text="v2")], [sub])
    assert [c.text for c in alert.changes] == ["IR -> RU drone (delivered): now denied"]
    # Flipping back and forth does not alert again: alerted facts accumulate.
    assert _route(redis_client, [_story("s1", _transfer(), text="v3")], [sub]) == []
    other = _story("s1", _transfer(), _transfer("KP", cls="missile"), text="v4")
    assert _route(redis_client, [other], [sub]) == []


def test_exclude_denied_ignores_a_transfer_that_becomes_denied(redis_client: redis.Redis) -> None:
    sub = _sub(suppliers=["IR"], include_denied=False)
    assert len(_route(redis_client, [_story("s1", _transfer())], [sub])) == 1
    assert _route(redis_client, [_story("s1", _transfer(denied=True), text="v2")], [sub]) == []


def test_a_new_story_says_what_is_new_for_the_subscription(redis_client: redis.Redis) -> None:
    sub = _sub(suppliers=["IR"])
    (first,) = _route(redis_client, [_story("s1", _transfer(status="sought"))], [sub])
    assert [c.text for c in first.changes] == ["new transfer IR -> RU drone (sought)"]
    # Another story about the same transfer key: a new alert (a new story), whose changes
    # compare with every story this subscription alerted.
    (same,) = _route(redis_client, [_story("s2", _transfer(status="sought"), text="b")], [sub])
    assert same.kind == "new" and same.changes == ()
    (moved,) = _route(redis_client, [_story("s3", _transfer(), text="c")], [sub])
    assert [c.text for c in moved.changes] == ["IR -> RU drone: sought -> delivered"]


def test_changes_count_earlier_stories_of_the_same_batch(redis_client: redis.Redis) -> None:
    sub = _sub(suppliers=["IR"])
    a = _story("s1", _transfer(status="sought"), text="a")
    b = _story("s2", _transfer(status="sought"), _transfer(status="delivered"), text="b")
    first, second = _route(redis_client, [a, b], [sub])
    assert [c.text for c in first.changes] == ["new transfer IR -> RU drone (sought)"]
    assert [c.text for c in second.changes] == ["IR -> RU drone: sought -> delivered"]


def test_story_level_subscription_alerts_on_a_new_transfer(redis_client: redis.Redis) -> None:
    sub = _sub(keywords=["drones"])
    (first,) = _route(redis_client, [_story("s1")], [sub])
    assert first.kind == "new" and first.changes == ()
    (update,) = _route(redis_client, [_story("s1", _transfer(), text="drones v2")], [sub])
    assert update.kind == "update"
    assert [c.change for c in update.changes] == ["new_transfer"]


def test_concurrent_routers_alert_each_story_once(redis_url: str) -> None:
    subs = [_sub("iran", suppliers=["IR"]), _sub("all")]
    stories = [_story(f"s{i}", _transfer(), text=f"story {i}") for i in range(40)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            barrier.wait()
            _route(client, stories, subs)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for name in ("iran", "all"):
        ids = [f["id"] for _, f in client.xrange(KEYS.alerts(name))]
        assert sorted(ids) == sorted(s.id for s in stories)


def test_every_alert_is_announced_on_the_live_channel(redis_client: redis.Redis) -> None:
    pubsub = redis_client.pubsub()
    pubsub.subscribe(KEYS.alerts_channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    (alert,) = _route(redis_client, [_story("s1", _transfer())], [_sub()])
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    note = json.loads(message["data"])
    assert note == {
        "subscription": "iran",
        "entry_id": alert.entry_id,
        "story_id": "s1",
        "kind": "new",
        "title": "title s1",
    }


def test_alert_reads_as_text_with_transfers_evidence_source(redis_client: redis.Redis) -> None:
    story = _story("s1", _transfer(denied=True), _transfer("KP", cls="missile"))
    _route(redis_client, [story], [_sub(suppliers=["IR"])])
    (entry,) = _entries(redis_client, "iran")
    assert entry["record"]["id"] == "s1" and entry["matched"] == [0]
    text = format_alert(entry)
    assert "title s1" in text
    assert "IR -> RU  drone  systems: Shahed-136  status: delivered  DENIED" in text
    assert '"Iran sent Shahed-136 drones to Russia."' in text
    assert "source: x.txt" in text
    assert "KP" not in text  # only the transfers that concern the subscription


# --- consumer groups --------------------------------------------------------------------


def _fill(client, n: int) -> list[str]:
    stories = [_story(f"s{i}", _transfer(), text=f"story {i}") for i in range(n)]
    return [a.entry_id for a in _route(client, stories, [_sub()])]


def test_unacknowledged_entries_come_back_to_their_consumer(redis_client: redis.Redis) -> None:
    ids = _fill(redis_client, 3)
    reader = GroupReader(redis_client, KEYS.alerts("iran"), "g", "c1")
    reader.ensure()
    assert [i for i, _ in reader.read(count=10, block_ms=None)] == ids
    reader.ack(ids[0])
    again = GroupReader(redis_client, KEYS.alerts("iran"), "g", "c1")
    assert [i for i, _ in again.own_pending()] == ids[1:]
    assert again.read(count=10, block_ms=None) == []
    # Another consumer takes them over once they have been idle long enough.
    other = GroupReader(redis_client, KEYS.alerts("iran"), "g", "c2")
    assert [i for i, _ in other.reclaim(min_idle_ms=0)] == ids[1:]
    assert other.own_pending()[0][0] == ids[1]


def test_rewind_delivers_the_stream_again(redis_client: redis.Redis) -> None:
    ids = _fill(redis_client, 2)
    reader = GroupReader(redis_client, KEYS.alerts("iran"), "g", "c1")
    reader.ensure()
    reader.ack(*[i for i, _ in reader.read(count=10, block_ms=None)])
    assert reader.read(count=10, block_ms=None) == []
    reader.rewind()
    assert [i for i, _ in reader.read(count=10, block_ms=None)] == ids


def test_an_entry_trimmed_while_pending_is_dropped(redis_client: redis.Redis) -> None:
    ids = _fill(redis_client, 2)
    reader = GroupReader(redis_client, KEYS.alerts("iran"), "g", "c1")
    reader.ensure()
    reader.read(count=10, block_ms=None)
    redis_client.xdel(KEYS.alerts("iran"), ids[0])
    assert [i for i, _ in reader.own_pending()] == [ids[1]]
    assert redis_client.xpending(KEYS.alerts("iran"), "g")["pending"] == 1


# --- run-time subscriptions -------------------------------------------------------------


def test_stored_subscriptions_take_effect_without_a_restart(redis_client: redis.Redis) -> None:
    configured = (_sub("yaml-one", suppliers=["IR"]),)
    worker_view = SubscriptionStore(configured, KEYS)
    assert [s.name for s in worker_view.current(redis_client)] == ["yaml-one"]
    admin = SubscriptionStore(configured, KEYS)
    admin.add(redis_client, _sub("runtime", recipients=["RU"]), replace=False)
    assert [s.name for s in worker_view.current(redis_client)] == ["yaml-one", "runtime"]
    admin.remove(redis_client, "runtime")
    assert [s.name for s in worker_view.current(redis_client)] == ["yaml-one"]


def test_yaml_wins_a_name_clash_and_cannot_be_changed_at_run_time(
    redis_client: redis.Redis,
) -> None:
    store = SubscriptionStore((_sub("same", suppliers=["IR"]),), KEYS)
    with pytest.raises(ConfigError, match=r"defined in subscriptions\.yaml"):
        store.add(redis_client, _sub("same"), replace=True)
    with pytest.raises(ConfigError, match=r"defined in subscriptions\.yaml"):
        store.remove(redis_client, "same")
    # A stored entry that the file later shadows.
    redis_client.hset(KEYS.subscriptions, "same", '{"name": "same"}')
    redis_client.incr(KEYS.subscriptions_version)
    (current,) = store.current(redis_client)
    assert current.match.suppliers == ("IR",)


def test_add_refuses_an_existing_name_unless_replacing(redis_client: redis.Redis) -> None:
    store = SubscriptionStore((), KEYS)
    store.add(redis_client, _sub("a"), replace=False)
    with pytest.raises(ConfigError, match="exists"):
        store.add(redis_client, _sub("a", suppliers=["KP"]), replace=False)
    store.add(redis_client, _sub("a", suppliers=["KP"]), replace=True)
    assert store.current(redis_client)[0].match.suppliers == ("KP",)
    with pytest.raises(ConfigError, match="no stored subscription"):
        store.remove(redis_client, "b")


def test_an_invalid_stored_subscription_is_skipped(redis_client: redis.Redis) -> None:
    redis_client.hset(KEYS.subscriptions, "broken", '{"name": "broken", "match": {"x": 1}}')
    redis_client.hset(KEYS.subscriptions, "ok", '{"name": "ok"}')
    assert [s.name for s in SubscriptionStore((), KEYS).current(redis_client)] == ["ok"]
