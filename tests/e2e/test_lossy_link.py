"""A failover over a lossy link (issue 10): every server drops 30% of WSMan requests; it still ends right."""

from __future__ import annotations

from collections.abc import Callable

from tasks.run import Report
from tests.e2e.harness import Runner, is_read_only, is_run_locally, planned_lines
from tests.e2e.paths import FAILED_POOL, lab_state

SCENARIO = "cms-2013-primary"


def test_a_failover_over_a_lossy_link_makes_each_change_once(start_runner: Callable[..., Runner]) -> None:
    runner = start_runner(SCENARIO, faults={"transport_fault_rate": {"*": 0.3}})

    run_id = runner.api(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", (
        f"{report}\n{runner.workers.logs()[-3000:]}"
    )
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
    assert lab_state(runner)["dropped_requests"] > 0
    skipped = {step.id for step in runner.run(run_id).steps if step.state == "skipped"}
    acts = planned_lines([call for call in report.plan if call.id not in skipped])
    received = [
        line
        for line in runner.commands(failed_too=True)
        if not is_read_only(line) and not is_run_locally(line)
    ]
    assert acts and received == acts, "a change was received more than once, or one was missing"
    assert [line for line in runner.commands() if line in acts] == acts, "a change did not complete"
