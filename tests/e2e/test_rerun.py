"""A re-run finishes what a failed run left: a Lync 2010 CMS moved, the run stopped before Bootstrapper;
the Front End that already runs the CMS service is skipped."""

from __future__ import annotations

from collections.abc import Callable

from tasks.run import Report
from tests.e2e.expected import CMS_SERVICE_CHECK
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL

BOOTSTRAP = "Bootstrapper.exe -arguments ['/Setup']"
#: Replication that never catches up within the run: cms.wait_for_replicas gives up after the move.
STUCK_REPLICATION = {"replication_lag_seconds": 3600}


def test_a_re_run_after_a_2010_run_stopped_past_the_move_runs_bootstrapper_on_the_front_ends(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner("cms-2010", faults=STUCK_REPLICATION, env={"LYNC_FAILOVER_RETRY_DEADLINE": "2"})

    first = runner.wait(runner.call(pool=FAILED_POOL))

    assert type(first).__name__ == "RunFailed" and "cms.wait_for_replicas" in str(first), first
    sent = runner.commands()
    assert any(" Move-CsManagementServer " in line for line in sent), sent
    assert not any(BOOTSTRAP in line for line in sent), sent

    runner.lab.engine.set_faults({"replication_lag_seconds": 0})
    seen = len(runner.lab.engine.journal())
    again_id = runner.call(pool=FAILED_POOL)
    again = runner.wait(again_id)

    assert isinstance(again, Report) and again.state == "succeeded", again
    rerun = runner.commands(seen)
    # The move is not repeated; every Front End of pool2 is checked for the CMS service, and Bootstrapper
    # runs only where it is missing: not on fe01, which moved the CMS and has it already. Then the pool
    # fails over. The Front Ends are checked at once (a parallel step), in no particular order.
    assert not any(" Move-CsManagementServer " in line or " Install-CsDatabase " in line for line in rerun)
    assert sorted(line for line in rerun if CMS_SERVICE_CHECK in line) == [
        f"fe0{number}.pool2 {CMS_SERVICE_CHECK}" for number in (1, 2, 3)
    ]
    assert sorted(line for line in rerun if BOOTSTRAP in line) == [
        f"fe0{number}.pool2 {BOOTSTRAP}" for number in (2, 3)
    ]
    skipped = [s for s in runner.run(again_id).steps if s.step == "cms2010.bootstrap"]
    assert [(s.server, s.state) for s in skipped] == [
        ("fe01.pool2.contoso.com", "skipped"),
        ("fe02.pool2.contoso.com", "succeeded"),
        ("fe03.pool2.contoso.com", "succeeded"),
    ]
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
