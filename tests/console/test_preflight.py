"""Bad setup and bad input: a message naming the problem and the fix, exit code 2, no traceback."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import redis

from tests.console.cli_helpers import lync_failover
from tests.worker.inventory_data import inventory_data, write_inventory


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def assert_clear_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 2, no traceback, and each fragment in the message (line breaks ignored)."""
    stderr = result.stderr
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    flat = " ".join(stderr.split())
    for fragment in fragments:
        assert fragment in flat, flat


def test_unreachable_redis_names_the_url_without_its_password(tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    inventory = write_inventory(tmp_path, inventory_data())

    for command in (["runs"], ["report", "x"], ["plan", "pool1.contoso.com"]):
        result = lync_failover(*command, env={"REDIS_URL": url, "LYNC_FAILOVER_INVENTORY": str(inventory)})

        assert_clear_error(result, f"cannot reach Redis at {url.replace('hunter2', '***')}", "set REDIS_URL")
        assert "hunter2" not in result.stderr + result.stdout


def test_a_missing_inventory_says_to_set_the_variable(tmp_path: Path, redis_url: str) -> None:
    unset = lync_failover("plan", "pool1.contoso.com", env={"REDIS_URL": redis_url})
    missing = lync_failover(
        "plan",
        "pool1.contoso.com",
        env={"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(tmp_path / "nowhere.json")},
    )

    assert_clear_error(unset, "LYNC_FAILOVER_INVENTORY is not set", "Set LYNC_FAILOVER_INVENTORY")
    assert_clear_error(missing, "nowhere.json: cannot read the inventory", "Set LYNC_FAILOVER_INVENTORY")


def test_an_invalid_inventory_shows_what_is_wrong(tmp_path: Path, redis_url: str) -> None:
    data = inventory_data()
    data["pools"][1]["site"] = "Atlantis"
    inventory = write_inventory(tmp_path, data)

    result = lync_failover(
        "run",
        "pool1.contoso.com",
        "--yes",
        env={"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(inventory)},
    )

    assert_clear_error(result, 'site "Atlantis" is not in sites', "Set LYNC_FAILOVER_INVENTORY")


def test_an_unknown_pool_lists_the_front_end_pools(tmp_path: Path, redis_url: str) -> None:
    inventory = write_inventory(tmp_path, inventory_data())

    result = lync_failover(
        "plan", "pool9.contoso.com", env={"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(inventory)}
    )

    assert_clear_error(
        result,
        "pool9.contoso.com is not in the inventory",
        "Front End pools are: pool1.contoso.com, pool2.contoso.com",
    )


def test_no_worker_on_a_needed_queue_gives_the_command_to_start_one(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    inventory = write_inventory(tmp_path, inventory_data())

    result = lync_failover(
        "plan", "pool1.contoso.com", env={"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(inventory)}
    )

    assert_clear_error(
        result,
        "no worker is listening on lync.control, lync.site.datacenter2",
        "celery -A worker worker -Q lync.control --hostname lync.control@%h -E",
        "celery -A worker worker -Q lync.site.datacenter2 --hostname lync.site.datacenter2@%h -E",
    )
    assert redis_client.llen("lync.control") == 0, "nothing may be sent when no worker listens"


def test_run_without_a_terminal_or_yes_refuses_before_doing_anything(redis_url: str) -> None:
    result = lync_failover("run", "pool1.contoso.com", env={"REDIS_URL": redis_url})

    assert_clear_error(result, "no terminal to confirm on", "pass --yes")
