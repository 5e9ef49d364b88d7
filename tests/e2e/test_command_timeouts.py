"""A command that reached its server and timed out is never resent to another Front End (cms-2013-primary)."""

from __future__ import annotations

from collections.abc import Callable

from tasks.run import Report
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL

SCENARIO = "cms-2013-primary"
DOWN, RAN_ON = "fe01.pool2.contoso.com", "fe02.pool2.contoso.com"


def test_a_hung_failover_is_stopped_once_on_its_server_and_the_run_names_that_server(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(
        SCENARIO,
        faults={"down": [DOWN], "hang": ["Invoke-CsPoolFailover"]},
        env={"LYNC_FAILOVER_STEP_TIMEOUT": "3", "LYNC_FAILOVER_RETRY_DEADLINE": "1"},
    )

    run_id = runner.call(pool=FAILED_POOL)
    error = runner.wait(run_id)

    assert type(error).__name__ == "RunFailed", error
    assert f"stopped at step pool.fail_over on {RAN_ON}" in str(error), error
    assert "timed out after" in str(error)
    sent = [
        (entry.server, entry.outcome)
        for entry in runner.journal(run_id)
        if entry.command == "Invoke-CsPoolFailover"
    ]
    assert sent == [(RAN_ON, "error")], sent
    [step] = [step for step in runner.run(run_id).steps if step.step == "pool.fail_over"]
    assert step.state == "failed" and step.server == RAN_ON
    assert Report.of(runner.run(run_id)).final_facts.unreachable_servers == [DOWN]
