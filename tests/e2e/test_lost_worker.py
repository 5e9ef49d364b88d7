"""A worker lost while its step's act runs on the server. The process running the step: the step comes back
at once, waits on its lease, then for the effect of the act still running, and never sends it twice. The
whole host: the step comes back on a fresh worker of the site after the visibility timeout and finds the act
done. Every worker: the run is taken for dead, the next trigger takes its pool over, and its act in flight is
not sent again."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from celery import Celery

from tasks.lease import is_alive
from tasks.liveness import run_health
from tasks.run import Report, StepEntry
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL
from tests.fixtures_celery import StartWorkers
from worker.presence import live_workers

STEP = "pool.fail_over"
ACT = "Invoke-CsPoolFailover"
#: A step whose act leaves nothing a check can read, and may be sent again (StepSpec.repeatable).
PUBLISH_STEP = "edge.publish_topology"
PUBLISH = "Enable-CsTopology"
#: Long enough that the act still runs on the server when a killed process's step comes back (after the
#: 15 s lease).
ACT_S = 30.0
#: A lost worker's step comes back after the visibility timeout and a sweep (under a minute), then waits for
#: the act; the run's remaining steps follow.
RUN_DEADLINE_S = 150.0


def sent_to_the_lab(runner: Runner, act: str = ACT) -> bool:
    """Whether the lab received the act (it runs there now)."""
    return any(entry["cmdlet"] == act for entry in runner.lab.engine.journal())


def acts_received(runner: Runner, act: str = ACT) -> list[dict[str, object]]:
    """Every act the lab received, with its outcome."""
    return [entry for entry in runner.lab.engine.journal() if entry["cmdlet"] == act]


def step_queue(runner: Runner, run_id: str, step: str = STEP) -> str:
    """The queue of the site whose worker runs the step."""
    (entry,) = [entry for entry in runner.steps(run_id) if entry.step == step]
    return entry.queue


def test_a_lost_worker_host_costs_a_redelivery_not_a_second_failover(
    start_runner: Callable[..., Runner], celery_workers: StartWorkers
) -> None:
    runner = start_runner("cms-2013-primary", faults={"latency": {ACT: ACT_S}})
    run_id = runner.call(pool=FAILED_POOL)
    runner.until(lambda: sent_to_the_lab(runner), f"{ACT} to reach the lab", deadline_s=90)
    queue = step_queue(runner, run_id)
    lost = runner.workers.children[queue].process
    os.killpg(lost.pid, signal.SIGKILL)  # the host is gone: the worker and its pool processes
    lost.wait()
    # What lync-failover watch shows meanwhile: the step's worker is gone, and nothing consumes its queue.
    runner.until(
        lambda: len(run_health(runner.run(run_id), runner.redis)) == 2,
        "the run to say its worker is gone",
        deadline_s=60,
    )
    gone, unserved = run_health(runner.run(run_id), runner.redis)
    assert gone.startswith(f"{STEP}") and "is gone" in gone, gone
    assert f"no worker consumes {queue}" in unserved, unserved

    celery_workers(runner.lab.inventory_path, [queue], runner.lab.password_env)  # a fresh worker, same site
    report = runner.wait(run_id, deadline_s=RUN_DEADLINE_S)

    assert not isinstance(report, Exception) and report.state == "succeeded", report
    assert runner.lab.engine.verify()["ok"], runner.lab.engine.verify()
    assert [entry["outcome"] for entry in acts_received(runner)] == ["ok"], acts_received(runner)
    assert_found_done(report.steps)


def test_a_killed_step_process_is_redelivered_at_once_and_waits_for_its_own_act(
    start_runner: Callable[..., Runner],
) -> None:
    # Prefork workers (-P prefork): each step runs in a pool process the worker outlives. A threads worker
    # (the default) is one process: losing it is the lost host above.
    runner = start_runner("cms-2013-primary", faults={"latency": {ACT: ACT_S}}, worker_pool="prefork")
    run_id = runner.call(pool=FAILED_POOL)
    runner.until(lambda: sent_to_the_lab(runner), f"{ACT} to reach the lab", deadline_s=90)
    queue = step_queue(runner, run_id)

    os.kill(step_process(runner, queue), signal.SIGKILL)  # the worker lives on and gets the step back
    report = runner.wait(run_id, deadline_s=RUN_DEADLINE_S)

    assert not isinstance(report, Exception) and report.state == "succeeded", report
    assert runner.lab.engine.verify()["ok"], runner.lab.engine.verify()
    assert [entry["outcome"] for entry in acts_received(runner)] == ["ok"], acts_received(runner)
    assert_found_done(report.steps)
    waited = [e for e in runner.events() if e["kind"] == "step.retry" and e["step"] == STEP]
    assert any("never ended" in e["message"] for e in waited), waited
    alive = {name: child.process.poll() is None for name, child in runner.workers.children.items()}
    assert all(alive.values()), alive


def assert_found_done(steps: list[StepEntry]) -> None:
    """The step's second execution found the first one's effect and did not act."""
    (entry,) = [step for step in steps if step.step == STEP]
    assert entry.attempts >= 2 and entry.state == "skipped", entry
    assert "already failed over" in entry.summary, entry


def test_a_killed_publish_is_sent_again_after_the_lease_not_after_the_step_timeout(
    start_runner: Callable[..., Runner],
) -> None:
    """A publish leaves nothing to check: waiting for its effect would wait out the 30-minute step timeout."""
    runner, _ = killed_mid_act(start_runner, "edge-same-site", PUBLISH_STEP, PUBLISH)

    # The killed publish ran to its end on the server; the step sent it again rather than wait.
    assert [entry["outcome"] for entry in acts_received(runner, PUBLISH)] == ["ok", "ok"]
    assert [entry["outcome"] for entry in acts_received(runner, "Set-CsEdgeServer")] == ["ok"]


INSTALL_STEP = "cms2010.install_database"
INSTALL = "Install-CsDatabase"


def test_a_killed_install_is_seen_completed_by_test_csdatabase_not_waited_out_nor_sent_again(
    start_runner: Callable[..., Runner],
) -> None:
    """Install-CsDatabase leaves nothing the CMS service shows: its step reads the new database instead."""
    runner, report = killed_mid_act(start_runner, "cms-2010", INSTALL_STEP, INSTALL)

    assert [entry["outcome"] for entry in acts_received(runner, INSTALL)] == ["ok"], acts_received(runner)
    (entry,) = [step for step in report.steps if step.step == INSTALL_STEP]
    assert entry.attempts >= 2 and entry.state == "succeeded", entry
    assert "an earlier attempt's install completed" in entry.summary, entry
    waited = [
        e["message"] for e in runner.events() if e["kind"] == "step.retry" and e["step"] == INSTALL_STEP
    ]
    assert any(
        "Test-CsDatabase on sql03.contoso.com\\rtc: xds, lis not installed yet" in m for m in waited
    ), waited


def test_a_killed_failover_of_a_pool_an_earlier_run_left_failing_over_is_waited_for_and_found_done(
    start_runner: Callable[..., Runner],
) -> None:
    """PoolState was FailingOver before the run: the failover is sent only once it is reset, so FailingOver
    after the kill is this failover running, not the old interruption (the suite's lost worker waited on
    the old one until the step timeout)."""
    runner, report = killed_mid_act(start_runner, "pool-failing-over", STEP, ACT)

    assert [entry["outcome"] for entry in acts_received(runner)] == ["ok"], acts_received(runner)
    assert_found_done(report.steps)


def killed_mid_act(
    start_runner: Callable[..., Runner], scenario: str, step: str, act: str
) -> tuple[Runner, Report]:
    """Run ``scenario`` with ``act`` slowed down, SIGKILL the (prefork) process running ``step`` once the lab
    has it, and wait for the run: it must succeed, the lab in its declared end state."""
    runner = start_runner(scenario, faults={"latency": {act: ACT_S}}, worker_pool="prefork")
    run_id = runner.call(pool=FAILED_POOL)
    runner.until(lambda: sent_to_the_lab(runner, act), f"{act} to reach the lab", deadline_s=90)
    queue = step_queue(runner, run_id, step)

    os.kill(step_process(runner, queue, step), signal.SIGKILL)
    report = runner.wait(run_id, deadline_s=RUN_DEADLINE_S)

    assert isinstance(report, Report) and report.state == "succeeded", report
    assert runner.lab.engine.verify()["ok"], runner.lab.engine.verify()
    return runner, report


def step_process(runner: Runner, queue: str, step: str = STEP) -> int:
    """The pid of the worker process running the step (as ``celery inspect active`` reports it)."""
    client = Celery(broker=runner.workers.redis_url)
    try:
        hostname = runner.workers.hostnames[queue]
        active = client.control.inspect(destination=[hostname], timeout=2).active() or {}
    finally:
        client.close()
    (task,) = [task for task in active.get(hostname, []) if task["name"] == f"lync.{step}"]
    return int(task["worker_pid"])


def test_a_worker_announces_its_queues_while_it_runs_and_withdraws_when_stopped(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("cms-2013-primary")
    queue = runner.lab.queues[0]
    hostname = runner.workers.hostnames[queue]
    runner.until(lambda: hostname in live_workers(runner.redis, queue), f"{hostname} to announce {queue}")

    runner.workers.children[queue].stop()

    assert hostname not in live_workers(runner.redis, queue)


#: Short liveness settings, so that a run is taken for dead within a test's patience (they keep the rules
#: worker/settings.py checks).
QUICK_LIVENESS = {
    "LYNC_FAILOVER_VISIBILITY_TIMEOUT": "31",
    "LYNC_FAILOVER_LEASE": "4",
    "LYNC_FAILOVER_RUN_ALIVE": "36",
}


def test_a_run_whose_workers_all_died_is_taken_over_without_sending_its_act_again(
    start_runner: Callable[..., Runner], celery_workers: StartWorkers
) -> None:
    runner = start_runner("cms-2013-primary", faults={"latency": {ACT: ACT_S}}, env=QUICK_LIVENESS)
    dead = runner.call(pool=FAILED_POOL)
    runner.until(lambda: sent_to_the_lab(runner), f"{ACT} to reach the lab", deadline_s=90)
    for child in runner.workers.children.values():
        os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()
    runner.until(lambda: not is_alive(dead, runner.redis), "the run to fall silent", deadline_s=60)

    env = {**runner.lab.password_env, **QUICK_LIVENESS}
    control, *sites = reversed(runner.lab.queues)
    celery_workers(runner.lab.inventory_path, [control], env)  # the launcher's worker first: it takes over
    taken = runner.call(pool=FAILED_POOL)
    runner.until(lambda: runner.run(dead).state == "failed", "the silent run to be taken for dead")
    celery_workers(runner.lab.inventory_path, sites, env)  # its step comes back too, and stops: lock lost
    report = runner.wait(taken, deadline_s=RUN_DEADLINE_S)

    assert not isinstance(report, Exception) and report.state == "succeeded", report
    old = runner.run(dead)
    assert old.state == "failed" and f"run {dead} was taken for dead" in old.error, old.error
    assert runner.lab.engine.verify()["ok"], runner.lab.engine.verify()
    assert [entry["outcome"] for entry in acts_received(runner)] == ["ok"], acts_received(runner)
    (entry,) = [step for step in report.steps if step.step == STEP]
    assert entry.state == "skipped" and "already failed over" in entry.summary, entry
