"""``lync-failover plan`` against the lab: the operator sees discovery's commands as they run, and a run
refused because another run holds the pool points at that run."""

from __future__ import annotations

from collections.abc import Callable

import redis

from tasks.lease import alive_key
from tasks.lock import lock_key
from tests.console.cli_helpers import lync_failover
from tests.fixtures_celery import StartWorkers
from tests.fixtures_lab import RunningLab

POOL = "pool1.contoso.com"
DOWN = "fe01.pool2.contoso.com"


def test_plan_shows_each_discovery_command_and_the_error_of_one_that_failed(
    lab_factory: Callable[..., RunningLab], celery_workers: StartWorkers, redis_url: str
) -> None:
    lab = lab_factory("cms-2013-primary")
    lab.engine.set_faults({"down": [DOWN]})
    workers = celery_workers(lab.inventory_path, lab.queues, lab.password_env)
    env = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path), **lab.password_env}

    planned = lync_failover("plan", POOL, env=env, timeout=120)

    assert planned.returncode == 0, planned.stderr + workers.logs()[-4000:]
    progress = planned.stdout.split("Facts the plan rests on")[0]
    failed = [line for line in progress.splitlines() if f"{DOWN}: " in line and " ok" not in line]
    assert failed, progress
    assert all(len(line.split(": ")) >= 3 for line in failed), "each failed command shows its error"
    assert any(
        "Get-CsService -CentralManagement" in line and line.endswith(" ok") for line in progress.splitlines()
    )


def test_a_refused_run_points_at_the_run_that_holds_the_pool(
    lab_factory: Callable[..., RunningLab],
    celery_workers: StartWorkers,
    redis_url: str,
    redis_client: redis.Redis,
) -> None:
    lab = lab_factory("cms-2013-primary")
    celery_workers(lab.inventory_path, lab.queues, lab.password_env)
    env = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path), **lab.password_env}
    redis_client.set(lock_key(POOL), "holder-run-0001")
    redis_client.set(alive_key("holder-run-0001"), "1")  # a live run holds the pool
    try:
        refused = lync_failover("run", POOL, "--yes", env=env, timeout=120)
    finally:
        redis_client.delete(lock_key(POOL), alive_key("holder-run-0001"))  # later tests share this Redis

    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "lync-failover watch holder-run-0001" in " ".join(refused.stderr.split())
    assert "lync-failover report" not in refused.stdout + refused.stderr
