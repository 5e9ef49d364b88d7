"""Where a run's time went: the critical path's own durations (the physical floor), a breakdown of the wall
time, and the median and spread of several rounds."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from plugins.kit.cms_store import REPLICAS_STEP
from tasks.run import JournalEntry, Run, StepEntry

#: The commands after which the CMS replicas catch up ``replication_lag_seconds`` later.
CMS_MOVES = ("Invoke-CsManagementServerFailover", "Move-CsManagementServer")
Interval = tuple[datetime, datetime]


def command_name(entry: JournalEntry) -> str:
    """The command's name as the lab's faults name it (an executable without its folder)."""
    return entry.command.strip('"').rsplit("\\", 1)[-1]


def takes_time(entry: JournalEntry) -> bool:
    """Whether the lab spent the command's latency on it: it succeeded and was not a ``-WhatIf``."""
    return entry.outcome == "ok" and not entry.parameters.get("WhatIf")


def critical_path_s(
    runs: Sequence[Run],
    journals: Mapping[str, Sequence[JournalEntry]],
    latency: Callable[[str], float],
    replication_s: float,
    parallel: Collection[str],
) -> float:
    """The floor: the slow commands one after another as the run orders them (a parallel step's calls count
    as their longest), the replicas' catching up after a CMS move, then a site run's pools at once (the
    longest)."""
    first, *pools = runs
    own = _path_s(first, journals.get(first.run_id, ()), latency, replication_s, parallel)
    return own + max(
        (_path_s(pool, journals.get(pool.run_id, ()), latency, replication_s, parallel) for pool in pools),
        default=0.0,
    )


def _path_s(
    run: Run,
    journal: Iterable[JournalEntry],
    latency: Callable[[str], float],
    replication_s: float,
    parallel: Collection[str],
) -> float:
    seconds: dict[str, float] = defaultdict(float)
    moving: set[str] = set()
    for entry in journal:
        if takes_time(entry):
            seconds[entry.step] += latency(command_name(entry))
            if command_name(entry) in CMS_MOVES:
                moving.add(entry.step)
    elapsed, moved_at = 0.0, None
    for stage in stages(run.steps, parallel):
        if moved_at is not None and any(step.step == REPLICAS_STEP for step in stage):
            elapsed = max(elapsed, moved_at + replication_s)
        elapsed += max(seconds[step.id] for step in stage)
        if any(step.id in moving for step in stage):
            moved_at = elapsed
    return elapsed


def stages(steps: Sequence[StepEntry], parallel: Collection[str]) -> list[list[StepEntry]]:
    """The steps in order, neighbouring calls of one parallel step together (as tasks/canvas.py runs them)."""
    grouped: list[list[StepEntry]] = []
    for step in steps:
        if grouped and step.step in parallel and grouped[-1][-1].step == step.step:
            grouped[-1].append(step)
        else:
            grouped.append([step])
    return grouped


@dataclass(frozen=True)
class Breakdown:
    """A run's wall time, split: remote commands, waits between a step's attempts, the runner's work inside
    steps (record, journal, lease, checks), and the time between steps (Celery hops, launcher, planning,
    finish, result)."""

    wall_s: float
    commands_s: float
    waits_s: float
    in_steps_s: float
    between_steps_s: float
    commands: int
    steps: int
    attempts: int

    @classmethod
    def of(cls, wall_s: float, runs: Sequence[Run], journal: Sequence[JournalEntry]) -> Breakdown:
        """The breakdown of the ``runs`` (a run and its pools' runs) that took ``wall_s``."""
        steps = [step for run in runs for step in run.steps if step.first_started and step.ended]
        spans = [(step.first_started, step.ended) for step in steps if step.first_started and step.ended]
        commands_s = covered_s([(entry.started, entry.ended) for entry in journal])
        waits_s = sum(_waited_s(step, journal) for step in steps)
        in_steps = covered_s(spans)
        return cls(
            wall_s=wall_s,
            commands_s=commands_s,
            waits_s=waits_s,
            in_steps_s=max(0.0, in_steps - commands_s - waits_s),
            between_steps_s=max(0.0, wall_s - in_steps),
            commands=len(journal),
            steps=len(steps),
            attempts=sum(step.attempts for step in steps),
        )


def _waited_s(step: StepEntry, journal: Sequence[JournalEntry]) -> float:
    """The time between a step's first and last attempt not spent on its earlier attempts' commands."""
    if step.first_started is None or step.started is None or step.attempts < 2:
        return 0.0
    earlier = [
        (entry.started, entry.ended)
        for entry in journal
        if entry.step == step.id and step.first_started <= entry.started < step.started
    ]
    return max(0.0, (step.started - step.first_started).total_seconds() - covered_s(earlier))


def covered_s(intervals: Iterable[Interval]) -> float:
    """The seconds covered by at least one of ``intervals``."""
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total


def spread(values: Sequence[float], digits: int = 2) -> str:
    """``median (min-max, n rounds)``."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"
