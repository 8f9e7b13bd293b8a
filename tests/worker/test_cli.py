"""The command line: JSON Lines, exit codes 0/1/2, errors named on stderr, replay on Redis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from tests.conftest import ROOT, SEEDS
from tests.contract import check_record
from worker.cli import cli

SEED = SEEDS / "003_66b9e44e360c82d3.txt"


@pytest.fixture
def run(config_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARMSWATCH_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("REDIS_URL", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_tag_prints_one_contract_record_per_story(run) -> None:
    result = run("tag", str(SEEDS / "001_a0859556386acb74.txt"), str(SEED))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"]["path"].rsplit("/", 1)[-1] for r in records] == [
        "001_a0859556386acb74.txt",
        "001_a0859556386acb74.txt",
        "003_66b9e44e360c82d3.txt",
    ]
    assert [r["story_index"] for r in records] == [0, 1, 0]
    assert all(check_record(r) == [] for r in records)


def test_tag_reads_stdin(run) -> None:
    result = CliRunner().invoke(cli, ["tag", "-"], input=SEED.read_text())
    assert result.exit_code == 0
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["source"]["path"] == "<stdin>"
    assert record["relevant"] is True


def test_bad_inputs_are_named_and_the_rest_processed(run, tmp_path: Path) -> None:
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    result = run("tag", str(tmp_path / "missing.txt"), str(binary), str(empty), str(SEED))
    assert result.exit_code == 1
    assert "missing.txt: no such file or directory" in result.stderr
    assert "photo.txt: binary content" in result.stderr
    assert "empty.txt: empty input" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the good file still came through


def test_usage_and_configuration_errors_exit_2(run, config_dir: Path) -> None:
    assert run("tag").exit_code == 2
    assert run("no-such-command").exit_code == 2
    (config_dir / "settings.toml").write_text("stream_maxlen = 'lots'\n")
    result = run("tag", str(SEED))
    assert result.exit_code == 2
    assert "stream_maxlen" in result.stderr and "settings.toml" in result.stderr


def test_environment_overrides_the_settings_file(run, config_dir: Path) -> None:
    (config_dir / "settings.toml").write_text("stream_maxlen = 'lots'\n")
    result = run("tag", str(SEED), env={"ARMSWATCH_STREAM_MAXLEN": "5000"})
    assert result.exit_code == 0, result.stderr


def test_replay_publishes_the_seeds_once(run, redis_url: str, redis_client: redis.Redis) -> None:
    first = run("replay", str(SEEDS), env={"REDIS_URL": redis_url})
    assert first.exit_code == 0, first.stderr
    assert "5 stories from 4 files: 5 new" in first.stdout
    entries = redis_client.xrange("armswatch:tagged")
    assert len(entries) == 5
    for _, fields in entries:
        record = json.loads(fields["record"])
        assert check_record(record) == []
        assert fields["id"] == record["id"]
        assert fields["relevant"] == "true"
        assert fields["topics"] == ",".join(t["label"] for t in record["topics"])
    second = run("replay", str(SEEDS), env={"REDIS_URL": redis_url})
    assert second.exit_code == 0
    assert "Nothing new: all 5 stories were already published." in second.stdout
    assert redis_client.xlen("armswatch:tagged") == 5


def test_replay_names_a_missing_path_and_goes_on(run, redis_url: str, redis_client) -> None:
    result = run("replay", "no/such/dir", str(SEED), env={"REDIS_URL": redis_url})
    assert result.exit_code == 1
    assert "no/such/dir: no such file or directory" in result.stderr
    assert redis_client.xlen("armswatch:tagged") == 1


def test_replay_dead_letters_a_rejected_file(
    run, redis_url: str, redis_client, tmp_path: Path
) -> None:
    junk = tmp_path / "furniture.txt"
    junk.write_text("Latest News\n\nTT\n\n© 2024 Example\n")
    result = run("replay", str(junk), str(SEED), env={"REDIS_URL": redis_url})
    assert result.exit_code == 1
    assert "furniture.txt" in result.stderr
    ((_, entry),) = redis_client.xrange("armswatch:dlq")
    assert entry["stage"] == "clean" and entry["input"].endswith("furniture.txt")
    assert "no article text" in entry["error"]


def test_replay_starts_an_embedded_redis_when_none_is_named(tmp_path: Path) -> None:
    """The console script on a fresh folder: no REDIS_URL, no config, data under .armswatch/."""
    shutil.copy(SEED, tmp_path / SEED.name)
    env = {
        k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("ARMSWATCH_")
    }
    script = Path(sys.executable).with_name("armswatch")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "worker"]

    def replay() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "replay", SEED.name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = replay()
    assert first.returncode == 0, first.stderr
    assert "1 stories from 1 files: 1 new" in first.stdout
    assert (tmp_path / ".armswatch" / "appendonly.aof").exists()
    assert not (tmp_path / ".armswatch" / "redis.url").exists()  # stopped on exit
    second = replay()
    assert second.returncode == 0, second.stderr
    assert "Nothing new" in second.stdout


def test_module_entry_point_matches_console_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "worker", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "replay" in out.stdout and "tag" in out.stdout
