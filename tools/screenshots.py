"""Screenshots of the page's main views for the README: `make screenshots` -> docs/screenshots/.

Replays the seed corpus on a fresh embedded Redis (the shipped subscriptions), serves
`armswatch web` on loopback and photographs it in headless Chromium (Debian's binary).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.web.browser import ARGS, chromium_path
from worker.cli_web import build_app
from worker.redis_server import EmbeddedRedis
from worker.settings import Settings
from worker.web.server import ThreadedServer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def _replay(url: str, files: list[Path]) -> None:
    env = {**os.environ, "REDIS_URL": url, "ARMSWATCH_CONFIG_DIR": str(ROOT / "config")}
    armswatch = Path(sys.executable).parent / "armswatch"
    names = [str(f.relative_to(ROOT)) for f in files]  # as the README's `armswatch replay`
    subprocess.run([armswatch, "replay", *names], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#live.on")


def shoot(page: Page, base: str, url: str) -> None:
    """The five views, each to its file."""
    _ready(page, base + "/")
    page.screenshot(path=OUT / "alerts.png")
    _replay(url, SEEDS[-1:])  # one more story while the page is open: it appears live
    page.click("#tab-ledger")
    page.wait_for_selector("#ledger tr.entry")
    page.click("#ledger tr.entry >> nth=0")
    page.screenshot(path=OUT / "ledger.png")
    page.click("#tab-graph")
    page.wait_for_timeout(800)  # the layout settles
    page.screenshot(path=OUT / "graph.png")
    page.click("#tab-map")
    page.wait_for_selector("#map svg .edge")
    page.screenshot(path=OUT / "map.png")
    page.click("#tab-alerts")
    page.click("#alerts > li >> nth=0 >> a.title")
    page.wait_for_selector("#story-text")
    page.screenshot(path=OUT / "story.png")


def main() -> int:
    path, reason = chromium_path()
    if path is None:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        url = server.start()
        try:
            _replay(url, SEEDS[:-1])
            settings = Settings.load(redis_url=url, config_dir=ROOT / "config",
                                     data_dir=Path(tmp) / "data")  # fmt: skip
            with (
                ThreadedServer(build_app(settings, url, token=None)) as web,
                sync_playwright() as p,
            ):
                browser = p.chromium.launch(executable_path=path, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                shoot(page, web.url, url)
                browser.close()
        finally:
            server.stop()
    print(
        f"screenshots in {OUT.relative_to(ROOT)}: "
        + ", ".join(sorted(p.name for p in OUT.iterdir()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
