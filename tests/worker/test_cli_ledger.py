"""`armswatch ledger` after a replay of the seed corpus: list, filters, show, rebuild, export."""

from __future__ import annotations

import csv
import io
import json

import pytest
import redis

from tests.conftest import SEEDS
from worker.cli_ledger import parse_since


@pytest.fixture
def replayed(run, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch):
    """The seed corpus replayed, with one changes-only subscription stored first. The rules
    tag it: these tests are about the ledger's projection of transfers known exactly (the
    rules give every labelled transfer of seeds/, the model one fewer and one more)."""
    monkeypatch.setenv("ARMSWATCH_TAGGER", "rules")
    added = run("subscriptions", "add", "desk", "--supplier", "IR", "--changes-only")
    assert added.exit_code == 0, added.output
    result = run("replay", "-j", "1", str(SEEDS))
    assert result.exit_code == 0, result.output
    return run


def _entries(run, *args: str) -> dict[str, dict]:
    result = run("ledger", "--json", *args)
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.stdout.splitlines()]
    return {f"{e['supplier']}>{e['recipient']} {e['system_class']} {e['kind']}": e for e in found}


def test_the_seed_corpus_as_a_ledger(replayed) -> None:
    entries = _entries(replayed)
    iran_russia = entries["IR>RU drone transfer"]
    assert (iran_russia["status"], iran_russia["denied_by"]) == ("delivered", ["IR", "RU"])
    assert (iran_russia["stories"], iran_russia["sources"]) == (3, 3)
    assert iran_russia["first_seen"] == "2023-06-10T00:00:00Z"  # the dated story told it first
    assert iran_russia["history"][0]["evidence"]
    assert entries["KP>RU missile transfer"]["systems"] == ["KN-23"]
    argentina = entries["IL>AR drone transfer"]
    assert (argentina["status"], argentina["systems"]) == ("agreed", ["Hero-120", "Hero-30"])
    assert entries["IR>VE drone production"]["status"] == "production"
    for key in ("supplier", "recipient", "system_class", "kind", "systems", "status", "denied",
                "first_seen", "last_seen", "stories", "sources", "history"):  # fmt: skip
        assert key in iran_russia


def test_filters(replayed) -> None:
    assert set(_entries(replayed, "--supplier", "KP")) == {"KP>RU missile transfer"}
    assert set(_entries(replayed, "--recipient", "AR", "--status", "agreed")) == {
        "IL>AR drone transfer"
    }
    assert "RU>IR aircraft transfer" in _entries(replayed, "--class", "aircraft")
    # The 2023 story's relationships were last reported in 2023: not in the last week.
    recent = _entries(replayed, "--since", "7d")
    assert "IR>RU drone transfer" in recent
    assert "RU>IR aircraft transfer" not in recent
    bad = replayed("ledger", "--since", "last tuesday")
    assert bad.exit_code == 2
    assert "'last tuesday' is neither a duration" in bad.output


def test_table_show_rebuild_export(replayed) -> None:
    table = replayed("ledger")
    assert table.exit_code == 0
    assert "IR -> RU" in table.stdout
    assert "by IR, RU" in table.stdout
    shown = replayed("ledger", "show", "IL:AR:drone:transfer")
    assert shown.exit_code == 0, shown.output
    assert "agreed" in shown.stdout
    assert "Hero-120" in shown.stdout and "Uvision" in shown.stdout  # the evidence sentence
    missing = replayed("ledger", "show", "XX:YY:drone:transfer")
    assert missing.exit_code == 1
    rebuilt = replayed("ledger", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "identical to the ledger before" in rebuilt.stdout
    exported = replayed("ledger", "export", "--supplier", "IL")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["Supplier"], r["Recipient"], r["Designation"], r["Status"]) for r in rows] == [
        ("IL", "AR", "Hero-120", "agreed"),
        ("IL", "AR", "Hero-30", "agreed"),
    ]


def test_a_changes_only_subscription_hears_of_each_relationship_once(
    replayed, redis_client: redis.Redis
) -> None:
    alerts = redis_client.xrange("armswatch:alerts:desk")
    assert {fields["kind"] for _, fields in alerts} == {"change"}
    texts = [c["text"] for _, f in alerts for c in _changes(f)]
    # IR -> RU drones is in three stories: one "new transfer", however many tell it.
    assert sum(t.startswith("new transfer IR -> RU drone (delivered)") for t in texts) == 1
    assert "new transfer IR -> RU drone (production)" in texts  # a kind of its own
    assert replayed("replay", "-j", "1", str(SEEDS)).exit_code == 0
    assert len(redis_client.xrange("armswatch:alerts:desk")) == len(alerts)


def _changes(fields: dict[str, str]) -> list[dict]:
    from pipelines.subscriptions import Change

    return [{"text": Change.model_validate(c).text} for c in json.loads(fields["changes"])]


def test_parse_since() -> None:
    assert parse_since("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert parse_since("2w", now=0.0) == -14 * 86400
    assert parse_since("2026-12-01") == 1_796_083_200.0
