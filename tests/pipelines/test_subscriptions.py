"""Subscriptions: validation errors that name the subscription and field; matching; changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import ConfigError
from pipelines.record import Evidence, Source, Story, Topic, Transfer
from pipelines.subscriptions import (
    Fact,
    Subscription,
    before_from_facts,
    changes,
    facts,
    load_subscriptions,
    matches,
    matching_transfers,
    parse_subscriptions,
)
from tests.conftest import ROOT


def _transfer(supplier="IR", recipient="RU", cls="drone", status="delivered", **kw) -> Transfer:
    return Transfer(
        supplier=supplier,
        recipient=recipient,
        system_class=cls,
        status=status,
        confidence=0.8,
        evidence=(Evidence(sentence="s", start=0, end=1),),
        **kw,
    )


def _story(*transfers: Transfer, text="Tehran sent Shahed drones.", relevance=0.9, topics=()):
    return Story(
        id="s1",
        source=Source(kind="file", path="x.txt"),
        title="t",
        text=text,
        relevance=relevance,
        relevant=relevance >= 0.5,
        topics=tuple(Topic(label=t, score=0.9) for t in topics),
        transfers=transfers,
    )


def _sub(**match) -> Subscription:
    return Subscription.model_validate({"name": "s", "match": match})


# --- validation -------------------------------------------------------------------------


def test_shipped_subscriptions_validate() -> None:
    subs = load_subscriptions(ROOT / "config")
    names = [s.name for s in subs]
    assert {"iran-drones", "missiles-to-russia", "everything-relevant"} <= set(names)


def test_absent_file_means_no_subscriptions(tmp_path: Path) -> None:
    assert load_subscriptions(tmp_path) == ()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: a, match: {suppliers: [ir]}}", "subscription 'a': match.suppliers[0]"),
        ("{name: a, match: {supplier: [IR]}}", "subscription 'a': match.supplier: Extra"),
        ("{name: a, match: {system_classes: [tank]}}", "subscription 'a': match.system_classes"),
        ("{name: a, match: {statuses: [shipped]}}", "subscription 'a': match.statuses[0]"),
        ("{name: a, match: {min_relevance: 2}}", "subscription 'a': match.min_relevance"),
        ("{name: a, match: {keywords: ['']}}", "subscription 'a': match.keywords"),
        ("{name: a, match: {topics: [weather]}}", "subscription 'a': match.topics[0]"),
        (
            "{name: a, deliver: {webhook: {url: 'ftp://x/'}}}",
            "subscription 'a': deliver.webhook.url",
        ),
        (
            "{name: a, deliver: {webhook: {url: 'https://x.org/'}}}",
            "subscription 'a': deliver.webhook.secret_env: Field required",
        ),
        ("{name: 'a b'}", "subscription 'a b': name"),
        ("{match: {}}", "subscription #1: name: Field required"),
    ],
)
def test_validation_errors_name_the_subscription_and_field(entry: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_subscriptions(f"subscriptions:\n  - {entry}\n", source="subs.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("subs.yaml")


def test_every_problem_is_reported_at_once() -> None:
    text = """
subscriptions:
  - {name: good}
  - {name: bad1, match: {suppliers: [ir]}}
  - {name: good}
  - {name: bad2, match: {include_denied: maybe}}
