"""A run as Redis keeps it, typed: the record, each step's entry, the journal of commands, the final report.

Written by the tasks (``tasks.record``), read by the console and the reports: every reader uses these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from plugins.kit.model import Facts, Plan, StepCall, command_line
from plugins.kit.requests import AnyRequest
from plugins.kit.shell import ParameterValue

StepState = Literal[
    "pending", "running", "retrying", "remedying", "succeeded", "skipped", "failed", "cancelled"
]
RunState = Literal["running", "planned", "succeeded", "failed", "cancelled"]
#: How a step ended, for the reports: a success that needed several attempts is ``retried`` unless its
#: retries only waited for a state (a polling step such as cms.wait_for_replicas).
Outcome = Literal["succeeded", "retried", "skipped", "failed", "cancelled", "unfinished"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
#: A step that reached one of these has ended.
DONE_STATES: tuple[StepState, ...] = ("succeeded", "skipped", "failed", "cancelled")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepEntry(_Record):
    """One step call in the run record: where and how it ran, and how it ended."""

    id: str
    step: str
    phase: str
    server: str
    queue: str = ""
    state: StepState = "pending"
    #: Orders the entries as the run queued them (discovery first).
    queued: str = ""
    task_id: str = ""
    worker: str = ""
    attempts: int = 0
    first_started: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None
    summary: str = ""
    #: Why it last retried, remedied or failed.
    error: str = ""
    #: The last retry only waited for the world to catch up (not ready yet), it was not a failure.
    waiting: bool = False
    #: The server it was planned on, when it moved to another Front End of the pool.
    moved_from: str = ""
    #: An act of the step that started and has not ended (its worker may have died while it ran), and when.
    acting: str = ""
    acting_since: datetime | None = None
    #: Which execution of the call may run: (its remedies, its own retries). Older copies stand down.
    turn: tuple[int, int] = (0, 0)

    @classmethod
    def of(cls, call: StepCall) -> StepEntry:
        """A pending entry for a planned call."""
        return cls(id=call.id, step=call.step, phase=call.phase, server=call.server, queue=call.queue)

    @property
    def outcome(self) -> Outcome:
        """How it ended, for the reports."""
        if self.state == "succeeded":
            return "retried" if self.attempts > 1 and not self.waiting else "succeeded"
        if self.state in ("skipped", "failed", "cancelled"):
            return self.state
        return "unfinished"

    @property
    def result(self) -> str:
        """Its error when it failed, else its summary."""
        return self.error if self.state == "failed" else self.summary


class JournalEntry(_Record):
    """One remote command of the run, as it completed."""

    #: The Redis stream id (set when read back).
    id: str = ""
    step: str
    server: str
    command: str
    parameters: dict[str, ParameterValue]
    started: datetime
    ended: datetime
    #: ``ok``, ``error``, or ``exit N`` for an executable.
    outcome: str
    output: str

    @property
    def line(self) -> str:
        """The command as PowerShell shows it (for reading only)."""
        return command_line(self.command, self.parameters)

    @property
    def seconds(self) -> float:
        """How long it took."""
        return (self.ended - self.started).total_seconds()

    @property
    def error(self) -> str:
        """The first line of the output of a command that did not succeed ("" when it did)."""
        return first_line(self.output) if self.outcome != "ok" else ""


class Gate(_Record):
    """A pause before a phase (``pause_before``): waiting for an operator, then approved or rejected."""

    phase: str
    state: Literal["waiting", "approved", "rejected"] = "waiting"
    since: datetime
    #: Who approved or rejected it, when, and why (a rejection's reason).
    by: str = ""
    at: datetime | None = None
    reason: str = ""


class PoolOutcome(_Record):
    """How one pool of a site run ended: its own run's verdict."""

    pool: str
    run_id: str
    state: RunState | Literal["refused"]
    target: str | None = None
    error: str = ""


class Run(_Record):
    """A run's record: the request, its state and times, the facts, the plan and every step."""

    run_id: str
    state: RunState
    #: What it is about: the pool, or the site (Request.subject).
    subject: str
    request: AnyRequest
    started: datetime
    ended: datetime | None = None
    #: The facts as they stand (steps update them as they act).
    facts: Facts = Facts()
    plan: Plan | None = None
    #: Every step call the run queued, in that order (discovery first).
    steps: list[StepEntry] = []
    error: str = ""
    #: A site run: each pool's own run, by pool, and how each ended.
    children: dict[str, str] = {}
    pools: list[PoolOutcome] = []
    #: Its pauses before phases, in the order it reached them.
    gates: list[Gate] = []
    #: Who cancelled it (state ``cancelled``; ``error`` says when and at which point).
    cancelled_by: str = ""

    @property
    def waiting_gate(self) -> Gate | None:
        """The pause it waits at now, if any."""
        return next((gate for gate in self.gates if gate.state == "waiting"), None)

    @property
    def planned_facts(self) -> Facts:
        """The facts the plan rests on (as discovered); the facts so far before there is a plan."""
        return self.plan.facts if self.plan is not None else self.facts

    @property
    def dry_run(self) -> bool:
        """Whether it only planned."""
        return self.request.dry_run


class RunSummary(_Record):
    """A line of the list of runs."""

    run_id: str
    subject: str
    workflow: str = "failover"
    state: RunState
    started: datetime
    ended: datetime | None = None
    dry_run: bool = False


class Report(_Record):
    """What a run returns (``celery -A worker result <id>``): its record summed up at its end."""

    run_id: str
    state: RunState
    subject: str
    target: str | None
    dry_run: bool
    request: AnyRequest
    #: The facts the plan rested on, and the facts at the end.
    facts: Facts
    final_facts: Facts
    plan: list[StepCall]
    steps: list[StepEntry]
    #: What the verify steps found.
    verification: list[str]
    error: str = ""
    #: A site run: how each of its pools ended.
    pools: list[PoolOutcome] = []
    gates: list[Gate] = []
    cancelled_by: str = ""

    @classmethod
    def of(cls, run: Run) -> Report:
        """The report of a run's record."""
        return cls(
            run_id=run.run_id,
            state=run.state,
            subject=run.subject,
            target=run.facts.backup_pool,
            dry_run=run.dry_run,
            request=run.request,
            facts=run.planned_facts,
            final_facts=run.facts,
            plan=run.plan.steps if run.plan is not None else [],
            steps=run.steps,
            verification=[step.summary for step in run.steps if step.phase.endswith("verify")],
            error=run.error,
            pools=run.pools,
            gates=run.gates,
            cancelled_by=run.cancelled_by,
        )


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" when there is none)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
