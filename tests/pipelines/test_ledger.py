"""The transfer ledger: pure merge rules, and the projection of `tagged` on a real Redis."""

from __future__ import annotations

import itertools
import json

import redis

from pipelines.alerts import GroupReader, alert_json, route
from pipelines.keys import LEDGER_GROUP, Keys
from pipelines.ledger import (
    get_entry,
    project,
    query_entries,
    rebuild,
    recent_changes,
    system_entries,
)
from pipelines.ledger.changes import route_changes
from pipelines.ledger.model import entry_view, merge, reports
from pipelines.ledger.store import apply
from pipelines.publish import publish
from pipelines.record import Evidence, Source, Story, Transfer
from pipelines.subscriptions import Subscription

KEYS = Keys("armswatch:")
PAIR = "IR:RU:drone:transfer"


def _transfer(supplier="IR", recipient="RU", cls="drone", status="delivered", systems=(),
              denied_by=(), confirmed_by=(), sentence="Iran sent drones to Russia."):  # fmt: skip
    return Transfer(
        supplier=supplier,
        recipient=recipient,
        system_class=cls,
        systems=tuple(systems),
        status=status,
        denied=bool(denied_by),
        denied_by=tuple(denied_by),
        confirmed_by=tuple(confirmed_by),
        confidence=0.8,
        evidence=(Evidence(sentence=sentence, start=0, end=len(sentence)),),
    )


def _story(story_id, *transfers, published=None, outlet=None, text=None):
    return Story(
        id=story_id,
        source=Source(kind="feed", url=f"https://{outlet or story_id}.example/a", feed=None),
        title=f"title {story_id}",
        text=text or f"story {story_id}: Iran sent drones to Russia.",
        published=published,
        relevant=True,
        relevance=0.9,
        topics=({"label": "drone_transfer", "score": 0.9},),
        transfers=transfers,
    )


def _fold(stories_with_ids):
    """The pure ledger of (tagged id, story) pairs, in the given order."""
    states: dict = {}
    for tagged_id, story in stories_with_ids:
        for r in reports(story, tagged_id):
            states[r.entry], _ = merge(states.get(r.entry), r)
    return states


# --- pure ---------------------------------------------------------------------------------


def test_a_story_reports_its_pairs_and_each_named_system() -> None:
    story = _story(
        "a",
        _transfer(systems=["Shahed-136", "Shahed-131"]),
        _transfer(status="production"),
        _transfer(supplier=None),  # no relationship without both parties
    )
    found = sorted(r.entry for r in reports(story, "1700000000000-0"))
    assert found == [
        "IR:RU:drone:production",
        PAIR,
        f"{PAIR}:Shahed-131",
        f"{PAIR}:Shahed-136",
    ]


def test_status_never_goes_back_and_the_late_report_stays_in_history() -> None:
    states = _fold([
        ("1-0", _story("a", _transfer(status="sought"), published="2026-01-01")),
        ("2-0", _story("b", _transfer(status="delivered"), published="2026-02-01")),
        ("3-0", _story("c", _transfer(status="agreed"), published="2026-03-01")),
    ])  # fmt: skip
    view = entry_view(states[PAIR])
    assert view["status"] == "delivered"
    assert [(h["status"], h["story"], h["behind"]) for h in view["history"]] == [
        ("sought", "a", False),
        ("delivered", "b", False),
        ("agreed", "c", True),
    ]
    assert (view["first_seen"], view["last_seen"]) == (
        "2026-01-01T00:00:00Z",
        "2026-03-01T00:00:00Z",
    )
    assert (view["first_story"], view["stories"], view["sources"]) == ("a", 3, 3)


def test_the_ledger_does_not_depend_on_the_order_stories_arrive_in() -> None:
    stories = [
        ("1-0", _story("a", _transfer(status="sought", systems=["Shahed-136"]), outlet="x")),
        ("2-0", _story("b", _transfer(denied_by=["IR"]), published="2025-05-05", outlet="y")),
        ("3-0", _story("c", _transfer(status="agreed", confirmed_by=["IR"]), outlet="x")),
        ("4-0", _story("d", _transfer(cls="missile", denied_by=["RU"]))),
    ]
    views = {
        json.dumps([entry_view(s) for _, s in sorted(_fold(order).items())], sort_keys=True)
        for order in itertools.permutations(stories)
    }
    assert len(views) == 1


