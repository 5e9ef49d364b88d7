"""The stack a probe runs against: the suite's Redis, the lab on a scenario, one Celery worker per queue.

It is the rehearsal stack (``worker.rehearsal.stack``); this module adds what a probe reads: the lab's
journal, a run with its pools' runs, and whether a run reached the scenario's declared end state applying
each act once.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult

from plugins.kit.model import PlannedCommand
from plugins.kit.requests import AnyRequest
from plugins.manager import get_plugin_manager, step_registry
from tasks.record import get_run
from tasks.run import Run
from tasks.runbook import launcher_call
from worker.celery_app import configure
from worker.redis_connection import connect
from worker.rehearsal.drill import rehearsal_request
from worker.rehearsal.stack import ChildProcess, LabProcess, WorkerSet, start_lab, start_workers
from worker.settings import read_settings

RUN_DEADLINE_S = 300.0
POLL_S = 0.2
#: What every probe's lab starts from: no replication lag (a probe adds the faults it is about).
QUIET_LAB: dict[str, object] = {"replication_lag_seconds": 0}

#: A run and the runs of its pools (a site run's), top run first.
Runs = list[Run]


class ProbeError(RuntimeError):
    """A trial could not be carried out (something it waited for never came); it counts as missed."""


@dataclass(frozen=True)
class Act:
    """An act command of a planned mutating step, named as the lab journals it."""

    call_id: str
    step: str
    server: str
    queue: str
    cmdlet: str


@dataclass(frozen=True)
class Outcome:
    """How a run ended, against the scenario's declared end state and the lab's journal."""

    state: str
    error: str
    end_state: bool
    differences: list[str]
    #: Acts the lab applied (outcome ok) more often than the plan has them.
    twice: list[str]

    @property
    def correct(self) -> bool:
        """Succeeded, the declared end state reached, no act applied twice."""
        return self.state == "succeeded" and self.end_state and not self.twice

    def describe(self) -> str:
        """One line: what went wrong, or that nothing did."""
        if self.correct:
            return "succeeded, end state reached, each act applied once"
        problems = [] if self.state == "succeeded" else [f"run {self.state}: {self.error[:300]}"]
        problems += [f"end state differs: {'; '.join(self.differences)}"] if not self.end_state else []
        return "; ".join(problems + self.twice)


@dataclass
class Rig:
    """A running stack for one scenario, and what a probe reads from it."""

    redis_url: str
    client: redis.Redis
    #: A Celery client of the rig's Redis (its own: a probe may use another Redis than the last).
    celery: Celery
    lab: LabProcess
    directory: Path
    env: dict[str, str]
    loglevel: str
    #: The workers' execution pool (None: the app's, threads).
    pool: str | None = None
    worker_sets: list[WorkerSet] = field(default_factory=list)
    others: list[ChildProcess] = field(default_factory=list)

    @property
    def control_queue(self) -> str:
        """The inventory's control queue (the launchers')."""
        return self.lab.queues()[-1]

    def state(self) -> dict[str, Any]:
        """The lab's deployment, its scenario and its faults."""
        state = self.lab.get("/state")
        assert isinstance(state, dict)
        return state

    def request(self, **changes: object) -> AnyRequest:
        """What the scenario rehearses (a failover, a site failover or a failback), with ``changes``."""
        return rehearsal_request(self.state()).model_copy(update=changes)

    def start(self, request: AnyRequest) -> str:
        """Send the request's launcher as ``celery call`` does; the run id."""
        name, kwargs = launcher_call(request)
        return self.send(name, (), kwargs)

    def send(self, task: str, args: Sequence[object] = (), kwargs: Mapping[str, object] | None = None) -> str:
        """Send a launcher with raw arguments (``celery call NAME --args --kwargs``); the task id."""
        sent: AsyncResult = self.celery.send_task(
            task, args=list(args), kwargs=dict(kwargs or {}), queue=self.control_queue
        )
        return str(sent.id)

    def result(self, task_id: str) -> AsyncResult:
        """A task's result (a launcher's: the run's report, or why it was refused or stopped)."""
        return AsyncResult(task_id, app=self.celery)

    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        """Every command the lab received after sequence number ``since``."""
        entries = self.lab.get(f"/journal?since={since}")
        assert isinstance(entries, list)
        return entries

    def journal_mark(self) -> int:
        """The sequence number of the last command the lab received (0 for none)."""
        return len(self.journal())

    def verify(self) -> dict[str, Any]:
        """The lab's state against the scenario's declared end state: ``{"ok", "differences"}``."""
        verdict = self.lab.get("/verify")
        assert isinstance(verdict, dict)
        return verdict

    def runs(self, run_id: str) -> Runs:
        """The run and its pools' runs (none before its record exists)."""
        run = get_run(run_id, self.client)
        if run is None:
            return []
        children = [get_run(child, self.client) for child in run.children.values()]
        return [run, *(child for child in children if child is not None)]

    def wait(
        self, run_id: str, deadline_s: float = RUN_DEADLINE_S, watch: Callable[[Runs], None] | None = None
    ) -> Runs:
        """Poll the run until it ends (``watch`` sees every poll); ProbeError when it is refused or too slow.

        A Redis that restarts meanwhile is waited for.
        """
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                runs = self.runs(run_id)
                refused = not runs and self.result(run_id).ready()
            except redis.ConnectionError:
                runs, refused = [], False
            if refused:
                raise ProbeError(f"run {run_id} never started: {self.result(run_id).result!r}")
            if watch is not None and runs:
                watch(runs)
            if runs and runs[0].state != "running":
                return runs
            if time.monotonic() > deadline:
                raise ProbeError(f"run {run_id} did not end within {deadline_s:.0f} s")
            time.sleep(POLL_S)

    def outcome(
        self,
        run_id: str,
        since: int,
        deadline_s: float = RUN_DEADLINE_S,
        watch: Callable[[Runs], None] | None = None,
        baseline: Counter[str] | None = None,
    ) -> Outcome:
        """Wait for the run, then judge it: its state, the lab's verdict, the acts the lab applied twice
        (more often than planned, or than ``baseline``, a clean run's count)."""
        runs = self.wait(run_id, deadline_s, watch)
        verdict = self.verify()
        return Outcome(
            state=runs[0].state,
            error=runs[0].error,
            end_state=bool(verdict["ok"]),
            differences=[str(difference) for difference in verdict["differences"]],
            twice=applied_twice(planned_acts(runs), self.journal(since), baseline),
        )

    def add_workers(self, queues: Sequence[str], env: Mapping[str, str] | None = None) -> WorkerSet:
        """Start one more worker per queue (``env`` over the rig's)."""
        log_dir = self.directory / f"workers-{len(self.worker_sets)}"
        workers = start_workers(
            self.redis_url,
            self.lab.inventory_path,
            queues,
            log_dir,
            {**self.env, **(env or {})},
            self.pool,
            loglevel=self.loglevel,
        )
        self.worker_sets.append(workers)
        return workers

    def worker(self, queue: str) -> ChildProcess:
        """The latest worker started for ``queue``."""
        return next(
            workers.children[queue] for workers in reversed(self.worker_sets) if queue in workers.children
        )

    def restart_workers(self, env: Mapping[str, str]) -> None:
        """Stop every worker (their logs stay), then start one per queue again with ``env`` as the rig's."""
        for workers in self.worker_sets:
            workers.stop()
        self.env = dict(env)
        self.add_workers(self.lab.queues())

    def hostname(self, queue: str) -> str:
        """The node name of the worker serving ``queue`` (as ``celery inspect`` addresses it)."""
        return self.worker_sets[0].hostnames[queue]

    def log_files(self) -> list[Path]:
        """The log files of every worker started and of the other children (beat)."""
        children = [child for workers in self.worker_sets for child in workers.children.values()]
        return [child.log for child in [*children, *self.others]]

    def stop(self) -> None:
        """Stop the workers, the other children and the lab; close the clients."""
        for workers in self.worker_sets:
            workers.stop()
        for child in self.others:
            child.stop()
        self.lab.child.stop()
        self.celery.close()
        self.client.close()


