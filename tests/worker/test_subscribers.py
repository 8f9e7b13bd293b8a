"""Alert subscribers end to end: replayed seeds, `armswatch subscribe`, run-time subscriptions."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import redis

from pipelines.alerts import route
from pipelines.clean import default_rules
from pipelines.keys import SUBSCRIBE_GROUP, Keys
from pipelines.pipeline import process
from pipelines.record import Evidence, Source, Story, Transfer
from pipelines.subscriptions import load_subscriptions, matches
from pipelines.tag import Tagger
from tests.conftest import ROOT, SEEDS
from tests.receiver import wait_until

KEYS = Keys("armswatch:")


def _alert_ids(client: redis.Redis, name: str) -> list[str]:
    return [f["id"] for _, f in client.xrange(KEYS.alerts(name))]


# --- replaying the seeds ----------------------------------------------------------------


def test_replaying_the_seeds_gives_exactly_the_expected_alerts(
    run, config_dir: Path, redis_client: redis.Redis, tagger: Tagger
) -> None:
    shutil.copy(ROOT / "config" / "subscriptions.yaml", config_dir)
    subscriptions = load_subscriptions(config_dir)
    inputs = [
        Story(source=Source(kind="file", path=str(p)), raw=p.read_text("utf-8"))
        for p in sorted(SEEDS.glob("*.txt"))
    ]
    stories = [s for r in process(inputs, tagger=tagger, rules=default_rules()) for s in r.stories]
    expected = {sub.name: {s.id for s in stories if matches(s, sub)} for sub in subscriptions}
    by_seed = {(Path(s.source.path or "").name[:3], s.story_index): s.id for s in stories}

    first = run("replay", str(SEEDS))
    assert first.exit_code == 0, first.stderr
    total = sum(len(ids) for ids in expected.values())
    assert f"{total} new alerts: " in first.stdout
    for sub in subscriptions:
        ids = _alert_ids(redis_client, sub.name)
        assert len(ids) == len(set(ids)), sub.name  # each story at most once
        assert set(ids) == expected[sub.name], sub.name

    # By hand, from the seeds' labels: Iranian drones to Russia and others (000), North
    # Korean KN-23 missiles fired by Russia (001, second story).
    iran, to_russia = (
        set(_alert_ids(redis_client, "iran-drones")),
        set(_alert_ids(redis_client, "missiles-to-russia")),
    )
    assert by_seed[("000", 0)] in iran and by_seed[("003", 0)] in iran
    assert by_seed[("001", 1)] not in iran
    assert by_seed[("001", 1)] in to_russia and by_seed[("000", 0)] not in to_russia
    assert set(_alert_ids(redis_client, "everything-relevant")) == set(by_seed.values())

    lengths = {sub.name: redis_client.xlen(KEYS.alerts(sub.name)) for sub in subscriptions}
    second = run("replay", str(SEEDS))
    assert second.exit_code == 0, second.stderr
    assert "new alerts" not in second.stdout
    assert {sub.name: redis_client.xlen(KEYS.alerts(sub.name)) for sub in subscriptions} == lengths


def test_a_bad_subscriptions_file_stops_replay_with_exit_2(run, config_dir: Path) -> None:
    (config_dir / "subscriptions.yaml").write_text(
        "subscriptions:\n  - {name: desk, match: {recipients: [RUS]}}\n"
    )
    result = run("replay", str(SEEDS / "003_66b9e44e360c82d3.txt"))
    assert result.exit_code == 2
    assert "subscriptions.yaml" in result.stderr
    assert "subscription 'desk': match.recipients[0]" in result.stderr


# --- armswatch subscribe ----------------------------------------------------------------


def _transfer() -> Transfer:
    sentence = "Iran sent Shahed-136 drones to Russia."
    return Transfer(
        supplier="IR",
        recipient="RU",
        system_class="drone",
        systems=("Shahed-136",),
        status="delivered",
        denied=True,
        confidence=0.8,
        evidence=(Evidence(sentence=sentence, start=0, end=len(sentence)),),
    )


def _fill(
    client: redis.Redis, config_dir: Path, n: int, *, name: str = "desk", first: int = 0
) -> list[str]:
    """Alerts for subscription `name` from synthetic stories of a few kilobytes each."""
    (config_dir / "subscriptions.yaml").write_text(
        f"subscriptions:\n  - {{name: {name}, match: {{suppliers: [IR]}}}}\n"
    )
    (sub,) = load_subscriptions(config_dir)
    text = "Iran sent Shahed-136 drones to Russia. " + "Background paragraph. " * 300
    stories = [
        Story(
            id=f"story-{i}",
            source=Source(kind="feed", url=f"https://news.example/{i}"),
            title=f"Drones, part {i}",
            text=f"{text} ({i})",
            relevance=0.9,
            transfers=(_transfer(),),
        )
        for i in range(first, first + n)
    ]
    alerts = route(stories, [sub], client=client, keys=KEYS, maxlen=1000, seen_ttl=600)
    return [a.entry_id for a in alerts]


def _pending(client: redis.Redis, stream: str) -> int:
    try:
        return int(client.xpending(stream, SUBSCRIBE_GROUP)["pending"])
    except redis.ResponseError:  # no group yet: the subscriber has not started
        return 0


def _subscribe_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "worker", "subscribe", *args]


def _env(redis_url: str, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSWATCH_")}
    return {**env, "REDIS_URL": redis_url, "ARMSWATCH_CONFIG_DIR": str(config_dir)}


def test_a_subscriber_killed_before_acknowledging_gets_the_entry_again(
    redis_url: str, redis_client: redis.Redis, config_dir: Path
) -> None:
    ids = _fill(redis_client, config_dir, 3)
    stream = KEYS.alerts("desk")
    # Its stdout is a pipe of one page that nobody reads: the subscriber reads the alerts,
    # then blocks printing the first (a record is longer than the pipe holds), before its
    # acknowledgement. There it is killed.
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    killed = subprocess.Popen(
        _subscribe_cmd("desk", "--json", "--consumer", "c1"),
        cwd=ROOT,
        env=_env(redis_url, config_dir),
        stdout=write_end,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        assert wait_until(lambda: _pending(redis_client, stream) == 3)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        os.close(read_end)
    assert killed.returncode == -signal.SIGKILL
    assert redis_client.xpending(stream, SUBSCRIBE_GROUP)["consumers"] == [
        {"name": "c1", "pending": 3}
    ]

    restarted = subprocess.run(
        _subscribe_cmd("desk", "--json", "--consumer", "c1", "--timeout", "0"),
        cwd=ROOT,
        env=_env(redis_url, config_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    alerts = [json.loads(line) for line in restarted.stdout.splitlines()]
    assert [a["entry_id"] for a in alerts] == ids
    assert alerts[0]["record"]["id"] == "story-0"
    assert redis_client.xpending(stream, SUBSCRIBE_GROUP)["pending"] == 0


def test_subscribe_prints_readably_acknowledges_and_resumes(
    run, redis_client: redis.Redis, config_dir: Path
) -> None:
    ids = _fill(redis_client, config_dir, 3)
    first = run("subscribe", "desk", "--consumer", "c1", "--count", "2")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.count("== desk · new · ") == 2
    assert "Drones, part 0" in first.stdout and "Drones, part 2" not in first.stdout
    assert "IR -> RU  drone  systems: Shahed-136  status: delivered  DENIED" in first.stdout
    assert '"Iran sent Shahed-136 drones to Russia."' in first.stdout
    assert "source: https://news.example/0" in first.stdout
    # The next run goes on where the group stopped, then gives up waiting.
    rest = run("subscribe", "desk", "--consumer", "c1", "--json", "--timeout", "0.2")
    assert [json.loads(line)["entry_id"] for line in rest.stdout.splitlines()] == ids[2:]
    # --from-start delivers everything again.
    again = run("subscribe", "desk", "--consumer", "c1", "--json", "--from-start", "--timeout", "0")
    assert [json.loads(line)["entry_id"] for line in again.stdout.splitlines()] == ids


def test_subscribe_takes_over_what_a_dead_consumer_left(
    run, redis_client: redis.Redis, config_dir: Path
) -> None:
    ids = _fill(redis_client, config_dir, 2)
    stream = KEYS.alerts("desk")
    redis_client.xgroup_create(stream, SUBSCRIBE_GROUP, id="0")
    redis_client.xreadgroup(SUBSCRIBE_GROUP, "dead-host", {stream: ">"})  # read, never acked
    waiting = run("subscribe", "desk", "--consumer", "new-host", "--json", "--timeout", "0")
    assert waiting.stdout == ""  # not idle long enough: the other may still be working
    taken = run(
        "subscribe", "desk", "--consumer", "new-host", "--json", "--timeout", "0",
        "--reclaim-after", "0",
    )  # fmt: skip
    assert [json.loads(line)["entry_id"] for line in taken.stdout.splitlines()] == ids
    assert redis_client.xpending(stream, SUBSCRIBE_GROUP)["pending"] == 0


def test_subscribe_to_an_unknown_name_exits_2(run) -> None:
    result = run("subscribe", "nobody", "--timeout", "0")
    assert result.exit_code == 2
    assert "no subscription named 'nobody'" in result.stderr


# --- subscriptions at run time ----------------------------------------------------------


def test_subscriptions_add_list_remove(run, redis_client: redis.Redis, config_dir: Path) -> None:
    (config_dir / "subscriptions.yaml").write_text("subscriptions:\n  - {name: from-yaml}\n")
    added = run(
        "subscriptions", "add", "korea", "--supplier", "KP", "--class", "missile",
        "--status", "delivered", "--exclude-denied", "--min-relevance", "0.5",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    listed = run("subscriptions", "list", "--json")
    rows = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows["from-yaml"]["source"] == "subscriptions.yaml"
    assert rows["korea"]["source"] == "redis"
    assert rows["korea"]["match"] == {
        "min_relevance": 0.5,
        "suppliers": ["KP"],
        "system_classes": ["missile"],
        "statuses": ["delivered"],
        "include_denied": False,
    }
    assert "korea" in run("subscriptions", "list").stdout
    assert run("subscriptions", "add", "korea").exit_code == 2  # exists
    assert run("subscriptions", "add", "korea", "--replace").exit_code == 0
    clash = run("subscriptions", "add", "from-yaml")
    assert clash.exit_code == 2 and "defined in subscriptions.yaml" in clash.stderr
    assert run("subscriptions", "remove", "korea").exit_code == 0
    assert run("subscriptions", "remove", "korea").exit_code == 2
    assert "korea" not in run("subscriptions", "list").stdout


def test_subscriptions_add_from_a_file(run, tmp_path: Path) -> None:
    spec = tmp_path / "desk.yaml"
    spec.write_text("match: {recipients: [RU], keywords: [Shahed]}\n")
    assert run("subscriptions", "add", "desk", "--file", str(spec)).exit_code == 0
    (row,) = map(json.loads, run("subscriptions", "list", "--json").stdout.splitlines())
    assert row["match"] == {"recipients": ["RU"], "keywords": ["Shahed"]}


def test_subscriptions_add_names_the_bad_field(run) -> None:
    bad = run("subscriptions", "add", "desk", "--supplier", "Iran")
    assert bad.exit_code == 2
    assert "subscription 'desk': match.suppliers[0]" in bad.stderr
    hook = run("subscriptions", "add", "desk", "--webhook", "https://example.org/h")
    assert hook.exit_code == 2
    assert "deliver.webhook.secret_env" in hook.stderr
    private = run(
        "subscriptions", "add", "desk", "--webhook", "http://127.0.0.1:9/h", "--secret-env", "S"
    )
    assert private.exit_code == 2
    assert "deliver.webhook.url" in private.stderr and "loopback" in private.stderr