def test_a_denial_stands_until_the_same_party_later_confirms() -> None:
    denied = ("1-0", _story("a", _transfer(denied_by=["IR", "RU"]), published="2026-01-01"))
    undenied = ("2-0", _story("b", _transfer(), published="2026-02-01"))
    confirmed = ("3-0", _story("c", _transfer(confirmed_by=["IR"]), published="2026-03-01"))
    assert entry_view(_fold([denied, undenied])[PAIR])["denied_by"] == ["IR", "RU"]
    view = entry_view(_fold([denied, undenied, confirmed])[PAIR])
    assert (view["denied"], view["denied_by"]) == (True, ["RU"])
    withdrawn = {d["by"]: d["withdrawn"] for d in view["denials"]}
    assert withdrawn["RU"] is None
    assert withdrawn["IR"]["story"] == "c"
    # A confirmation reported before the denial does not withdraw it.
    early = ("0-5", _story("z", _transfer(confirmed_by=["IR"]), published="2025-01-01"))
    assert entry_view(_fold([early, denied])[PAIR])["denied_by"] == ["IR", "RU"]


def test_merge_says_what_changed() -> None:
    a, b, c, d = (
        reports(_story(i, t), f"{n}-0")[0]
        for n, (i, t) in enumerate(
            [
                ("a", _transfer(status="sought")),
                ("b", _transfer(status="sought")),
                ("c", _transfer(status="delivered", denied_by=["RU"])),
                ("d", _transfer(status="agreed", confirmed_by=["RU"])),
            ],
            start=1,
        )
    )
    state, found = merge(None, a)
    assert [c["change"] for c in found] == ["new_entry"]
    state, found = merge(state, b)
    assert found == []  # a repeat of a known fact
    state, found = merge(state, c)
    assert [(x["change"], x["before"], x["by"]) for x in found] == [
        ("status_advance", "sought", None),
        ("denial", None, "RU"),
    ]
    state, found = merge(state, d)
    assert [(x["change"], x["by"], x["status"]) for x in found] == [
        ("denial_withdrawn", "RU", "delivered")
    ]


# --- on Redis -----------------------------------------------------------------------------


def _publish(client, *stories):
    return publish(stories, client=client, keys=KEYS, maxlen=10_000, seen_ttl=600)


def _project(client, consumer="w1", **kw):
    return project(client, KEYS, consumer=consumer, maxlen=10_000, **kw)


def _ledger(client) -> list[dict]:
    return query_entries(client, KEYS, systems=True)


def test_each_story_is_applied_once(redis_client: redis.Redis) -> None:
    story = _story("a", _transfer(systems=["Shahed-136"]))
    _publish(redis_client, story)
    done = _project(redis_client)
    assert (done.read, done.applied) == (1, 1)
    before = _ledger(redis_client)
    # The same story again in `tagged` (its publish marker expired): applied already.
    redis_client.delete(KEYS.seen_story("a"))
    _publish(redis_client, story)
    assert _project(redis_client).applied == 0
    assert _ledger(redis_client) == before
    assert get_entry(redis_client, KEYS, PAIR)["stories"] == 1
    assert [e["system"] for e in system_entries(redis_client, KEYS, PAIR)] == ["Shahed-136"]


def test_rebuild_gives_the_identical_ledger(redis_client: redis.Redis) -> None:
    _publish(
        redis_client,
        _story("a", _transfer(status="sought"), published="2026-01-02"),
        _story("b", _transfer(denied_by=["IR"], systems=["Shahed-136"])),
        _story("c", _transfer("KP", cls="missile", systems=["KN-23"])),
        _story("d", _transfer(status="production")),
    )
    _project(redis_client)
    before = _ledger(redis_client)
    changes = redis_client.xlen(KEYS.ledger_changes)
    done = rebuild(redis_client, KEYS, consumer="rebuilder", maxlen=10_000)
    assert (done.read, done.applied) == (4, 4)
    assert _ledger(redis_client) == before
    assert len(before) == 5
    assert redis_client.xlen(KEYS.ledger_changes) == changes  # old news is not news again


