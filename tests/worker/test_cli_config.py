"""Configuration is checked when any command starts: a bad feeds.yaml, subscriptions.yaml or
settings.toml, or a config folder that is not there, stops it with exit 2 and a message
naming the file (and the line, where YAML or TOML give one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import SEEDS
from worker.cli import cli

SEED = str(SEEDS / "003_66b9e44e360c82d3.txt")
# One command of each kind that reads the configuration, with and without Redis.
COMMANDS = [
    ["tag", SEED],
    ["replay", SEED],
    ["subscriptions", "list"],
    ["dlq", "list"],
    ["status"],
    ["poll"],
]


def _run(config_dir: Path, redis_url: str, *args: str, env: dict[str, str] | None = None):
    base = {"ARMSWATCH_CONFIG_DIR": str(config_dir), "REDIS_URL": redis_url}
    return CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, catch_exceptions=False)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_bad_feed_stops_every_command(args: list[str], config_dir: Path, redis_url: str) -> None:
    (config_dir / "feeds.yaml").write_text(
        "feeds:\n  - {name: wire, url: 'ftp://example.org/rss.xml'}\n"
    )
    result = _run(config_dir, redis_url, *args)
    assert result.exit_code == 2, result.output
    assert f"{config_dir / 'feeds.yaml'}: feed 'wire': url: " in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("feeds.yaml", "feeds:\n  - name: wire\n    url: [https://example.org\n", "line 4"),
        (
            "subscriptions.yaml",
            "subscriptions:\n  - {name: desk, match: {suppliers: [IR}}\n",
            "line 2",
        ),
        ("settings.toml", "prefix = 'armswatch:'\nstream_maxlen = \n", "line 2"),
    ],
)
def test_a_syntax_error_names_the_file_and_the_line(
    name: str, text: str, line: str, config_dir: Path, redis_url: str
) -> None:
    (config_dir / name).write_text(text)
    for args in (["tag", SEED], ["dlq", "list"]):
        result = _run(config_dir, redis_url, *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"armswatch: {config_dir / name}: not valid ")
        assert line in result.stderr and "<unicode string>" not in result.stderr


def test_a_missing_config_folder_is_an_error(tmp_path: Path, redis_url: str) -> None:
    result = _run(tmp_path / "no-such-folder", redis_url, "tag", SEED)
    assert result.exit_code == 2
    assert f"config folder {tmp_path / 'no-such-folder'} does not exist" in result.stderr


@pytest.mark.parametrize("interval", ["true", "'600'", "1.5", "0", "99999999999"])
def test_a_feed_interval_is_a_whole_number_of_seconds_within_a_week(
    interval: str, config_dir: Path, redis_url: str
) -> None:
    (config_dir / "feeds.yaml").write_text(
        f"feeds:\n  - {{name: wire, url: 'https://example.org/rss', interval: {interval}}}\n"
    )
    result = _run(config_dir, redis_url, "poll")
    assert result.exit_code == 2
    assert "feed 'wire': interval: " in result.stderr


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("http_read_timeout", "inf"),
        ("http_read_timeout", "nan"),
        ("poll_wait_max_seconds", "1e30"),
        ("feed_interval_seconds", "1000000000000"),
        ("max_input_bytes", "1e30"),
        ("stream_maxlen", "1000000000000000"),
    ],
)
def test_settings_have_upper_bounds(
    setting: str, value: str, config_dir: Path, redis_url: str
) -> None:
    (config_dir / "feeds.yaml").write_text(
        "feeds:\n  - {name: wire, url: 'https://example.org/rss'}\n"
    )
    (config_dir / "settings.toml").write_text(f"{setting} = {value}\n")  # TOML has inf, nan
    from_file = _run(config_dir, redis_url, "poll")
    assert from_file.exit_code == 2, from_file.output
    assert f"{config_dir / 'settings.toml'}: invalid settings ({setting}: " in from_file.stderr
    (config_dir / "settings.toml").unlink()
    env = {f"ARMSWATCH_{setting.upper()}": value}
    from_env = _run(config_dir, redis_url, "poll", env=env)
    assert from_env.exit_code == 2, from_env.output
    assert from_env.stderr.startswith("armswatch: environment: invalid settings (")
    assert f"(from ARMSWATCH_{setting.upper()})" in from_env.stderr
