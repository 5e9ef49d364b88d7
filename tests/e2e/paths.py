"""The scenario check both path modules run: trigger, end state, exact commands, then a harmless re-run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

from plugins.manager import get_plugin_manager, step_registry
from tasks.run import Report
from tests.e2e.expected import PARALLEL, aligned, expected_commands
from tests.e2e.harness import Runner, is_read_only, is_run_locally, planned_lines

FAILED_POOL = "pool1.contoso.com"
BACKUP_POOL = "pool2.contoso.com"


def lab_state(runner: Runner) -> dict[str, Any]:
    """The lab's state (JSON)."""
    return cast(dict[str, Any], runner.lab.engine.state())


def check_failover(
    start_runner: Callable[..., Runner],
    *,
    scenario: str,
    trigger: Literal["call", "api"],
    cms_pool: str,
    edge_next_hops: dict[str, str] | None = None,
) -> None:
    """Trigger on ``scenario``: the lab ends as the seed says, by the exact commands; a re-run is a no-op."""
    runner = start_runner(scenario)
    homed_on_failed = {u for u, pool in lab_state(runner)["users"].items() if pool == FAILED_POOL}

    run_id = runner.call(pool=FAILED_POOL) if trigger == "call" else runner.api(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report), f"{report}\n{runner.workers.logs()[-4000:]}"
    assert report.state == "succeeded"
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
    state = lab_state(runner)
    assert state["cms"]["pool"] == cms_pool
    assert homed_on_failed and {state["users"][user] for user in homed_on_failed} == {BACKUP_POOL}
    assert state["pool_states"][FAILED_POOL] == "FailedOver"
    if edge_next_hops:
        assert {edge: state["edge_next_hops"][edge] for edge in edge_next_hops} == edge_next_hops
    received, expected = aligned(runner.commands(), expected_commands(scenario))
    assert received == expected
    changes = [line for line in runner.commands() if not is_read_only(line) and not is_run_locally(line)]
    # Every planned step that was not skipped (its effect already in place) made exactly its listed changes.
    skipped = {step.id for step in runner.run(run_id).steps if step.state == "skipped"}
    acted = [call for call in report.plan if call.id not in skipped]
    parallel = {name for name, spec in step_registry(get_plugin_manager()).items() if spec.parallel}
    planned = [
        (PARALLEL if call.step in parallel else "") + line for call in acted for line in planned_lines([call])
    ]
    got, wanted = aligned(changes, planned)  # a parallel step's calls reach their servers in any order
    assert changes and got == wanted, "the run changed what the plan did not list"
    shown = runner.celery_result(run_id)
    assert shown.returncode == 0 and run_id in shown.stdout and "succeeded" in shown.stdout, shown

    seen = len(runner.lab.engine.journal())
    again = runner.api(pool=FAILED_POOL) if trigger == "call" else runner.call(pool=FAILED_POOL)
    second = runner.wait(again)

    assert isinstance(second, Report) and second.state == "succeeded", second
    assert all(is_read_only(line) for line in runner.commands(seen)), runner.commands(seen)
    assert runner.lab.engine.verify()["ok"]
