"""The page in a real browser (headless Chromium) against `armswatch web` on a real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import SEEDS
from tests.web.browser import ARGS, chromium_path
from tests.web.conftest import HOSTILE_SENTENCE, HOSTILE_TITLE, WebServer, make_story

pytestmark = pytest.mark.browser

Ingest = Callable[..., int]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path, reason = chromium_path()
    if path is None:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []  # console errors, CSP violations, dialogs: each one a failure
    page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield page
    context.close()


def _wait(page: Any, expression: str) -> None:
    """Until `expression` is true in the page (polled from here: Playwright's own polling
    evaluates a string, which the page's CSP refuses, as it should)."""
    deadline = time.monotonic() + 20
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after 20 s: {expression}"
        page.wait_for_timeout(50)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#live.on")


def _stories(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#alerts > li:not([hidden])", "items => items.map(i => i.dataset.story)"
    )


def test_a_story_replayed_while_the_page_is_open_appears_without_reload(
    web: WebServer, ingest: Ingest, page: Any
) -> None:
    ingest([make_story("before", title="Earlier drones", sentence="Iran sent drones to Russia.")])
    _open(page, web.url)
    assert _stories(page) == ["before"]
    page.evaluate("window.sameDocument = true")
    ingest([make_story("live", title="Missiles now", sentence="North Korea sent KN-23 missiles "
                       "to Russia.", supplier="KP", system_class="missile")])  # fmt: skip
    page.wait_for_selector("#alerts > li[data-story='live']")
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    assert _stories(page) == ["live", "before"]
    assert page.text_content("#alerts > li[data-story='live'] .title") == "Missiles now"
    assert page.problems == []


def test_filters_show_only_matching_alerts(web: WebServer, ingest: Ingest, page: Any) -> None:
    ingest([make_story("d1", title="Drones one", sentence="Iran sent drones to Russia.")])
    ingest([make_story("m1", title="Missiles one", sentence="North Korea sent missiles to "
                       "Russia.", supplier="KP", system_class="missile")])  # fmt: skip
    ingest([make_story("d2", title="Drones two", sentence="Iran sold drones to Sudan.",
                       recipient="SD")])  # fmt: skip
    _open(page, web.url)
    assert _stories(page) == ["d2", "m1", "d1"]
    page.fill("#f-supplier", "kp")
    assert _stories(page) == ["m1"]
    page.fill("#f-supplier", "")
    page.select_option("#f-subscription", "drones")
    assert _stories(page) == ["d2", "d1"]
    page.fill("#f-recipient", "SD")
    assert _stories(page) == ["d2"]
    assert page.text_content("#alert-count") == "1 of 3"
    page.fill("#f-recipient", "")
    page.fill("#f-text", "TWO")
    assert _stories(page) == ["d2"]
    assert page.problems == []


def _edges(page: Any) -> list[str]:
    return sorted(page.evaluate("window.armswatchGraph.edges().map(e => e.id())"))


def test_the_graph_has_the_expected_edges_and_grows_live(
    web: WebServer, ingest: Ingest, page: Any
) -> None:
    ingest([make_story("g1", title="One", sentence="Iran sent drones to Russia.")])
    ingest([make_story("g2", title="Two", sentence="Iran sent more drones to Russia.")])
    _open(page, web.url + "/#graph")
    _wait(page, "window.armswatchGraph !== undefined")
    assert _edges(page) == ["IR>RU:drone"]
    assert page.evaluate("window.armswatchGraph.getElementById('IR>RU:drone').data('count')") == 2
    ingest([make_story("g3", title="Three", sentence="North Korea sent missiles to Russia.",
                       supplier="KP", system_class="missile")])  # fmt: skip
    _wait(page, "window.armswatchGraph.edges().length === 2")
    assert _edges(page) == ["IR>RU:drone", "KP>RU:missile"]
    assert sorted(page.evaluate("window.armswatchGraph.nodes().map(n => n.id())")) == [
        "IR", "KP", "RU"]  # fmt: skip
    assert page.problems == []


def test_a_story_with_script_in_its_text_runs_nothing(
    web: WebServer, ingest: Ingest, page: Any
) -> None:
    ingest([make_story("evil", title=HOSTILE_TITLE, sentence=HOSTILE_SENTENCE)])
    _open(page, web.url)
    # Also one that arrives live, through the event stream and the script's rendering.
    ingest([make_story("evil2", title=HOSTILE_TITLE + " 2", sentence=HOSTILE_SENTENCE + " 2")])
    page.wait_for_selector("#alerts > li[data-story='evil2']")
    page.click("#tab-graph")
    _wait(page, "window.armswatchGraph !== undefined")
    assert page.evaluate("window.pwned") is None
    assert page.text_content("#alerts > li[data-story='evil2'] .title") == " ".join(
        (HOSTILE_TITLE + " 2").split()
    )
    assert page.query_selector_all("#alerts img") == []
    page.goto(web.url + "/stories/evil")
    assert page.evaluate("window.pwned") is None
    assert page.text_content("#story-title") == HOSTILE_TITLE
    assert page.text_content("#story-text mark").startswith(HOSTILE_SENTENCE)
    assert page.query_selector_all("#story img, #story-text b") == []
    assert page.problems == []


def _ledger(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#ledger tr.entry",
        "rows => rows.map(r => r.cells[0].textContent + '>' + "
        "r.cells[1].textContent + ':' + r.cells[2].textContent + ':' + r.cells[5].textContent)",
    )


def test_the_ledger_table_filters_shows_timelines_and_updates_live(
    web: WebServer, ingest: Ingest, page: Any
) -> None:
    ingest([make_story("t1", title="Talks", sentence="Iran offered drones to Russia.",
                       status="sought")])  # fmt: skip
    ingest([make_story("t2", title="Sent", sentence="Iran delivered drones to Russia.")])
    _open(page, web.url + "/#ledger")
    page.wait_for_selector("#ledger tr.entry")
    assert _ledger(page) == ["IR>RU:drone:delivered"]
    ingest([make_story("t3", title="Missiles", sentence="North Korea sent missiles to Russia.",
                       supplier="KP", system_class="missile")])  # fmt: skip
    _wait(page, "document.querySelectorAll('#ledger tr.entry').length === 2")
    assert _ledger(page) == ["KP>RU:missile:delivered", "IR>RU:drone:delivered"]
    page.select_option("#l-system_class", "missile")
    _wait(page, "document.querySelectorAll('#ledger tr.entry').length === 1")
    assert _ledger(page) == ["KP>RU:missile:delivered"]
    page.select_option("#l-system_class", "")
    _wait(page, "document.querySelectorAll('#ledger tr.entry').length === 2")
    page.fill("#l-supplier", "IR")
    _wait(page, "document.querySelectorAll('#ledger tr.entry').length === 1")
    assert _ledger(page) == ["IR>RU:drone:delivered"]
    page.click("#ledger tr.entry")
    steps = page.eval_on_selector_all(
        "#ledger tr.detail:not([hidden]) .timeline li",
        "items => items.map(i => i.querySelector('.status').textContent + ' ' + "
        "i.querySelector('a').textContent)",
    )
    assert steps == ["sought t1", "delivered t2"]
    assert page.problems == []


def test_a_seed_replayed_while_the_page_is_open_appears_in_every_view(
    web: WebServer, page: Any, run: Callable[..., Any]
) -> None:
    """`armswatch replay`, the real pipeline (spaCy, publish, alerts, ledger), into an open page."""
    _open(page, web.url + "/#graph")
    _wait(page, "window.armswatchGraph !== undefined")
    assert page.evaluate("window.armswatchGraph.edges().length") == 0
    result = run("replay", "-j", "1", str(SEEDS / "002_43f3cc6b7e9ffe8c.txt"))
    assert result.exit_code == 0, result.output
    _wait(page, "window.armswatchGraph.getElementById('IR>RU:drone').length === 1")
    page.click("#tab-alerts")
    title = page.text_content("#alerts > li[data-subscription='drones'] .title")
    assert title and "drone" in title.lower()
    page.click("#tab-ledger")
    page.wait_for_selector("#ledger tr.entry")
    assert "IR>RU:drone:delivered" in _ledger(page)
    assert page.problems == []


def test_the_map_draws_arrows_between_states_and_names_what_it_cannot_place(
    web: WebServer, ingest: Ingest, page: Any
) -> None:
    ingest([make_story("p1", title="One", sentence="Iran sent drones to Russia.")])
    ingest([make_story("p2", title="Two", sentence="Iran sent drones to the Houthis.",
                       recipient="houthis")])  # fmt: skip
    _open(page, web.url + "/#map")
    page.wait_for_selector("#map svg .edge")
    assert page.eval_on_selector_all("#map .edge", "es => es.map(e => e.dataset.id)") == [
        "IR>RU:drone"
    ]
    assert len(page.query_selector_all("#map .land path")) > 150  # the world's outline
    assert page.text_content("#map-unplaced") == (
        "Not on the map (armed groups, unknown places): houthis"
    )
    ingest([make_story("p3", title="Three", sentence="North Korea sent missiles to Russia.",
                       supplier="KP", system_class="missile")])  # fmt: skip
    _wait(page, "document.querySelectorAll('#map .edge').length === 2")
    assert page.problems == []