"""
    with pytest.raises(ConfigError) as caught:
        parse_subscriptions(text, source="subs.yaml")
    message = str(caught.value)
    assert "subscription 'bad1': match.suppliers[0]" in message
    assert "subscription 'bad2': match.include_denied" in message
    assert "subscription 'good': name: used twice" in message


def test_bad_yaml_and_shapes_are_config_errors() -> None:
    for text in ("subscriptions: [", "- a\n- b\n", "subscriptions: {a: 1}\n", "subs: []\n"):
        with pytest.raises(ConfigError):
            parse_subscriptions(text, source="subs.yaml")
    assert parse_subscriptions("", source="subs.yaml") == ()
    assert parse_subscriptions("subscriptions:\n", source="subs.yaml") == ()


def test_null_and_single_values_are_read_as_lists() -> None:
    (sub,) = parse_subscriptions(
        "subscriptions:\n  - {name: a, match: {suppliers: IR, keywords: null}}\n", source="x"
    )
    assert sub.match.suppliers == ("IR",)
    assert sub.match.keywords == ()


# --- matching: story level --------------------------------------------------------------


def test_empty_subscription_matches_everything() -> None:
    assert matches(_story(), _sub())
    assert matches(_story(relevance=0.0), _sub())


def test_topics_any_of() -> None:
    story = _story(topics=("drone_transfer", "sanctions"))
    assert matches(story, _sub(topics=["missile_transfer", "sanctions"]))
    assert not matches(story, _sub(topics=["missile_transfer"]))
    assert not matches(_story(), _sub(topics=["drone_transfer"]))


def test_min_relevance_is_inclusive() -> None:
    assert matches(_story(relevance=0.5), _sub(min_relevance=0.5))
    assert not matches(_story(relevance=0.49), _sub(min_relevance=0.5))


def test_keywords_any_case_insensitive_in_the_text() -> None:
    story = _story(text="Tehran sent SHAHED drones.")
    assert matches(story, _sub(keywords=["nothing", "shahed"]))
    assert not matches(story, _sub(keywords=["Geran"]))


# --- matching: transfer level -----------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"suppliers": ["IR"]}, True),
        ({"suppliers": ["KP"]}, False),
        ({"recipients": ["RU", "BY"]}, True),
        ({"recipients": ["BY"]}, False),
        ({"system_classes": ["drone"]}, True),
        ({"system_classes": ["missile"]}, False),
        ({"systems": ["shahed-136"]}, True),  # case-insensitive
        ({"systems": ["Shahed-131"]}, False),
        ({"statuses": ["delivered", "agreed"]}, True),
        ({"statuses": ["sought"]}, False),
        ({"suppliers": [], "recipients": [], "systems": []}, True),  # empty lists: no constraint
    ],
)
def test_each_transfer_field(match: dict, expected: bool) -> None:
    story = _story(_transfer(systems=("Shahed-136",)))
    assert matches(story, _sub(**match)) is expected


def test_transfer_fields_must_hold_for_the_same_transfer() -> None:
    story = _story(_transfer("IR", "RU", "drone"), _transfer("KP", "RU", "missile"))
    assert matches(story, _sub(suppliers=["KP"], system_classes=["missile"]))
    # IR supplies, and a missile is transferred, but never both in one transfer.
    assert not matches(story, _sub(suppliers=["IR"], system_classes=["missile"]))


def test_include_denied_false_skips_denied_transfers() -> None:
    denied = _story(_transfer(denied=True))
    assert matches(denied, _sub(suppliers=["IR"]))  # include_denied defaults to true
    assert not matches(denied, _sub(suppliers=["IR"], include_denied=False))
    # On its own it is a transfer-level constraint: some transfer must not be denied.
    assert not matches(denied, _sub(include_denied=False))
    assert matches(_story(_transfer(denied=True), _transfer("KP")), _sub(include_denied=False))


def test_story_level_only_subscription_needs_no_transfer() -> None:
    sub = _sub(topics=["drone_transfer"], keywords=["drones"], min_relevance=0.5)
    assert matches(_story(topics=("drone_transfer",)), sub)
    assert matching_transfers(_story(_transfer(), _transfer("KP")), _sub()) == [0, 1]


def test_story_level_fields_still_apply_with_transfer_fields() -> None:
    story = _story(_transfer(), relevance=0.3)
    assert not matches(story, _sub(suppliers=["IR"], min_relevance=0.5))
    assert not matches(story, _sub(suppliers=["IR"], keywords=["missile"]))


def test_a_transfer_without_supplier_never_matches_a_supplier_list() -> None:
    assert not matches(_story(_transfer(supplier=None)), _sub(suppliers=["IR"]))
    assert matches(_story(_transfer(supplier=None)), _sub(recipients=["RU"]))


# --- facts and changes ------------------------------------------------------------------


def test_facts_are_those_of_matching_transfers() -> None:
    story = _story(_transfer("IR", "RU"), _transfer("KP", "RU", "missile", denied=True))
    assert facts(story, _sub(suppliers=["IR"])) == {Fact("IR", "RU", "drone", "delivered", False)}
    assert len(facts(story, _sub())) == 2


def test_changes_new_transfer_new_status_and_denial_flips() -> None:
    before = before_from_facts(
        [Fact("IR", "RU", "drone", "sought", False), Fact("IR", "BY", "drone", "agreed", False)]
    )
    added = [
        Fact("IR", "VE", "drone", "production", False),  # unknown transfer
        Fact("IR", "RU", "drone", "delivered", False),  # known transfer, new status
        Fact("IR", "BY", "drone", "agreed", True),  # same status, now denied
    ]
    texts = sorted(c.text for c in changes(added, before))
    assert texts == [
        "IR -> BY drone (agreed): now denied",
        "IR -> RU drone: sought -> delivered",
        "new transfer IR -> VE drone (production)",
    ]


def test_no_change_for_a_repeated_fact_or_an_unknown_denial() -> None:
    fact = Fact("IR", "RU", "drone", "sought", False)
    assert changes([fact], before_from_facts([fact])) == []
    # The subscription-wide memory knows statuses but not `denied`: no denial change then.
    assert changes([fact._replace(denied=True)], {fact.key: {"sought": frozenset()}}) == []
    assert [c.change for c in changes([fact], {})] == ["new_transfer"]
