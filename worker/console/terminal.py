"""What the CLI draws on the terminal: the plan, live run progress and the list of runs (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from plugins.kit.model import StepCall
from tasks.record import now
from tasks.run import DONE_STATES, JournalEntry, Report, Run, RunSummary
from worker.console.audit import describe_facts, duration_text, planned_commands_text, seconds_between

STATE_STYLES = {
    "succeeded": "green",
    "skipped": "dim",
    "failed": "bold red",
    "running": "cyan",
    "retrying": "yellow",
    "remedying": "yellow",
    "pending": "dim",
    "planned": "green",
    "cancelled": "bold yellow",
}
#: How the list of runs names each kind of run.
WORKFLOW_NAMES = {
    "failover": "failover of",
    "site": "site failover of",
    "failback": "failback of",
    "readiness": "readiness of",
}
#: Under a dry run's state in the list of runs, so a failed plan does not read as a failed failover.
DRY_RUN_MARK = "(dry run)"


def facts_table(report: Report) -> Table:
    """The request and the facts the plan rests on."""
    table = Table(title="Facts the plan rests on", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, value in describe_facts(report.request, report.facts):
        table.add_row(label, value)
    return table


def plan_table(plan: list[StepCall]) -> Table:
    """The planned step calls in order: where each runs and the exact remote commands it sends."""
    table = Table(title=f"Plan: {len(plan)} steps, in this order", title_justify="left", show_lines=True)
    for column in ("#", "step", "phase", "server", "queue", "commands (check, act, read)", "what it does"):
        table.add_column(column, overflow="fold")
    for index, call in enumerate(plan, 1):
        table.add_row(
            str(index),
            call.step,
            call.phase,
            call.server,
            call.queue,
            escape(planned_commands_text(call)) or "-",
            call.description,
        )
    return table


def progress_view(run: Run, children: Sequence[Run] = (), notes: Sequence[str] = ()) -> RenderableType:
    """The run's steps (state, server, attempts, elapsed), a site run's pools, a progress bar, and ``notes``
    on what holds the run up."""
    steps = run.steps
    table = Table(title=f"run {run.run_id}: {run.state}", title_justify="left")
    for column in ("step", "state", "server", "attempts", "elapsed"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            step.id,
            f"[{STATE_STYLES.get(step.state, '')}]{step.state}[/]",
            step.server,
            str(step.attempts),
            _elapsed(step.first_started or step.started, step.ended),
        )
    pools = Table(title="pools, each in its own run", title_justify="left")
    for column in ("pool", "run", "state", "steps done", "elapsed"):
        pools.add_column(column)
    for child in children:
        done_steps = sum(step.state in DONE_STATES for step in child.steps)
        pools.add_row(
            child.subject,
            child.run_id,
            f"[{STATE_STYLES.get(child.state, '')}]{child.state}[/]",
            f"{done_steps}/{len(child.steps)}",
            _elapsed(child.started, child.ended),
        )
    progress = Progress(
        TextColumn("steps"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}")
    )
    done = sum(step.state in DONE_STATES for step in steps)
    progress.add_task(
        f"run time {_elapsed(run.started, run.ended)}", total=max(1, len(steps)), completed=done
    )
    warnings = [f"[bold yellow]![/] {escape(note)}" for note in notes]
    return Group(table, *([pools] if children else []), progress, *warnings)


def journal_line(entry: JournalEntry) -> str:
    """One journal entry as a console line (rich markup): time, server, command, outcome, and for a command
    that did not succeed the first line of its output (the error)."""
    style = "green" if entry.outcome == "ok" else "red"
    time = entry.ended.strftime("%H:%M:%S")
    text = f"[dim]{time}[/] {entry.server}: {escape(entry.line)} [{style}]{entry.outcome}[/]"
    return f"{text}: {escape(entry.error)}" if entry.error else text


def runs_table(runs: list[RunSummary]) -> Table:
    """Recent runs: id (never cut: `watch` and `report` need it whole), what they did (pool or site), state
    (a dry run's marked), start, duration."""
    table = Table(title="Recent runs, newest first", title_justify="left")
    table.add_column("run id", no_wrap=True, min_width=36)
    table.add_column("run")
    table.add_column("state", min_width=len(DRY_RUN_MARK))
    table.add_column("started")
    table.add_column("duration")
    for run in runs:
        kind = f"\n{DRY_RUN_MARK}" if run.dry_run else ""
        took = duration_text(seconds_between(run.started, run.ended)) if run.ended else "(running)"
        table.add_row(
            run.run_id,
            f"{WORKFLOW_NAMES[run.workflow]} {run.subject}",
            f"[{STATE_STYLES.get(run.state, '')}]{run.state}[/]{kind}",
            run.started.strftime("%Y-%m-%d %H:%M:%S"),
            took,
        )
    return table


def _elapsed(started: datetime | None, ended: datetime | None) -> str:
    if started is None:
        return ""
    return duration_text(seconds_between(started, ended or now()))
