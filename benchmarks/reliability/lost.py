"""Lost process, lost worker: while a mutating step's act runs on its server, SIGKILL the process running the
step (the worker lives on), or the whole worker's process group (a fresh worker then serves its queue).

A trial per scenario and mutating step (the first act of each step a clean run of the scenario sends), on a
fresh stack each. The run must reach the scenario's declared end state with each act applied once.
"""

from __future__ import annotations

import os
import signal
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.reliability.rig import (
    Act,
    Outcome,
    ProbeError,
    Rig,
    Runs,
    planned_acts,
    rig,
    took_effect,
    until,
    what_if,
)
from benchmarks.reliability.table import REPORTED, Row, judged, progress
from lab.scenario import load_scenario, scenario_names
from tasks.run import StepEntry
from worker.rehearsal.stack import StackError

#: How long the act runs on the server: the kill lands while it does.
ACT_LATENCY_S = 6.0
ACT_DEADLINE_S = 120.0
CLEAN_RUN_DEADLINE_S = 300.0
#: A lost worker's step comes back after the visibility timeout (45 s) and a sweep.
RERUN_GOAL_S = 60.0
QUICK_SCENARIO = "cms-2013-primary"
PROCESS, WORKER = "process", "worker"
TITLES = {
    PROCESS: "lost process (SIGKILL of the process running the step)",
    WORKER: "lost worker (SIGKILL of its process group, a fresh worker)",
}


@dataclass(frozen=True)
class Trial:
    """One kill: where, how the run ended, and how long the step took to run again."""

    mode: str
    scenario: str
    act: Act | None
    outcome: Outcome | None
    rerun_s: float | None
    error: str = ""

    @property
    def correct(self) -> bool:
        """The run reached the declared end state applying each act once."""
        return self.outcome is not None and self.outcome.correct

    def describe(self) -> str:
        """One progress line."""
        where = f"{self.scenario} {self.act.step} ({self.act.cmdlet})" if self.act else self.scenario
        verdict = self.outcome.describe() if self.outcome else f"not carried out: {self.error}"
        rerun = f"; ran again {self.rerun_s:.1f} s after the kill" if self.rerun_s is not None else ""
        return f"lost {self.mode}: {where}: {verdict}{rerun}"


def lost_rows(redis_url: str, root: Path, quick: bool, scenarios: Sequence[str] = ()) -> list[Row]:
    """Both probes over every scenario, or ``scenarios`` (``quick``: one scenario, one step): four rows."""
    trials: list[Trial] = []
    for scenario in [QUICK_SCENARIO] if quick else list(scenarios) or changing_scenarios():
        for trial in scenario_trials(redis_url, root, scenario, quick):
            progress(trial.describe())
            trials.append(trial)
    return [
        row for mode in (PROCESS, WORKER) for row in mode_rows(mode, [t for t in trials if t.mode == mode])
    ]


def changing_scenarios() -> list[str]:
    """The scenarios whose rehearsal changes the deployment (a readiness check has no step to kill)."""
    return [name for name in scenario_names() if load_scenario(name).rehearse != "readiness"]


def scenario_trials(redis_url: str, root: Path, scenario: str, quick: bool) -> Iterator[Trial]:
    """Each mode on each act a clean run of the scenario sends, a fresh stack each (the clean run's too)."""
    pending: list[tuple[str, Act]] | None = None
    while pending is None or pending:
        # Prefork workers: a lost process is one of a worker's pool processes, which the worker outlives (a
        # threads worker, the default, is one process: losing it is the lost worker).
        with rig(redis_url, scenario, root, pool="prefork") as stack:
            if pending is None:
                try:
                    steps, baseline = sent_acts(stack)
                except ProbeError as error:
                    yield from (
                        Trial(mode, scenario, None, None, None, str(error)) for mode in (PROCESS, WORKER)
                    )
                    return
                pending = [(mode, act) for mode in (PROCESS, WORKER) for act in steps[: 1 if quick else None]]
                continue
            mode, act = pending.pop(0)
            yield lose(stack, scenario, mode, act, baseline)


def sent_acts(stack: Rig) -> tuple[list[Act], Counter[str]]:
    """The first act of each mutating step that a clean run of the scenario sends (its pools' runs'
    included), and how often the lab applied each command. A planned act whose step finds it already done
    is never sent: there is nothing to kill."""
    since = stack.journal_mark()
    runs = stack.wait(stack.start(stack.request()), CLEAN_RUN_DEADLINE_S)
    if runs[0].state != "succeeded":
        raise ProbeError(f"the clean run ended {runs[0].state}: {runs[0].error}")
    sent = [entry for entry in stack.journal(since) if took_effect(entry)]
    first: dict[str, Act] = {}
    for act in planned_acts(runs):
        if any(entry["cmdlet"] == act.cmdlet and entry["server"] == act.server for entry in sent):
            first.setdefault(act.step, act)
    return list(first.values()), Counter(entry["cmdlet"] for entry in sent)


