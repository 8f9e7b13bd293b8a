"""YAML configuration text to data, or a ConfigError naming the file and the line."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError


def load_yaml(text: str, *, source: str) -> Any:
    """The document in `text`; a syntax error names `source`, the line and the column."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # PyYAML's own message names "<unicode string>", not the file: say where instead.
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = "; ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"not valid YAML: {where}{what}", input=source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", input=source) from exc
