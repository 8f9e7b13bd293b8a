"""Inputs as users name them: endless files, symlink loops, names with control characters,
and every input refused when read listed in the dead-letter stream by `replay`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis

from tests.conftest import ROOT, SEEDS

SEED = SEEDS / "003_66b9e44e360c82d3.txt"


def test_tag_stops_reading_an_endless_input_at_max_input_bytes(config_dir: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ARMSWATCH_")},
        "ARMSWATCH_CONFIG_DIR": str(config_dir),
        "ARMSWATCH_MAX_INPUT_BYTES": "65536",
    }
    with Path("/dev/zero").open("rb") as endless:
        out = subprocess.run(
            [sys.executable, "-m", "worker", "tag", "/dev/zero", "-", str(SEED)],
            cwd=ROOT, env=env, stdin=endless, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
    assert out.returncode == 1, out.stderr
    limit = "too large: more than 65,536 bytes (max_input_bytes)"
    assert f"armswatch: rejected /dev/zero: {limit}" in out.stderr
    assert f"armswatch: rejected -: {limit}" in out.stderr
    assert len(out.stdout.splitlines()) == 1  # the seed was still tagged


def test_a_symlink_loop_and_a_broken_link_are_named_as_such(run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "deleted.txt")
    result = run("tag", str(tmp_path / "a.txt"), str(tmp_path / "gone.txt"), str(SEED))
    assert result.exit_code == 1
    assert f"rejected {tmp_path / 'a.txt'}: symbolic link loop" in result.stderr
    assert (
        f"rejected {tmp_path / 'gone.txt'}: broken symbolic link (to {tmp_path / 'deleted.txt'})"
        in result.stderr
    )
    assert "no such file" not in result.stderr


def test_a_name_with_a_newline_cannot_forge_a_line(run, tmp_path: Path) -> None:
    forged = tmp_path / "x.txt\narmswatch: rejected all-is-well.txt: nothing"
    forged.write_text("")
    result = run("tag", str(forged), str(SEED))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line == f"armswatch: rejected {str(forged)!r}: empty input"


def test_replay_dead_letters_inputs_refused_when_read(
    run, redis_client: redis.Redis, tmp_path: Path
) -> None:
    (tmp_path / "empty.txt").write_text(" \n")
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    names = [str(tmp_path / n) for n in ("missing.txt", "loop.txt", "empty.txt", "photo.txt")]
    result = run("replay", *names, str(SEED))
    assert result.exit_code == 1
    entries = [fields for _, fields in redis_client.xrange("armswatch:dlq")]
    assert [(e["input"], e["stage"]) for e in entries] == [(n, "read") for n in names]
    reasons = [e["error"] for e in entries]
    assert reasons[0] == "no such file or directory"
    assert reasons[1].startswith("symbolic link loop")
    assert reasons[2] == "empty input"
    assert reasons[3].startswith("binary content")
    assert redis_client.xlen("armswatch:tagged") == 1  # the good file went through
    listed = run("dlq", "list")
    assert listed.stdout.count("  read  ") == 4 and "(nothing to re-drive)" in listed.stdout


def test_replay_queue_and_via_http_dead_letter_them_too(
    run, redis_client: redis.Redis, monkeypatch
) -> None:
    monkeypatch.setenv("ARMSWATCH_MAX_INPUT_BYTES", "65536")
    assert run("replay", "--queue", "--timeout", "1", "missing.txt").exit_code == 1
    assert run("replay", "--via-http", "gone.txt", "/dev/zero").exit_code == 1
    entries = [fields for _, fields in redis_client.xrange("armswatch:dlq")]
    assert [(e["input"], e["stage"]) for e in entries] == [
        ("missing.txt", "read"),
        ("gone.txt", "read"),
        ("/dev/zero", "read"),
    ]
    assert entries[2]["error"].startswith("too large")