def lose(stack: Rig, scenario: str, mode: str, act: Act, baseline: Counter[str]) -> Trial:
    """Run the scenario with ``act`` slowed down, kill (``mode``) while it runs, and judge the run."""
    try:
        stack.lab.post("/faults", {"latency": {act.cmdlet: ACT_LATENCY_S}})
        since = stack.journal_mark()
        run_id = stack.start(stack.request())
        until(lambda: received(stack, act, since), f"{act.cmdlet} on {act.server} in the lab", ACT_DEADLINE_S)
        entry = step_entry(stack.runs(run_id), act.call_id)
        rerun = Rerun(act.call_id, entry.attempts if entry else 0, datetime.now(UTC))
        KILLS[mode](stack, act)
        outcome = stack.outcome(run_id, since, watch=rerun.see, baseline=baseline)
    except (ProbeError, StackError) as error:
        return Trial(mode, scenario, act, None, None, str(error))
    return Trial(mode, scenario, act, outcome, rerun.after_s)


def received(stack: Rig, act: Act, since: int) -> bool:
    """Whether the lab received the act (it runs there now), not as ``-WhatIf``."""
    return any(
        entry["cmdlet"] == act.cmdlet and entry["server"] == act.server and not what_if(entry)
        for entry in stack.journal(since)
    )


def step_entry(runs: Runs, call_id: str) -> StepEntry | None:
    """The call's entry in the run's record or its pools' runs'."""
    return next((entry for run in runs for entry in run.steps if entry.id == call_id), None)


@dataclass
class Rerun:
    """Watches a step's entry for its first attempt started after the kill."""

    call_id: str
    attempts: int
    killed_at: datetime
    after_s: float | None = None

    def see(self, runs: Runs) -> None:
        """Note the first later attempt's start (a poll of the run)."""
        entry = step_entry(runs, self.call_id)
        if self.after_s is None and entry is not None and entry.attempts > self.attempts and entry.started:
            self.after_s = (entry.started - self.killed_at).total_seconds()


def kill_step_process(stack: Rig, act: Act) -> None:
    """SIGKILL the pool process running the step, found as ``celery inspect active`` shows it."""
    os.kill(step_pid(stack, act), signal.SIGKILL)


def kill_worker(stack: Rig, act: Act) -> None:
    """SIGKILL the whole worker of the step's queue (its host is gone), then start a fresh one."""
    lost = stack.worker(act.queue).process
    os.killpg(lost.pid, signal.SIGKILL)
    lost.wait()
    stack.add_workers([act.queue])


KILLS: dict[str, Callable[[Rig, Act], None]] = {PROCESS: kill_step_process, WORKER: kill_worker}


def step_pid(stack: Rig, act: Act) -> int:
    """The pid of the worker process running the act's step call."""
    hostname = stack.hostname(act.queue)
    found: list[int] = []

    def running() -> bool:
        active = stack.celery.control.inspect(destination=[hostname], timeout=2).active() or {}
        found[:] = [
            int(task["worker_pid"])
            for task in active.get(hostname, [])
            if task["name"] == f"lync.{act.step}" and act.call_id in str(task["kwargs"])
        ]
        return bool(found)

    until(running, f"lync.{act.step} among {hostname}'s active tasks", 10.0)
    return found[0]


def mode_rows(mode: str, trials: Sequence[Trial]) -> list[Row]:
    """The mode's two rows: the runs' correctness, and how soon the step ran again."""
    correct = sum(trial.correct for trial in trials)
    twice = sum(len(trial.outcome.twice) for trial in trials if trial.outcome is not None)
    reruns = [trial.rerun_s for trial in trials if trial.rerun_s is not None]
    title, count = TITLES[mode], len(trials)
    rows = [
        judged(
            f"{title}: declared end state, each act once",
            count,
            "100% of runs; 0 acts twice",
            f"{correct}/{count} runs; {twice} acts applied twice",
            correct == count and twice == 0 and count > 0,
        )
    ]
    seen = f"median {statistics.median(reruns):.1f} s, max {max(reruns):.1f} s" if reruns else "never seen"
    measured = f"{seen} ({len(reruns)}/{count} seen)"
    if mode == PROCESS:
        return [*rows, Row(f"{title}: kill → step runs again", count, "reported", measured, REPORTED)]
    met = len(reruns) == count > 0 and max(reruns) <= RERUN_GOAL_S
    return [
        *rows,
        judged(f"{title}: kill → step runs again", count, f"≤ {RERUN_GOAL_S:.0f} s", measured, met),
    ]