@contextmanager
def rig(
    redis_url: str,
    scenario: str,
    root: Path,
    *,
    faults: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    loglevel: str = "INFO",
    fresh: bool = True,
    pool: str | None = None,
) -> Iterator[Rig]:
    """A stack on ``scenario`` under ``root``, set up by ``env`` like its workers (execution ``pool``: the
    app's unless given); ``fresh`` empties Redis."""
    directory = Path(tempfile.mkdtemp(prefix=f"{scenario}-", dir=root))
    lab = start_lab(scenario, directory / "lab")
    environment = {"REDIS_URL": redis_url, "LYNC_FAILOVER_INVENTORY": str(lab.inventory_path), **(env or {})}
    settings = read_settings(environment)
    client = connect(redis_url, settings.sentinel_master)
    stack = Rig(redis_url, client, Celery("lync_failover"), lab, directory, dict(env or {}), loglevel, pool)
    try:
        configure(stack.celery, settings)
        if fresh:
            client.flushall()
        lab.post("/faults", {**QUIET_LAB, **(faults or {})})
        stack.add_workers(lab.queues())
        yield stack
    finally:
        stack.stop()


def until(condition: Callable[[], bool], what: str, deadline_s: float) -> None:
    """Poll ``condition`` until it holds; ProbeError naming ``what`` past the deadline."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise ProbeError(f"no {what} within {deadline_s:.0f} s")
        time.sleep(POLL_S)


def planned_acts(runs: Sequence[Run]) -> list[Act]:
    """The act commands of the mutating steps the runs planned, in plan order."""
    registry = step_registry(get_plugin_manager())
    return [
        Act(call.id, call.step, call.server, call.queue, lab_name(command))
        for run in runs
        if run.plan is not None
        for call in run.plan.steps
        if registry[call.step].mutating
        for command in call.commands_for("act")
    ]


def lab_name(command: PlannedCommand) -> str:
    """How the lab journals a command: an executable by its file name (``Bootstrapper.exe``)."""
    return command.cmdlet.strip('"').rsplit("\\", 1)[-1] if command.executable else command.cmdlet


def what_if(entry: Mapping[str, Any]) -> bool:
    """Whether a lab journal entry is a ``-WhatIf`` run (it changes nothing)."""
    return entry["parameters"].get("WhatIf") is True


def took_effect(entry: Mapping[str, Any]) -> bool:
    """Whether a lab journal entry changed the deployment: it ended ok, and not as ``-WhatIf``."""
    return entry["outcome"] == "ok" and not what_if(entry)


def applied_twice(
    acts: Sequence[Act], journal: Sequence[Mapping[str, Any]], baseline: Counter[str] | None = None
) -> list[str]:
    """Each act cmdlet the lab applied more often than the plan has it or, given a ``baseline``, than a clean
    run of the scenario applied it (a remedy's acts are in no plan); a repeatable step's act, which may be
    sent again by design, is not counted."""
    registry = step_registry(get_plugin_manager())
    cmdlets = {act.cmdlet for act in acts if not registry[act.step].repeatable}
    expected = baseline if baseline is not None else Counter(act.cmdlet for act in acts)
    against = "a clean run" if baseline is not None else "planned"
    done = Counter(entry["cmdlet"] for entry in journal if took_effect(entry))
    return [
        f"{cmdlet} applied {done[cmdlet]} times, {against} {expected[cmdlet]}"
        for cmdlet in sorted(cmdlets)
        if done[cmdlet] > expected[cmdlet]
    ]
