"""What an installed user gets: the packages pyproject ships and the image copies."""

from __future__ import annotations

import importlib.util
import re
import tomllib

from tests.conftest import ROOT


def _shipped() -> set[str]:
    """The top-level packages of the wheel (`include` patterns are `name*`)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.removesuffix("*") for pattern in include}


def test_the_news_site_of_replay_via_http_is_its_own_shipped_package() -> None:
    # `replay --via-http` serves files with it, so an installed armswatch needs it; the worker
    # package holds what a worker runs, not the loopback site the tests serve faults from.
    assert "newssite" in _shipped()
    assert importlib.util.find_spec("worker.site") is None
    assert all((ROOT / name / "__init__.py").is_file() for name in _shipped())


def test_the_image_copies_every_shipped_top_level_package() -> None:
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert _shipped() <= copied
