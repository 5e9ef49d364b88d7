"""An operator's hand on a run: cancel it (the command under way completes, nothing after it starts, the
lock is released, the record says who), and pause it before a phase until approved or rejected, the pause
outliving a worker restart."""

from __future__ import annotations

from collections.abc import Callable

from tasks.liveness import run_health
from tasks.lock import lock_key
from tasks.run import Report
from tests.console.cli_helpers import lync_failover
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL
from tests.fixtures_celery import StartWorkers
from worker.celery_app import app

SCENARIO = "cms-2013-primary"
POOL_FAILOVER = "Invoke-CsPoolFailover"
CMS_FAILOVER = "Invoke-CsManagementServerFailover"


def test_a_cancel_lets_the_command_under_way_complete_and_starts_nothing_after_it(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO, faults={"latency": {POOL_FAILOVER: 10.0}})  # the cancel lands meanwhile
    run_id = runner.call(pool=FAILED_POOL)
    runner.until(lambda: POOL_FAILOVER in runner.lab.cmdlets(), f"{POOL_FAILOVER} to reach the lab", 90)

    asked = lync_failover("cancel", run_id, "--by", "alice", env=runner.env)
    stopped = runner.wait(run_id, deadline_s=60)

    assert asked.returncode == 0 and "cancel asked" in asked.stdout, asked.stdout + asked.stderr
    assert type(stopped).__name__ == "RunCancelled" and "cancelled by alice" in str(stopped), stopped
    journal = runner.lab.engine.journal()
    assert journal[-1]["cmdlet"] == POOL_FAILOVER and journal[-1]["outcome"] == "ok", journal[-1]
    run = runner.run(run_id)
    assert (run.state, run.cancelled_by) == ("cancelled", "alice")
    states = {step.step: step.state for step in run.steps}
    assert (states["pool.fail_over"], states["pool.verify_users_serviced"]) == ("succeeded", "cancelled")
    assert runner.redis.get(lock_key(FAILED_POOL)) is None
    shown = runner.celery_result(run_id)
    assert shown.returncode == 1 and "cancelled by alice" in shown.stderr and "Traceback" not in shown.stderr
    late = lync_failover("approve", run_id, env=runner.env)
    assert late.returncode == 2 and "already ended (cancelled)" in " ".join(late.stderr.split()), late.stderr


def test_a_pause_before_the_pool_failover_outlives_a_worker_restart_until_approved(
    start_runner: Callable[..., Runner], celery_workers: StartWorkers
) -> None:
    runner = start_runner(SCENARIO)
    run_id = runner.call(pool=FAILED_POOL, pause_before=["pool"])
    runner.until(lambda: runner.waits_before(run_id, "pool"), "the run to pause before pool", 90)
    assert CMS_FAILOVER in runner.lab.cmdlets() and POOL_FAILOVER not in runner.lab.cmdlets()
    assert any(
        "waiting for approval before phase pool" in note
        for note in run_health(runner.run(run_id), runner.redis)
    )

    control = runner.lab.queues[-1]
    runner.workers.children[control].stop()  # the pause is a retry in Redis: a restart keeps it
    celery_workers(runner.lab.inventory_path, [control], runner.lab.password_env)
    approved = lync_failover("approve", run_id, "--by", "bob", env=runner.env)
    report = runner.wait(run_id, deadline_s=90)

    assert approved.returncode == 0 and "phase pool approved" in approved.stdout, approved.stderr
    assert isinstance(report, Report) and report.state == "succeeded", report
    assert runner.lab.engine.verify()["ok"]
    (gate,) = report.gates
    assert (gate.phase, gate.state, gate.by) == ("pool", "approved", "bob")


def test_a_run_rejected_at_its_pause_changes_nothing_more(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO)
    run_id = runner.call(pool=FAILED_POOL, pause_before=["cms"])
    runner.until(lambda: runner.waits_before(run_id, "cms"), "the run to pause before cms", 90)

    rejected = runner.call_task("lync.reject", run_id, reason="a drill only")  # the Celery way
    stopped = runner.wait(run_id, deadline_s=60)

    assert "rejected by celery call before phase cms" in app.AsyncResult(rejected).get(timeout=30)
    assert type(stopped).__name__ == "RunCancelled" and "rejected by celery call" in str(stopped), stopped
    assert "a drill only" in str(stopped)
    failovers = [
        entry
        for entry in runner.lab.engine.journal()
        if entry["cmdlet"] in (CMS_FAILOVER, POOL_FAILOVER) and not entry["parameters"].get("WhatIf")  # type: ignore[attr-defined]
    ]
    assert failovers == [], "a rejected run failed something over"
    run = runner.run(run_id)
    assert (run.state, run.cancelled_by, run.gates[0].state) == ("cancelled", "celery call", "rejected")
    assert runner.redis.get(lock_key(FAILED_POOL)) is None
