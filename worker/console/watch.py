"""Watch a run from its record in Redis: live step progress and journal lines until it ends."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import redis
from rich.console import Console
from rich.live import Live
from rich.markup import escape

from tasks.liveness import run_health
from tasks.record import get_run, read_journal
from tasks.run import Run
from worker.console.terminal import journal_line, progress_view

if TYPE_CHECKING:
    from celery.result import AsyncResult

#: Exit codes: the run failed; bad input or setup (nothing was sent); refused, declined or unknown outcome.
EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN = 1, 2, 3
#: How often the run record is reread (a UI refresh).
REFRESH_S = 1.0


def follow(
    run_id: str,
    timeout: float,
    console: Console,
    errors: Console,
    launch: AsyncResult | None = None,
    report_hint: str = "",
    client: redis.Redis | None = None,
) -> int:
    """Show the run's progress and journal until it ends; its exit code.

    ``launch`` is the trigger's result: a refused run (another holds the pool) has no record, only that.
    ``report_hint`` says where the report is once the run succeeded (default: ``lync-failover report ID``).
    """
    record = track(run_id, timeout, console, errors, launch, client)
    if isinstance(record, int):
        return record
    state = record.state
    if state == "succeeded":
        hint = report_hint or f"Report: lync-failover report {run_id}"
        console.print(f"[bold green]Run {run_id} succeeded.[/] {escape(hint)}")
        return 0
    if state in ("failed", "cancelled"):
        errors.print(f"[bold red]Run {run_id} {state}:[/] {escape(record.error)}")
        return EXIT_FAILED
    console.print(f"Run {run_id} ended {state}.")
    return EXIT_UNKNOWN


def track(
    run_id: str,
    timeout: float,
    console: Console,
    errors: Console,
    launch: AsyncResult | None = None,
    client: redis.Redis | None = None,
) -> Run | int:
    """Show the run's steps and each remote command (with its error) as it completes, until the run ends.

    Returns the run's last record, or an exit code once ``errors`` said why watching stopped: the launch was
    refused (another run holds the pool) or ``timeout`` seconds passed (the run goes on).
    """
    deadline = time.monotonic() + timeout
    since = "0-0"
    with Live(console=console, auto_refresh=False) as live:
        while True:
            record = get_run(run_id, client)
            if record is None and launch is not None and launch.failed():
                errors.print(f"[bold red]refused:[/] {escape(str(launch.result))}")
                return EXIT_UNKNOWN
            for entry in read_journal(run_id, since, client) if record is not None else []:
                live.console.print(journal_line(entry))
                since = entry.id
            if record is not None:
                children = [get_run(child, client) for child in record.children.values()]
                live.update(
                    progress_view(record, [c for c in children if c is not None], run_health(record, client)),
                    refresh=True,
                )
                if record.state != "running":
                    break
            if time.monotonic() > deadline:
                errors.print(
                    f"Stopped watching after {timeout:.0f} s; the run goes on: lync-failover watch {run_id}"
                )
                return EXIT_UNKNOWN
            time.sleep(REFRESH_S)
    if not console.is_terminal:
        console.line()  # a log or pipe gets the live view's last frame without its line end
    return record
