"""Headless Chromium for the page's tests and screenshots: Debian's binary, driven by Playwright.

Never `playwright install` (it downloads a browser); `make test` installs Debian's
`chromium` with apt where it can (as root), and these tests are skipped, saying why, where
it cannot. ARMSWATCH_CHROMIUM names another binary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Without these, Chromium calls Google hosts at start-up (refused here, noisily).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> tuple[str | None, str]:
    """The Chromium binary to drive, or None and the reason there is none."""
    configured = os.environ.get("ARMSWATCH_CHROMIUM")
    if configured:
        if Path(configured).is_file():
            return configured, ""
        return None, f"ARMSWATCH_CHROMIUM={configured} is not a file"
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found, ""
    return None, (
        "no Chromium binary (Debian's `chromium` package): `make test` installs it with apt "
        "when run as root; otherwise run `sudo apt-get install chromium`"
    )