def test_a_worker_killed_midway_loses_nothing(redis_client: redis.Redis) -> None:
    stories = [_story(f"s{i}", _transfer(recipient=r)) for i, r in enumerate(["RU", "BY", "VE"])]
    _publish(redis_client, *stories)
    # Worker 1 reads all three, applies the first, and dies before acknowledging any.
    dead = GroupReader(redis_client, KEYS.tagged, LEDGER_GROUP, "dead")
    dead.ensure(start="0")
    taken = dead.read(count=10, block_ms=None)
    first = taken[0]
    apply(redis_client, KEYS, _items([first]), maxlen=10_000)
    # Another worker takes the dead one's entries over once they are idle long enough.
    assert _project(redis_client, "w2", reclaim_ms=60_000).read == 0
    done = _project(redis_client, "w2", reclaim_ms=0)
    assert (done.read, done.applied) == (3, 2)
    assert sorted(e["recipient"] for e in _ledger(redis_client)) == ["BY", "RU", "VE"]
    assert all(e["stories"] == 1 for e in _ledger(redis_client))
    assert redis_client.xpending(KEYS.tagged, LEDGER_GROUP)["pending"] == 0


def test_a_restarted_worker_rereads_its_own_pending_entries(redis_client: redis.Redis) -> None:
    _publish(redis_client, _story("a", _transfer()))
    reader = GroupReader(redis_client, KEYS.tagged, LEDGER_GROUP, "w1")
    reader.ensure(start="0")
    assert len(reader.read(count=10, block_ms=None)) == 1  # then the process died
    assert _project(redis_client, "w1", reclaim_ms=60_000).applied == 1


def _items(entries):
    from pipelines.ledger.store import _Item

    out = []
    for tagged_id, fields in entries:
        story = Story.from_json(fields["record"])
        out.append(_Item(tagged_id, story, fields["record"], tuple(reports(story, tagged_id))))
    return out


def test_query_filters_by_party_class_status_and_time(redis_client: redis.Redis) -> None:
    _publish(
        redis_client,
        _story("a", _transfer(status="sought"), published="2020-01-01"),
        _story("b", _transfer("KP", cls="missile", systems=["KN-23"]), published="2020-01-01"),
        _story("c", _transfer(recipient="BY", status="agreed")),
    )
    _project(redis_client)

    def ids(**filters):
        return sorted(e["id"] for e in query_entries(redis_client, KEYS, **filters))

    assert ids(supplier="IR") == ["IR:BY:drone:transfer", PAIR]
    assert ids(recipient="RU", system_class="missile") == ["KP:RU:missile:transfer"]
    assert ids(status="agreed") == ["IR:BY:drone:transfer"]
    assert ids(since=1_600_000_000) == ["IR:BY:drone:transfer"]  # 2020 is before that
    assert ids(supplier="KP", systems=True) == [
        "KP:RU:missile:transfer",
        "KP:RU:missile:transfer:KN-23",
    ]
    # A status advance moves the entry in the status index.
    _publish(redis_client, _story("d", _transfer(status="delivered")))
    _project(redis_client)
    assert ids(status="sought") == []
    assert PAIR in ids(status="delivered")


def test_an_unreadable_tagged_entry_is_dead_lettered_not_lost(redis_client: redis.Redis) -> None:
    redis_client.xadd(KEYS.tagged, {"id": "x", "record": "{not json"})
    _publish(redis_client, _story("a", _transfer()))
    done = _project(redis_client)
    assert (done.read, done.applied) == (2, 1)
    (entry,) = redis_client.xrange(KEYS.dlq)
    assert entry[1]["stage"] == "ledger"
    assert "unreadable record" in entry[1]["error"]


# --- changes-only subscriptions -------------------------------------------------------------


def _changes_only(name="desk", **match) -> Subscription:
    return Subscription.model_validate({"name": name, "match": match, "changes_only": True})


def _step(client, subs):
    """What a worker does after publish: story alerts, the projection, changes-only alerts."""
    route(list(_all_stories(client)), subs, client=client, keys=KEYS, maxlen=1000, seen_ttl=600)
    _project(client)
    return route_changes(client, KEYS, subs, consumer="w1", maxlen=1000)


def _all_stories(client):
    return (Story.from_json(f["record"]) for _, f in client.xrange(KEYS.tagged))


