"""The Edge next-hop remedy end to end: topology drift between discovery and the pool failover.

On ``edge-other-site`` the run moves edge1's next hop to pool2 before the pool step. While the pool step's
check (``Get-CsRegistrarConfiguration``, slowed down) is in flight, a stale topology publish points edge1 back
at the dead pool1, so ``Invoke-CsPoolFailover`` refuses with the seed's Edge error. The runner re-reads the
world (the pool's state, the store, the replicas, the Edge next hops), the edge plugin's remedy moves the
next hop again and the pool step runs once more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from plugins.builtin.edge import NEXT_HOP_ERROR
from tasks.run import Report
from tests.e2e.harness import Runner
from tests.e2e.paths import BACKUP_POOL, FAILED_POOL

SCENARIO = "edge-other-site"
EDGE = "edge1.contoso.com"
CHECK = "Get-CsRegistrarConfiguration"
FAILOVER = "Invoke-CsPoolFailover"
WAIT_S = 30.0


def wait_for_check_received(runner: Runner) -> int:
    """Poll the lab's journal until the pool step's check arrives; its sequence number."""
    deadline = time.monotonic() + WAIT_S
    while True:
        received = [e for e in runner.lab.engine.journal() if e["cmdlet"] == CHECK]
        if received:
            return cast(int, received[0]["seq"])
        assert time.monotonic() < deadline, (
            f"the lab never received {CHECK}:\n{runner.workers.logs()[-3000:]}"
        )
        time.sleep(0.05)


def one_line(text: object) -> str:
    """The text with its line wrapping undone (the seed's Edge error spans five lines)."""
    return " ".join(str(text).split())


def lab_commands(runner: Runner, since: int) -> list[tuple[str, str | None, dict[str, object]]]:
    """(cmdlet, outcome, parameters) of what the lab received after ``since``, without session set-up."""
    return [
        (str(e["cmdlet"]), cast(str | None, e["outcome"]), cast(dict[str, object], e["parameters"]))
        for e in runner.lab.engine.journal(since)
        if e["cmdlet"] != "Import-Module"
    ]


def test_topology_drift_before_the_pool_failover_is_remedied_and_the_run_succeeds(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO, faults={"latency": {CHECK: 2}, "latency_scale": 1})

    run_id = runner.api(pool=FAILED_POOL)
    check_seq = wait_for_check_received(runner)
    runner.lab.engine.set_faults({"next_hops": {EDGE: FAILED_POOL}})
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", (
        f"{report}\n{runner.workers.logs()[-4000:]}"
    )
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
    # The lab: the read just before the failover (not FailingOver); refused for the Edge; the step's check
    # again (not failed over), then what it depends on; the remedy moves the next hop to the surviving pool,
    # then the check, the read and the failover succeed.
    edge = {"EdgeServer": True, "PoolFqdn": EDGE}
    failover = {"PoolFqdn": FAILED_POOL, "DisasterMode": True, "Verbose": True}
    state = (CHECK, "ok", {"Identity": f"Service:Registrar:{FAILED_POOL}"})
    assert lab_commands(runner, check_seq)[:13] == [
        state,
        (FAILOVER, "error", failover),
        state,
        state,
        ("Get-CsManagementStoreReplicationStatus", "ok", {"CentralManagementStoreStatus": True}),
        ("Get-CsManagementStoreReplicationStatus", "ok", {}),
        ("Get-CsService", "ok", {"EdgeServer": True}),
        ("Get-CsService", "ok", edge),
        (
            "Set-CsEdgeServer",
            "ok",
            {"Identity": f"EdgeServer:{EDGE}", "Registrar": f"Registrar:{BACKUP_POOL}"},
        ),
        ("Get-CsService", "ok", edge),
        state,
        state,
        (FAILOVER, "ok", failover),
    ]
    refused = next(e for e in runner.lab.engine.journal(check_seq) if e["cmdlet"] == FAILOVER)
    assert NEXT_HOP_ERROR in one_line(refused["error"]) and FAILED_POOL in str(refused["error"])

    # The run record: the pool step remedied (two attempts), the remedy's steps, the remedy event.
    steps = {step.id: step for step in runner.run(run_id).steps}
    pool_step = next(step for step_id, step in steps.items() if step_id.startswith("pool.fail_over@"))
    assert (pool_step.state, pool_step.attempts) == ("succeeded", 2), pool_step
    assert pool_step.error == "an Edge pool still uses the failed pool as next hop"
    remedy = {
        step.step: step.state for step_id, step in steps.items() if "#remedy-pool.fail_over-" in step_id
    }
    assert remedy == {"edge.move_next_hop": "succeeded", "edge.verify_next_hop": "succeeded"}
    kinds = [event["kind"] for event in runner.events() if event["run_id"] == run_id]
    assert "step.remedy" in kinds and kinds[-1] == "run.succeeded"

    # The run's journal keeps the refused attempt with the error text.
    failovers = [entry for entry in runner.journal(run_id) if entry.command == FAILOVER]
    assert [entry.outcome for entry in failovers] == ["error", "ok"]
    assert NEXT_HOP_ERROR in one_line(failovers[0].output)
