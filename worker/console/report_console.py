"""What the CLI draws on the terminal: the plan, live run progress and the list of runs (rich)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from worker.console.report_data import (
    command_line,
    describe_facts,
    duration_text,
    first_line,
    planned_commands_text,
    seconds_between,
)

STATE_STYLES = {
    "succeeded": "green",
    "skipped": "dim",
    "failed": "bold red",
    "running": "cyan",
    "retrying": "yellow",
    "remedying": "yellow",
    "pending": "dim",
    "planned": "green",
}
DONE_STATES = ("succeeded", "skipped", "failed")
#: Under a dry run's state in the list of runs, so a failed plan does not read as a failed failover.
DRY_RUN_MARK = "(dry run)"


def facts_table(report: dict[str, Any]) -> Table:
    """The request and the facts the plan rests on."""
    table = Table(title="Facts the plan rests on", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, value in describe_facts(report.get("request") or {}, report.get("facts") or {}):
        table.add_row(label, value)
    return table


def plan_table(plan: list[dict[str, Any]]) -> Table:
    """The planned step calls in order: where each runs and the exact remote commands it sends."""
    table = Table(title=f"Plan: {len(plan)} steps, in this order", title_justify="left", show_lines=True)
    for column in ("#", "step", "phase", "server", "queue", "commands (check, act, read)", "what it does"):
        table.add_column(column, overflow="fold")
    for index, call in enumerate(plan, 1):
        table.add_row(
            str(index),
            call["step"],
            call["phase"],
            call["server"],
            call.get("queue", ""),
            escape(planned_commands_text(call)) or "-",
            call.get("description", ""),
        )
    return table


def progress_view(run: dict[str, Any]) -> RenderableType:
    """The run's steps (state, server, attempts, elapsed) above a progress bar of finished steps."""
    steps = run.get("steps", [])
    table = Table(title=f"run {run['run_id']}: {run.get('state', '?')}", title_justify="left")
    for column in ("step", "state", "server", "attempts", "elapsed"):
        table.add_column(column)
    for step in steps:
        state = step.get("state", "")
        table.add_row(
            step["id"],
            f"[{STATE_STYLES.get(state, '')}]{state}[/]",
            step.get("server", ""),
            str(step.get("attempts", 0)),
            _elapsed(step),
        )
    progress = Progress(
        TextColumn("steps"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}")
    )
    done = sum(step.get("state") in DONE_STATES for step in steps)
    progress.add_task(f"run time {_elapsed(run)}", total=max(1, len(steps)), completed=done)
    return Group(table, progress)


def journal_line(entry: dict[str, str]) -> str:
    """One journal entry as a console line (rich markup): time, server, command, outcome, and for a command
    that did not succeed the first line of its output (the error)."""
    try:
        parameters = json.loads(entry.get("parameters") or "{}")
    except ValueError:
        parameters = {}
    outcome = entry.get("outcome", "")
    style = "green" if outcome == "ok" else "red"
    time = entry.get("ended", "")[11:19]
    line = command_line(entry.get("command", ""), parameters)
    text = f"[dim]{time}[/] {entry.get('server', '')}: {escape(line)} [{style}]{outcome}[/]"
    error = first_line(entry.get("output", "")) if outcome != "ok" else ""
    return f"{text}: {escape(error)}" if error else text


def runs_table(runs: list[dict[str, Any]]) -> Table:
    """Recent runs: id (never cut: `watch` and `report` need it whole), pool, state (a dry run's marked),
    start, duration. A run with ``dry_run`` true is a dry run."""
    table = Table(title="Recent runs, newest first", title_justify="left")
    table.add_column("run id", no_wrap=True, min_width=36)
    table.add_column("pool")
    table.add_column("state", min_width=len(DRY_RUN_MARK))
    table.add_column("started")
    table.add_column("duration")
    for run in runs:
        state = run.get("state") or "?"
        kind = f"\n{DRY_RUN_MARK}" if run.get("dry_run") else ""
        ended = run.get("ended") or ""
        started = run.get("started") or ""
        took = duration_text(seconds_between(started, ended)) if ended else "(running)"
        table.add_row(
            run["run_id"],
            run.get("pool") or "",
            f"[{STATE_STYLES.get(state, '')}]{state}[/]{kind}",
            started[:19].replace("T", " "),
            took,
        )
    return table


def _elapsed(step: dict[str, Any]) -> str:
    started = step.get("first_started") or step.get("started")
    if not started:
        return ""
    ended = step.get("ended") or datetime.now(UTC).isoformat()
    return duration_text(seconds_between(started, ended))
