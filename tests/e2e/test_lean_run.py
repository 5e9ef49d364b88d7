"""What the runner costs next to the commands it sends (cms-2013-primary): one runspace pool per server it
touches, and a step that waits for the world looks again often, not after a backoff meant for failures."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tasks.run import Report
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL

SCENARIO = "cms-2013-primary"
#: The CMS replicas catch up this long after the CMS failover: cms.wait_for_replicas waits for them.
LAG_S = 4.0
#: How often an exponential backoff (0.25-0.5 s, then doubling) could have looked in that wait: at 0, 0.25,
#: 0.75, 1.75 and 3.75 s at the soonest, the next look past the lag.
BACKOFF_LOOKS = 6


@pytest.mark.parametrize("scenario", [SCENARIO, "cms-2010"])
def test_a_run_opens_one_runspace_pool_per_server_it_touches(
    start_runner: Callable[..., Runner], scenario: str
) -> None:
    """cms-2010 also runs Move-CsManagementServer in a scheduled task: its own Import-Module opens no pool."""
    runner = start_runner(scenario)

    run_id = runner.call(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", report
    touched = {entry.server for entry in runner.journal(run_id)}
    imports = [entry for entry in runner.lab.engine.journal() if entry["cmdlet"] == "Import-Module"]
    opened = [str(entry["server"]) for entry in imports if not entry["local"]]
    assert len(report.steps) > len(touched)
    assert sorted(opened) == sorted(touched)


def test_a_step_waiting_for_replication_polls_until_it_sees_it(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO, faults={"replication_lag_seconds": LAG_S})

    run_id = runner.call(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", report
    (wait,) = [step for step in report.steps if step.step == "cms.wait_for_replicas"]
    assert wait.outcome == "succeeded" and wait.waiting, wait
    polls = [entry for entry in runner.journal(run_id) if entry.step == wait.id]
    assert [entry.command for entry in polls] == ["Get-CsManagementStoreReplicationStatus"] * wait.attempts
    assert wait.attempts > 2 * BACKOFF_LOOKS, wait
    order = [step.step for step in report.steps]
    assert order.index("pool.fail_over") == order.index("cms.wait_for_replicas") + 1
