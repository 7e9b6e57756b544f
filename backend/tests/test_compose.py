"""docker-compose.yml: every service that runs `leaderboard ...` uses a command and options the CLI has, and the
file is valid for docker-compose (`make compose-check` runs the same validation in CI)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from leaderboard.cli import main

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def leaderboard_commands() -> dict[str, list[str]]:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return {name: spec["command"][1:] for name, spec in services.items()
            if isinstance(spec.get("command"), list) and spec["command"][0] == "leaderboard"}


def test_every_service_command_parses_with_the_cli():
    commands = leaderboard_commands()
    assert set(commands) == {"api", "scheduler", "consumer", "producer", "kafka-consumer"}
    for service, argv in commands.items():
        subcommand = main.get_command(click.Context(main), argv[0])
        assert subcommand is not None, f"{service}: no `leaderboard {argv[0]}`"
        # parses every option and value exactly as `leaderboard <cmd> --help` documents them; a typo raises
        context = subcommand.make_context(argv[0], list(argv[1:]))
        assert not context.args, f"{service}: stray arguments {context.args}"
    producer = main.get_command(click.Context(main), "produce").make_context("produce", commands["producer"][1:])
    assert producer.params["target"] == "stream"
    kafka = main.get_command(click.Context(main), "consume").make_context("consume", commands["kafka-consumer"][1:])
    assert kafka.params["source"] == "kafka"


def test_a_misspelt_option_would_be_caught():
    produce = main.get_command(click.Context(main), "produce")
    with pytest.raises(click.NoSuchOption):
        produce.make_context("produce", ["--targt", "stream"])


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_docker_compose_validates_the_file_with_the_demo_and_kafka_profiles():
    for args in ([], ["--profile", "demo"], ["--profile", "kafka"]):
        run = subprocess.run(["docker-compose", "-f", str(COMPOSE_FILE), *args, "config", "-q"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
