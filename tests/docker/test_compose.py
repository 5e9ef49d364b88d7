"""docker/: the compose files, Dockerfile and .env.example agree with the code (no Docker engine needed)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flower.command import is_flower_envvar

from lab.inventory import CONTROL_QUEUE, PASSWORD_ENV, site_queue
from lab.scenario import load_scenario
from worker.redis_connection import parse_sentinel_url
from worker.routing import DEFAULT_CONTROL_QUEUE
from worker.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SCENARIOS = sorted((ROOT / "lab" / "scenarios").glob("*.yaml"))
#: The variables worker/settings.py reads, with a value each that get_settings() must pick up.
SETTINGS_ENV = {
    "REDIS_URL": "sentinel://:pw@sentinel-1:26379/0;sentinel://:pw@sentinel-2:26379/0",
    "LYNC_FAILOVER_SENTINEL_MASTER": "lync-redis",
    "LYNC_FAILOVER_INVENTORY": "/shared/inventory.json",
    "LYNC_FAILOVER_STEP_TIMEOUT": "1234",
    "LYNC_FAILOVER_RETRY_DEADLINE": "2345",
    "LYNC_FAILOVER_LOCK_TTL": "3456",
    "LYNC_FAILOVER_READINESS_INTERVAL": "4567",
}


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DOCKER / name).read_text(encoding="utf-8"))
    return document


COMPOSE = load("compose.yaml")
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command", [])
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def option(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


def worker_services() -> Iterator[tuple[str, list[str]]]:
    for name, service in SERVICES.items():
        argv = command(service)
        if argv[:4] == ["celery", "-A", "worker", "worker"]:
            yield name, argv


WORKERS = dict(worker_services())


def code_queues() -> set[str]:
    """The control queue and the queue of every site of every lab scenario."""
    sites = {site for path in SCENARIOS for site in load_scenario(path.stem).sites}
    assert sites, "no lab scenarios found under lab/scenarios/"
    return {CONTROL_QUEUE, DEFAULT_CONTROL_QUEUE} | {site_queue(site) for site in sites}


def test_there_is_a_worker_per_datacenter_and_one_for_the_control_queue() -> None:
    served = {option(argv, "-Q") for argv in WORKERS.values()}

    assert served == code_queues()
    assert option(WORKERS["worker-control"], "-Q") == CONTROL_QUEUE
    for name, argv in WORKERS.items():
        if name.startswith("worker-datacenter"):
            assert option(argv, "-Q") == "lync.site." + name.removeprefix("worker-")


def test_one_beat_starts_the_readiness_checks_with_the_runners_settings() -> None:
    beats = [
        name
        for name, service in SERVICES.items()
        if command(service)[:4] == ["celery", "-A", "worker", "beat"]
    ]

    assert beats == ["beat"]
    assert SERVICES["beat"]["environment"] == SERVICES["worker-control"]["environment"]
    assert "LYNC_FAILOVER_READINESS_INTERVAL" in SERVICES["beat"]["environment"]


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_each_worker_names_itself_after_its_queue_and_sends_events(name: str) -> None:
    argv = WORKERS[name]

    assert option(argv, "--hostname") == option(argv, "-Q") + "@%h"
    assert "-E" in argv


def test_the_variables_the_workers_get_are_the_ones_the_code_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SETTINGS_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        settings = get_settings()
    finally:
        get_settings.cache_clear()

    assert settings.redis_url == SETTINGS_ENV["REDIS_URL"]
    assert settings.sentinel_master == SETTINGS_ENV["LYNC_FAILOVER_SENTINEL_MASTER"]
    assert settings.inventory_path == Path(SETTINGS_ENV["LYNC_FAILOVER_INVENTORY"])
    assert (settings.step_timeout_s, settings.retry_deadline_s, settings.lock_ttl_s) == (1234, 2345, 3456)
    assert settings.readiness_interval_s == 4567
    for name in WORKERS:
        environment = SERVICES[name]["environment"]
        assert set(environment) == set(SETTINGS_ENV) | {PASSWORD_ENV}, name
        assert environment["LYNC_FAILOVER_INVENTORY"] == SETTINGS_ENV["LYNC_FAILOVER_INVENTORY"]


DATA_NODES = ["redis-1", "redis-2"]
SENTINELS = ["sentinel-1", "sentinel-2", "sentinel-3"]
#: What the runner's master-name setting and the sentinels' SENTINEL_MASTER come from.
MASTER_NAME = "${LYNC_FAILOVER_SENTINEL_MASTER:-mymaster}"


@pytest.mark.parametrize("name", [*sorted(WORKERS), "beat", "flower"])
def test_the_runner_reaches_redis_through_every_sentinel_with_its_password(name: str) -> None:
    environment = SERVICES[name]["environment"]
    default = re.fullmatch(r"\$\{REDIS_URL:-(.*)\}", environment["REDIS_URL"])

    assert default, environment["REDIS_URL"]
    named = parse_sentinel_url(default[1].replace("${REDIS_PASSWORD}", "pw"))
    assert named.sentinels == tuple((sentinel, 26379) for sentinel in SENTINELS)
    assert named.password == "pw"
    assert environment["LYNC_FAILOVER_SENTINEL_MASTER"] == MASTER_NAME
    assert set(SENTINELS) <= set(SERVICES[name]["depends_on"]), name


def test_three_sentinels_watch_the_same_master_with_a_quorum_of_two() -> None:
    redis_services = sorted(name for name in SERVICES if name.startswith(("redis", "sentinel")))

    assert redis_services == DATA_NODES + SENTINELS
    for name in SENTINELS:
        sentinel = SERVICES[name]
        script = " ".join(command(sentinel))
        assert sentinel["environment"]["NODE"] == name
        assert sentinel["environment"]["SENTINEL_MASTER"] == MASTER_NAME
        assert '"sentinel monitor $$SENTINEL_MASTER redis-1 6379 2"' in script
        assert "exec redis-server /data/sentinel.conf --sentinel" in script
        # Written once: the sentinel's own rewrites (the current master) survive a restart.
        assert "test -s /data/sentinel.conf ||" in script
        assert f"{name}-data:/data" in sentinel["volumes"]


def test_a_data_node_restarts_as_a_replica_of_the_master_the_sentinels_name() -> None:
    for name in DATA_NODES:
        node = SERVICES[name]
        script = " ".join(command(node))
        assert (node["environment"]["NODE"], node["environment"]["FIRST_MASTER"]) == (name, "redis-1")
        assert node["environment"]["SENTINEL_MASTER"] == MASTER_NAME
        assert "sentinel get-master-addr-by-name" in script
        assert 'replica="--replicaof $$master 6379"' in script
        assert '--replica-announce-ip "$$NODE"' in script


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_workers_read_the_inventory_from_a_mounted_directory(name: str) -> None:
    inventory_dir = Path(SETTINGS_ENV["LYNC_FAILOVER_INVENTORY"]).parent

    assert f"${{LYNC_FAILOVER_INVENTORY_DIR:-shared}}:{inventory_dir}:ro" in SERVICES[name]["volumes"]


@pytest.mark.parametrize("name", DATA_NODES + SENTINELS)
def test_every_redis_process_requires_the_password(name: str) -> None:
    service = SERVICES[name]
    script = " ".join(command(service))

    assert 'test -n "$$REDIS_PASSWORD"' in script
    assert service["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD:-}"
    if name in SENTINELS:  # clients, peers, and the data nodes it watches
        for line in ("requirepass", "sentinel sentinel-pass", "sentinel auth-pass $$SENTINEL_MASTER"):
            assert f"{line} $$REDIS_PASSWORD" in script, line
    else:  # clients, and its master when it is a replica; an append-only file
        assert '--requirepass "$$REDIS_PASSWORD" --masterauth "$$REDIS_PASSWORD"' in script
        assert "--appendonly yes" in script
        assert f"{name}-data:/data" in service["volumes"]


def test_flower_takes_auth_from_the_environment_and_loads_the_config_the_image_ships() -> None:
    flower = SERVICES["flower"]
    argv = command(flower)
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")

    assert argv[:4] == ["celery", "-A", "worker", "flower"]
    assert "--port=5555" in argv
    assert "--conf=/etc/lync-failover/flowerconfig.py" in argv
    assert "COPY worker/flowerconfig.py /etc/lync-failover/flowerconfig.py" in dockerfile
    assert not any(arg.startswith("--basic-auth") for arg in argv)
    assert "FLOWER_BASIC_AUTH" in flower["environment"]
    flower_variables = [name for name in flower["environment"] if name.startswith("FLOWER_")]
    assert [name for name in flower_variables if not is_flower_envvar(name)] == []
    assert any(port.endswith(":5555") for port in flower["ports"])


def test_the_lab_runs_only_in_the_rehearsal_profile_and_writes_the_inventory_the_workers_read() -> None:
    lab = SERVICES["lab"]
    script = " ".join(command(lab))

    assert lab["profiles"] == ["rehearsal"]
    assert [name for name, service in SERVICES.items() if "profiles" in service] == ["lab"]
    assert "python -m lab serve --inventory /shared/inventory.json" in script
    assert "shared:/shared" in lab["volumes"]


def test_the_rehearsal_overlay_puts_every_worker_in_the_labs_network() -> None:
    overlay = load("rehearsal.yaml")["services"]

    assert set(overlay) == set(WORKERS)
    for name, service in overlay.items():
        assert service["network_mode"] == "service:lab", name
        assert service["depends_on"]["lab"]["condition"] == "service_healthy", name
        for sentinel in SENTINELS:
            assert service["depends_on"][sentinel]["condition"] == "service_healthy", name


def final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[-1]


def test_the_image_installs_the_project_and_runs_as_a_non_root_user() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    runtime = final_stage(dockerfile)
    users = re.findall(r"^USER\s+(\S+)", runtime, flags=re.MULTILINE)

    assert re.search(r"^FROM python:3\.11-slim", dockerfile, flags=re.MULTILINE)
    assert runtime.startswith("python:3.11-slim")
    assert re.search(r"pip wheel --wheel-dir /wheels \.", dockerfile)
    assert re.search(r"pip install --no-index --find-links /wheels lync-failover", runtime)
    assert users and users[-1] not in ("root", "0")
    for package in ("worker", "tasks", "plugins", "lab"):
        assert f"COPY {package} ./{package}" in dockerfile
        assert f"!{package}/" in (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8")


def test_the_image_bakes_in_no_secret() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    settings = re.findall(r"^(?:ENV|ARG)\s+(.+)$", dockerfile, flags=re.MULTILINE)

    assert [s for s in settings if re.search(r"password|secret|token|auth", s, re.IGNORECASE)] == []


def interpolated_variables(text: str) -> set[str]:
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def test_env_example_documents_every_variable_and_holds_no_secret() -> None:
    example = (DOCKER / ".env.example").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE))
    used = set()
    for name in ("compose.yaml", "rehearsal.yaml"):
        used |= interpolated_variables((DOCKER / name).read_text(encoding="utf-8"))

    assert used - set(documented) == set()
    for secret in ("REDIS_PASSWORD", "FLOWER_BASIC_AUTH", "LAB_PASSWORD"):
        assert documented[secret] == "", f"{secret} must be empty in .env.example"
