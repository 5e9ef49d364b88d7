"""``lync-failover``: plan, run and watch a pool failover, report on it, list runs (the rehearsal adds more).

Exit codes: 0 done (run succeeded), 1 the run or dry run failed, 2 bad input or setup (nothing was sent),
3 refused, declined, or the outcome is unknown (timeout).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from tasks.record import get_run, list_runs
from tasks.run import Report
from worker.console import preflight
from worker.console.audit import load_audit
from worker.console.report_html import render_html
from worker.console.report_text import render_json, render_markdown, render_text
from worker.console.terminal import facts_table, plan_table, runs_table
from worker.console.watch import EXIT_FAILED, EXIT_UNKNOWN, EXIT_USAGE, follow, track
from worker.settings import get_settings

app = typer.Typer(
    help="Fail over a Lync Server 2013 Front End pool with the lync-failover runbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=not sys.stdout.isatty())
errors = Console(stderr=True, soft_wrap=not sys.stderr.isatty())

Pool = Annotated[str, typer.Argument(help="The FQDN of the Front End pool to fail over (seed: Pool1).")]
Target = Annotated[
    str | None, typer.Option(help="The pool to fail over to; default: the backup pool Lync has configured.")
]
#: How long the dry run's plan may take to arrive once its record says it ended.
RESULT_TIMEOUT_S = 30.0
PlanTimeout = Annotated[float, typer.Option(help="Seconds to wait for the dry run's plan.")]
WatchTimeout = Annotated[float, typer.Option(help="Seconds to watch before giving up (the run goes on).")]


class Format(StrEnum):
    """The report's formats."""

    text = "text"
    markdown = "markdown"
    json = "json"
    html = "html"


RENDERERS = {
    Format.text: render_text,
    Format.markdown: render_markdown,
    Format.json: render_json,
    Format.html: render_html,
}


def main() -> None:
    """The console script: preflight problems become a clear message and exit code 2, not a traceback."""
    add_commands()
    try:
        app()
    except preflight.PreflightError as error:
        show_error(str(error))
        sys.exit(EXIT_USAGE)


#: Entry points that add commands to the CLI, each ``register(app)`` (the rehearsal adds ``drill``, ``lab``).
COMMANDS_GROUP = "lync_failover.cli"


def add_commands() -> None:
    """Let installed packages add their commands (the rehearsal is one): the console imports none of them."""
    for entry_point in entry_points(group=COMMANDS_GROUP):
        entry_point.load()(app)


@app.command()
def plan(pool: Pool, target: Target = None, timeout: PlanTimeout = 600) -> None:
    """Dry run: discover the facts (read-only) and show the steps a real run would execute."""
    dry_run(pool, target, timeout)


@app.command()
def run(
    pool: Pool,
    target: Target = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    plan_timeout: PlanTimeout = 600,
    timeout: WatchTimeout = 6 * 3600,
) -> None:
    """Show the plan, ask, run the failover for real, and watch it to the end."""
    if not yes and not sys.stdin.isatty():
        fail("no terminal to confirm on: run this interactively, or pass --yes once you have read the plan")
    report = dry_run(pool, target, plan_timeout)
    from worker.celery_app import app as celery_app

    preflight.workers_listening(
        celery_app, sorted({preflight.inventory().control_queue} | {call.queue for call in report.plan})
    )
    question = f"Fail {report.pool} over to {report.target} by running the {len(report.plan)} steps above?"
    if not yes and not typer.confirm(question, default=False):
        console.print("Declined: nothing was changed.")
        raise typer.Exit(EXIT_UNKNOWN)
    from tasks.runbook import start_failover

    launch = start_failover(report.pool, report.request.target)
    console.print(f"Run [bold]{launch.id}[/] sent.")
    code = follow(launch.id, timeout, console, errors, launch)
    point_at_holder(launch.id, report.pool)
    raise typer.Exit(code)


@app.command()
def watch(
    run_id: Annotated[str, typer.Argument(help="The run id (`lync-failover runs` lists them).")],
    timeout: WatchTimeout = 6 * 3600,
) -> None:
    """Follow a run live until it ends: exit 0 succeeded, 1 failed, 3 refused or unknown."""
    preflight.redis_reachable()
    known_run(run_id)
    raise typer.Exit(follow(run_id, timeout, console, errors))


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="The run id (`lync-failover runs` lists them).")],
    format: Annotated[Format, typer.Option("--format", help="text, markdown, json or html.")] = Format.text,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """The audit report: request, facts, plan, every remote command, and the timeline."""
    preflight.redis_reachable()
    known_run(run_id)
    audit = load_audit(run_id)
    assert audit is not None  # known_run checked it
    text = RENDERERS[format](audit)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}; choose another --output")
    console.print(f"report written to {output}")


@app.command()
def runs(limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 20) -> None:
    """Recent runs, newest first: state, pool, start, duration."""
    url = preflight.redis_reachable()
    recent = list_runs(limit)
    if not recent:
        console.print(f"No runs recorded in Redis at {preflight.redacted_url(url)}.")
        return
    console.print(runs_table(recent))


def dry_run(pool: str, target: str | None, timeout: float) -> Report:
    """Check the setup, run the dry run through the real runner, print facts and plan; return the report."""
    inventory = preflight.inventory()
    request = preflight.request(inventory, pool, target, dry_run=True)
    preflight.redis_reachable()
    from celery.exceptions import TimeoutError as CeleryTimeout

    from tasks.runbook import start_failover
    from worker.celery_app import app as celery_app

    preflight.workers_listening(celery_app, preflight.queues_before_discovery(inventory, request.pool))
    result = start_failover(request.pool, request.target, dry_run=True)
    console.print(f"Dry run {result.id}: discovering {request.pool} (read-only)...")
    ended = track(result.id, timeout, console, errors, result)
    if isinstance(ended, int):
        point_at_holder(result.id, request.pool)
        raise typer.Exit(ended)
    try:
        report = Report.model_validate(result.get(timeout=RESULT_TIMEOUT_S))
    except CeleryTimeout:
        fail(f"the dry run {result.id} ended but its plan did not arrive: lync-failover report {result.id}")
    except Exception as error:  # the launcher's or a discovery step's error, rebuilt by Celery
        fail(
            f"the dry run {result.id} failed: {error}\nDetails: lync-failover report {result.id}", EXIT_FAILED
        )
    console.print(facts_table(report))
    console.print(plan_table(report.plan))
    return report


def point_at_holder(run_id: str, pool: str) -> None:
    """When ``run_id`` was refused (it has no record), name the run that holds ``pool``'s lock to follow."""
    from tasks.lock import lock_key
    from tasks.record import redis_client

    holder = redis_client().get(lock_key(pool))
    if get_run(run_id) is None and holder:
        show_error(f"follow the run that holds {pool}: lync-failover watch {holder!s}")


def known_run(run_id: str) -> None:
    """Exit 2 with a clear message when Redis has no run ``run_id``."""
    if get_run(run_id) is None:
        fail(
            f"no run {run_id} in Redis at {preflight.redacted_url(get_settings().redis_url)}: "
            "check the id (`lync-failover runs` lists recent runs; records expire after 90 days)"
        )


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` as an error and exit with ``code``."""
    show_error(message)
    raise typer.Exit(code)


def show_error(message: str) -> None:
    """``message`` on stderr, marked as an error."""
    errors.print(f"[bold red]error:[/] {escape(message)}")


if __name__ == "__main__":
    main()
