"""Commands that change Lync, each after showing its dry run: ``plan``, ``run`` (a pool or a whole site) and
``failback``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from plugins.kit.requests import AnyRequest, Request, SiteRequest
from tasks.record import get_run, redis_client
from tasks.requests import failback_request, failover_request, site_request
from tasks.run import Report
from worker.console import preflight
from worker.console.app import WatchTimeout, app, console, errors, fail, show_error
from worker.console.terminal import facts_table, plan_table
from worker.console.watch import EXIT_FAILED, EXIT_UNKNOWN, follow, track

PoolArgument = Annotated[str | None, typer.Argument(help="The FQDN of the Front End pool (seed: Pool1).")]
SiteOption = Annotated[
    str | None,
    typer.Option("--site", help="Fail over every Front End pool of this site (a datacenter lost)."),
]
Target = Annotated[
    str | None, typer.Option(help="The pool to fail over to; default: the backup pool Lync has configured.")
]
Yes = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]
PauseBefore = Annotated[
    list[str] | None,
    typer.Option(
        "--pause-before",
        help="Hold the run before this phase (e.g. pool: before Invoke-CsPoolFailover -DisasterMode) until "
        "lync-failover approve RUN, or reject. Repeatable.",
    ),
]
#: How long the dry run's plan may take to arrive once its record says it ended.
RESULT_TIMEOUT_S = 30.0
PlanTimeout = Annotated[float, typer.Option(help="Seconds to wait for the dry run's plan.")]


@app.command()
def plan(
    pool: PoolArgument = None, site: SiteOption = None, target: Target = None, timeout: PlanTimeout = 600
) -> None:
    """Dry run: discover the facts (read-only) and show the steps a real run would execute."""
    dry_run(asked_failover(pool, site, target, []), timeout)


@app.command()
def run(
    pool: PoolArgument = None,
    site: SiteOption = None,
    target: Target = None,
    pause_before: PauseBefore = None,
    yes: Yes = False,
    plan_timeout: PlanTimeout = 600,
    timeout: WatchTimeout = 6 * 3600,
) -> None:
    """Show the plan, ask, run the failover (of a pool, or every pool of a site) and watch it to the end."""
    refuse_without_terminal(yes)
    planned = dry_run(asked_failover(pool, site, target, pause_before or []), plan_timeout)
    if isinstance(planned.request, SiteRequest):
        question = f"Fail over the {len(planned.pools)} pools of {planned.subject}, each to its backup pool?"
    else:
        question = (
            f"Fail {planned.subject} over to {planned.target} by running the {len(planned.plan)} steps above?"
        )
    go(planned, question, yes, timeout)


@app.command()
def failback(
    pool: Annotated[str, typer.Argument(help="The FQDN of the recovered pool (seed: Pool1).")],
    move_cms_back: Annotated[
        bool, typer.Option("--move-cms-back", help="Also move the Central Management store back to it.")
    ] = False,
    plan_only: Annotated[bool, typer.Option("--plan", help="Only show the plan (a dry run).")] = False,
    pause_before: PauseBefore = None,
    yes: Yes = False,
    plan_timeout: PlanTimeout = 600,
    timeout: WatchTimeout = 6 * 3600,
) -> None:
    """Return a recovered pool's users to it (and the Edge next hops its failover moved): plan, ask, run."""
    if not plan_only:
        refuse_without_terminal(yes)
    inventory = preflight.inventory()
    arguments = {
        "pool": pool,
        "dry_run": True,
        "move_cms_back": move_cms_back,
        "pause_before": pause_before or [],
    }
    request = preflight.checked(lambda: failback_request(inventory, arguments))
    planned = dry_run(request, plan_timeout)
    if not plan_only:
        go(
            planned,
            f"Fail {planned.subject} back by running the {len(planned.plan)} steps above?",
            yes,
            timeout,
        )