def test_changes_only_alerts_once_per_fact_and_again_when_it_advances(
    redis_client: redis.Redis,
) -> None:
    subs = [_changes_only(suppliers=["IR"])]
    outlets = [
        _story(f"copy{i}", _transfer(status="agreed"), outlet=f"outlet{i}",
               text=f"Outlet {i} writes in its own words that Iran agreed to sell drones.")
        for i in range(5)
    ]  # fmt: skip
    for story in outlets:
        _publish(redis_client, story)
        _step(redis_client, subs)
    alerts = [alert_json(i, f) for i, f in redis_client.xrange(KEYS.alerts("desk"))]
    assert [(a["story_id"], a["kind"]) for a in alerts] == [("copy0", "change")]
    assert [c["text"] for c in alerts[0]["changes"]] == ["new transfer IR -> RU drone (agreed)"]
    assert alerts[0]["matched"] == [0]
    # The status advances: a second alert; then a denial: a third, naming who denies.
    _publish(redis_client, _story("later", _transfer(status="delivered")))
    _step(redis_client, subs)
    _publish(redis_client, _story("denial", _transfer(denied_by=["IR"])))
    _step(redis_client, subs)
    _publish(redis_client, _story("again", _transfer(denied_by=["IR"])))
    _step(redis_client, subs)
    alerts = [alert_json(i, f) for i, f in redis_client.xrange(KEYS.alerts("desk"))]
    assert [c["text"] for a in alerts[1:] for c in a["changes"]] == [
        "IR -> RU drone: agreed -> delivered",
        "IR -> RU drone (delivered): now denied by IR",
    ]
    latest = recent_changes(redis_client, KEYS, count=2)
    assert [c["story_id"] for c in latest] == ["denial", "later"]
    assert latest[0]["title"] == "title denial"
    assert [(c["change"], c["by"]) for c in latest[0]["changes"]] == [("denial", "IR")]
    # Rebuilding the ledger and routing again alerts nothing twice.
    rebuild(redis_client, KEYS, consumer="r", maxlen=10_000)
    redis_client.xgroup_setid(KEYS.ledger_changes, "alerts", "0")
    assert route_changes(redis_client, KEYS, subs, consumer="w1", maxlen=1000) == []


def test_changes_only_matching(redis_client: redis.Redis) -> None:
    subs = [
        _changes_only("korea", suppliers=["KP"]),
        _changes_only("shahed", systems=["shahed-136"]),
        _changes_only("undenied", include_denied=False),
    ]
    _publish(redis_client, _story("a", _transfer(systems=["Shahed-136"], denied_by=["RU"])))
    _step(redis_client, subs)
    assert redis_client.xlen(KEYS.alerts("korea")) == 0
    assert redis_client.xlen(KEYS.alerts("undenied")) == 0
    (alert,) = [alert_json(i, f) for i, f in redis_client.xrange(KEYS.alerts("shahed"))]
    assert {c["entry"] for c in alert["changes"]} == {PAIR, f"{PAIR}:Shahed-136"}
    # A new system under a known pair is news only to a subscription that names systems.
    _publish(redis_client, _story("b", _transfer(systems=["Shahed-238"])))
    _step(redis_client, [*subs, _changes_only("pairs")])
    assert redis_client.xlen(KEYS.alerts("pairs")) == 0


def test_a_backlog_is_worked_off_a_slice_per_call(redis_client: redis.Redis) -> None:
    _publish(redis_client, *(_story(f"s{i}", _transfer(recipient=f"Q{i}")) for i in range(5)))
    assert [_project(redis_client, limit=2, batch=1).read for _ in range(4)] == [2, 2, 1, 0]
    assert len(_ledger(redis_client)) == 5


def test_concurrent_workers_build_the_ledger_one_worker_builds(redis_url: str) -> None:
    import threading

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    statuses = ["sought", "agreed", "delivered"]
    _publish(client, *(
        _story(f"s{i}", _transfer(recipient=["RU", "BY"][i % 2], status=statuses[i % 3],
                                  denied_by=["IR"] if i % 7 == 0 else []), outlet=f"o{i % 5}")
        for i in range(60)
    ))  # fmt: skip

    def work(n: int) -> None:
        own = redis.Redis.from_url(redis_url, decode_responses=True)
        while project(own, KEYS, consumer=f"w{n}", maxlen=10_000, batch=3).read:
            pass
        own.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = _ledger(client)
    assert sum(e["stories"] for e in together if e["system"] is None) == 60
    rebuild(client, KEYS, consumer="alone", maxlen=10_000)
    assert _ledger(client) == together
    client.close()
