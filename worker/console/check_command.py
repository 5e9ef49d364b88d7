"""``lync-failover check``: a readiness check now, watched, with a verdict per pool and what to fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from plugins.kit.model import Finding
from plugins.kit.requests import ReadinessRequest
from tasks.record import get_run
from tasks.requests import readiness_request
from worker.console import preflight
from worker.console.app import WatchTimeout, app, console, errors, fail
from worker.console.readiness import verdicts
from worker.console.watch import EXIT_FAILED, follow


@app.command()
def check(
    site: Annotated[str | None, typer.Option("--site", help="Only the pools of this site.")] = None,
    timeout: WatchTimeout = 3600,
) -> None:
    """Readiness: check (changing nothing) that a failover of every pool would work; exit 0 when all can."""
    inventory = preflight.inventory()
    request: ReadinessRequest = preflight.checked(lambda: readiness_request(inventory, {"site": site}))
    preflight.redis_reachable()
    from tasks.runbook import start
    from worker.celery_app import app as celery_app

    preflight.workers_listening(celery_app, [inventory.control_queue])
    launch = start(request)
    console.print(f"Readiness check {launch.id} of {request.subject}...")
    code = follow(
        launch.id, timeout, console, errors, launch, report_hint=f"Report: lync-failover report {launch.id}"
    )
    run = get_run(launch.id)
    if run is None:
        raise typer.Exit(code)
    console.print(verdict_table(run.facts.findings))
    if code == 0 and not all(ready for _, ready, _ in verdicts(run.facts.findings)):
        fail("not every pool is ready: fix what the table says, then check again", EXIT_FAILED)
    raise typer.Exit(code)


def verdict_table(findings: list[Finding]) -> Table:
    """Each pool's verdict, then every check that failed with what to do."""
    table = Table(title="Readiness", title_justify="left", show_lines=True)
    for column in ("pool", "verdict", "what to fix"):
        table.add_column(column, overflow="fold")
    for pool, ready, fixes in verdicts(findings):
        table.add_row(pool, "[green]ready[/]" if ready else "[bold red]NOT ready[/]", "\n".join(fixes) or "-")
    return table
