"""A Front End of the backup pool is down: every step runs on the next Front End of that pool instead."""

from __future__ import annotations

from collections.abc import Callable

from tasks.run import Report
from tests.e2e.expected import aligned, expected_commands
from tests.e2e.harness import Runner
from tests.e2e.paths import FAILED_POOL

SCENARIO = "cms-2013-primary"
DOWN, UP = "fe01.pool2.contoso.com", "fe02.pool2.contoso.com"


def test_steps_move_to_the_next_front_end_of_the_pool_when_theirs_is_down(
    start_runner: Callable[..., Runner],
) -> None:
    runner = start_runner(SCENARIO, faults={"down": [DOWN]})

    run_id = runner.api(pool=FAILED_POOL)
    report = runner.wait(run_id)

    assert isinstance(report, Report) and report.state == "succeeded", (
        f"{report}\n{runner.workers.logs()[-4000:]}"
    )
    assert runner.lab.engine.verify() == {"ok": True, "differences": []}
    # The lab received the same commands as with every Front End up, all on fe02.pool2.
    received, expected = aligned(
        runner.commands(),
        [line.replace("fe01.pool2 ", "fe02.pool2 ") for line in expected_commands(SCENARIO)],
    )
    assert received == expected
    planned_on_down = [step for step in runner.run(run_id).steps if step.id.endswith(f"@{DOWN}")]
    assert planned_on_down and all(
        step.server == UP and step.moved_from == DOWN and step.state == "succeeded"
        for step in planned_on_down
    ), planned_on_down
    # The run's journal names the real server of every command: fe01 refused the first one; the run
    # remembered it (a fact), so every later step went to fe02 directly.
    journal = runner.journal(run_id)
    assert {entry.server for entry in journal if entry.outcome == "ok"} == {UP}
    refused = [entry for entry in journal if entry.outcome != "ok"]
    assert [(entry.server, entry.command) for entry in refused] == [(DOWN, "Get-CsPoolBackupRelationship")]
    assert report.final_facts.unreachable_servers == [DOWN]
    # The sampled users' backup registrar is the pool's first Front End, the one that is down: named.
    (users,) = [step for step in report.steps if step.step == "users.verify_serviced"]
    assert users.summary.startswith("0 of 3 sampled users of pool1.contoso.com"), users.summary
    assert f"3 name a backup registrar that does not answer, {DOWN}" in users.summary, users.summary
    moves = [event for event in runner.events() if event["kind"] == "step.moved"]
    assert {event["step"] for event in moves} == {step.step for step in planned_on_down}
    assert all(event["server"] == UP and DOWN in event["message"] for event in moves)
