"""Redis restarts (a crash or a stop) while a step runs: the busy worker stays up, the step's late ack is not
lost, and the run completes, doing nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tasks.record import get_run
from tests.fixtures_lab import RunningLab
from worker.rehearsal.redis_server import EmbeddedRedis
from worker.rehearsal.stack import start_workers

FAILED_POOL = "pool1.contoso.com"
DEADLINE_S = 90.0


@pytest.fixture
def restartable_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own, with an append-only file, that the test may restart."""
    server = EmbeddedRedis(appendonly=True)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "stop"])
def test_a_redis_restart_during_a_step_keeps_the_worker_and_the_run_completes_once(
    how: signal.Signals,
    restartable_redis: EmbeddedRedis,
    lab_factory: Callable[..., RunningLab],
    tmp_path: Path,
) -> None:
    url = restartable_redis.url
    lab = lab_factory("cms-2013-primary")
    lab.engine.set_faults({"replication_lag_seconds": 0, "latency": {"Invoke-CsPoolFailover": 3.0}})
    workers = start_workers(url, lab.inventory_path, lab.queues, tmp_path / "workers", lab.password_env)
    try:
        run_id = _celery_call(url, lab, pool=FAILED_POOL)
        _until(lambda: _failover_started(lab), "Invoke-CsPoolFailover to start")

        restartable_redis.restart(how)

        client = redis.Redis.from_url(url, decode_responses=True)
        _until(
            lambda: (run := get_run(run_id, client)) is not None and run.state != "running", "the run to end"
        )
        run = get_run(run_id, client)
        assert run is not None and run.state == "succeeded", (run, workers.logs()[-4000:])
        assert lab.engine.verify()["ok"]
        alive = {queue: child.process.poll() is None for queue, child in workers.children.items()}
        assert all(alive.values()), (alive, workers.logs()[-4000:])
        failovers = [e for e in lab.engine.journal() if e["cmdlet"] == "Invoke-CsPoolFailover"]
        assert [e["outcome"] for e in failovers] == ["ok"], failovers
    finally:
        workers.stop()


def _celery_call(url: str, lab: RunningLab, **kwargs: str) -> str:
    """``celery -A worker call lync.failover`` against this test's Redis; the run id."""
    called = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "call",
            "lync.failover",
            "--kwargs",
            json.dumps(kwargs),
        ],
        env={**os.environ, "REDIS_URL": url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return called.stdout.strip()


def _failover_started(lab: RunningLab) -> bool:
    return any(e["cmdlet"] == "Invoke-CsPoolFailover" for e in lab.engine.journal())


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            if condition():
                return
        except redis.ConnectionError:
            pass  # Redis is restarting
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
