"""Redis as a Sentinel set (a primary, a replica, three sentinels): a run goes on through the loss of the
primary, Flower follows the promoted replica, and the operator's commands read runs through the sentinels."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.console.cli_helpers import lync_failover, write_failed_run
from tests.e2e.harness import FLOWER_AUTH, Flower, Runner
from tests.e2e.paths import FAILED_POOL
from tests.fixtures_lab import RunningLab
from tests.fixtures_redis import SENTINEL_MASTER, SENTINEL_PASSWORD
from worker.redis_connection import connect
from worker.rehearsal.redis_server import EmbeddedSentinelSet
from worker.rehearsal.stack import start_flower, start_workers

SETTING = {"LYNC_FAILOVER_SENTINEL_MASTER": SENTINEL_MASTER}
ACT = "Invoke-CsPoolFailover"
#: Long enough that the primary dies, and the replica is promoted, while the act runs on the server.
ACT_S = 5.0
RUN_DEADLINE_S = 120.0


@pytest.fixture
def sentinel_set() -> Iterator[EmbeddedSentinelSet]:
    """A Sentinel set of the test's own, that the test takes the primary of."""
    sentinels = EmbeddedSentinelSet(SENTINEL_MASTER, password=SENTINEL_PASSWORD)
    sentinels.start()
    yield sentinels
    sentinels.stop()


def test_a_primary_lost_mid_run_is_replaced_and_the_run_completes_once(
    sentinel_set: EmbeddedSentinelSet, lab_factory: Callable[..., RunningLab], tmp_path: Path
) -> None:
    url = sentinel_set.url
    lab = lab_factory("cms-2013-primary")
    lab.engine.set_faults({"replication_lag_seconds": 0, "latency": {ACT: ACT_S}})
    workers = start_workers(url, lab.inventory_path, lab.queues, tmp_path, {**lab.password_env, **SETTING})
    child, flower_url = start_flower(url, tmp_path, FLOWER_AUTH, SETTING)
    flower = Flower(child, flower_url)
    cli_env = {**os.environ, "REDIS_URL": url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path), **SETTING}
    runner = Runner(lab, workers, cli_env, tmp_path / "events.jsonl", connect(url, SENTINEL_MASTER))
    try:
        started = time.monotonic()
        run_id = runner.call(pool=FAILED_POOL)
        runner.until(lambda: ACT in lab.cmdlets(), f"{ACT} to reach the lab", deadline_s=90)
        old = sentinel_set.master()

        old.end(signal.SIGKILL)
        killed = time.monotonic()
        new = sentinel_set.wait_for_new_master(old)
        promoted = time.monotonic()

        runner.until(lambda: runner.run(run_id).state != "running", "the run to end", RUN_DEADLINE_S)
        ended = time.monotonic()
        run = runner.run(run_id)
        assert run.state == "succeeded", (run.error, workers.logs()[-6000:])
        assert lab.engine.verify()["ok"], lab.engine.verify()
        # Nothing done twice, nothing lost from the journal: every command the lab received is there, once.
        assert [entry["outcome"] for entry in lab.engine.journal() if entry["cmdlet"] == ACT] == ["ok"]
        assert [entry.command for entry in runner.journal(run_id)] == [
            line.split()[1] for line in runner.commands()
        ]
        alive = {queue: child.process.poll() is None for queue, child in workers.children.items()}
        assert all(alive.values()), (alive, workers.logs()[-6000:])
        # Flower follows the new master too: it saw the run end, and reads queue lengths from it.
        tasks = flower.wait_for("/api/tasks", lambda answer: answer.get(run_id, {}).get("state") == "SUCCESS")
        assert "active_queues" in flower.get("/api/queues/length")
        assert SENTINEL_PASSWORD not in str(tasks) + str(flower.get("/api/workers")) + child.tail(500)
        assert SENTINEL_PASSWORD not in workers.logs()
        print(
            f"\nprimary {old.port} -> {new.port}: promoted {promoted - killed:.1f} s after the kill; "
            f"run took {ended - started:.1f} s (the act alone {ACT_S:.0f} s)"
        )
    finally:
        child.stop()
        workers.stop()


def test_the_cli_lists_and_watches_a_run_through_the_sentinels(sentinel_url: str) -> None:
    write_failed_run(connect(sentinel_url, SENTINEL_MASTER), "run-through-sentinels")
    env = {"REDIS_URL": sentinel_url, **SETTING}

    listed = lync_failover("runs", env=env)
    watched = lync_failover("watch", "run-through-sentinels", "--timeout", "5", env=env)

    assert listed.returncode == 0 and "run-through-sentinels" in listed.stdout, listed.stderr
    assert watched.returncode == 1 and "failed" in watched.stdout, watched.stdout + watched.stderr
    assert SENTINEL_PASSWORD not in listed.stdout + listed.stderr + watched.stdout + watched.stderr


def test_a_wrong_master_name_or_sentinel_url_is_one_line_naming_the_fix(sentinel_url: str) -> None:
    unknown = lync_failover(
        "runs", env={"REDIS_URL": sentinel_url, "LYNC_FAILOVER_SENTINEL_MASTER": "mymaster"}
    )
    mixed = lync_failover("runs", env={"REDIS_URL": f"{sentinel_url};redis://127.0.0.1:6379/0", **SETTING})

    assert unknown.returncode == 2, unknown.stderr
    assert "no master named 'mymaster' (they monitor: lync-test)" in unknown.stderr
    assert "set LYNC_FAILOVER_SENTINEL_MASTER" in unknown.stderr
    assert mixed.returncode == 2, mixed.stderr
    assert "mixes redis:// with sentinel:// parts" in mixed.stderr
    for result in (unknown, mixed):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr and SENTINEL_PASSWORD not in result.stderr