def asked_failover(
    pool: str | None, site: str | None, target: str | None, pause_before: list[str]
) -> Request | SiteRequest:
    """The dry run of a pool failover or a site failover, checked at the door."""
    if (pool is None) == (site is None):
        fail("name the pool to fail over, or --site SITE for every pool of a site (one of them)")
    inventory = preflight.inventory()
    if site is not None:
        if target is not None:
            fail("--target is for one pool: each pool of a site goes to its own backup pool")
        asked = {"site": site, "dry_run": True, "pause_before": pause_before}
        return preflight.checked(lambda: site_request(inventory, asked))
    assert pool is not None
    arguments = {"pool": pool, "target": target, "dry_run": True, "pause_before": pause_before}
    return preflight.checked(lambda: failover_request(inventory, arguments))


def refuse_without_terminal(yes: bool) -> None:
    """A run that changes Lync is confirmed at a terminal, or by --yes."""
    if not yes and not sys.stdin.isatty():
        fail("no terminal to confirm on: run this interactively, or pass --yes once you have read the plan")


def dry_run(request: AnyRequest, timeout: float) -> Report:
    """Check the setup, run the dry run through the real runner, print facts and plan; return the report."""
    inventory = preflight.inventory()
    preflight.redis_reachable()
    from celery.exceptions import TimeoutError as CeleryTimeout

    from tasks.runbook import start
    from worker.celery_app import app as celery_app

    preflight.workers_listening(celery_app, preflight.queues_before_discovery(inventory, request))
    result = start(request)
    console.print(f"Dry run {result.id}: discovering {request.subject} (read-only)...")
    ended = track(result.id, timeout, console, errors, result)
    if isinstance(ended, int):
        point_at_holder(result.id, preflight.failed_pools(inventory, request))
        raise typer.Exit(ended)
    try:
        report = Report.model_validate(result.get(timeout=RESULT_TIMEOUT_S))
    except CeleryTimeout:
        fail(f"the dry run {result.id} ended but its plan did not arrive: lync-failover report {result.id}")
    except Exception as error:  # the launcher's or a discovery step's error, rebuilt by Celery
        fail(
            f"the dry run {result.id} failed: {error}\nDetails: lync-failover report {result.id}", EXIT_FAILED
        )
    show_plan(report)
    return report


def show_plan(report: Report) -> None:
    """The facts and the plan; for a site, each pool's own plan after the site's."""
    console.print(facts_table(report))
    console.print(plan_table(report.plan))
    for outcome in report.pools:
        child = get_run(outcome.run_id)
        if child is not None:
            console.print(f"[bold]{outcome.pool}[/] (its own run, {outcome.run_id}):")
            console.print(plan_table(Report.of(child).plan))


def go(planned: Report, question: str, yes: bool, timeout: float) -> None:
    """Ask, then run the planned request for real and watch it; exit with its code."""
    from tasks.runbook import start
    from worker.celery_app import app as celery_app

    inventory = preflight.inventory()
    queues = {inventory.control_queue, *(call.queue for call in planned.plan)}
    for outcome in planned.pools:
        child = get_run(outcome.run_id)
        queues |= {call.queue for call in Report.of(child).plan} if child is not None else set()
    preflight.workers_listening(celery_app, sorted(queues))
    if not yes and not typer.confirm(question, default=False):
        console.print("Declined: nothing was changed.")
        raise typer.Exit(EXIT_UNKNOWN)
    launch = start(planned.request.model_copy(update={"dry_run": False}))
    console.print(f"Run [bold]{launch.id}[/] sent.")
    code = follow(launch.id, timeout, console, errors, launch)
    point_at_holder(launch.id, preflight.failed_pools(inventory, planned.request) or [planned.subject])
    raise typer.Exit(code)


def point_at_holder(run_id: str, pools: list[str]) -> None:
    """When ``run_id`` was refused (it has no record), name the run that holds one of ``pools`` to follow."""
    from tasks.lock import lock_key

    if get_run(run_id) is not None:
        return
    for pool in pools:
        holder = redis_client().get(lock_key(pool))
        if holder:
            show_error(f"follow the run that holds {pool}: lync-failover watch {holder!s}")
            return
