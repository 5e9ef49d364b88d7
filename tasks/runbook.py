"""The run-level tasks: the launchers (``lync.failover``, ``lync.failover_site``, ``lync.failback``,
``lync.readiness``), ``lync.plan`` (discovery rounds, then the plan) and ``lync.finish`` (the report).

The id a launcher gets (``celery call`` prints it) is the run id, and ends up the id of the run's last task:
``celery -A worker result <id>`` is the report, or the error that stopped the run.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.result import AsyncResult

from plugins.kit.model import Context
from plugins.kit.requests import AnyRequest, FailbackRequest, ReadinessRequest, Request, SiteRequest
from plugins.manager import get_plugin_manager
from plugins.planning import build_plan, plan_phase
from tasks.canvas import build_chain, control_signature
from tasks.context import dump_context, load_context, routed, topology
from tasks.events import emit
from tasks.lease import is_alive, show_alive
from tasks.lock import acquire_all, handover, keep, locked_pools, take_over
from tasks.memory import initial_facts
from tasks.outcome import fail_planning, finish_run
from tasks.record import RunRecord, get_run, redis_client
from tasks.requests import (
    FAILBACK_ARGUMENTS,
    FAILOVER_ARGUMENTS,
    READINESS_ARGUMENTS,
    SITE_ARGUMENTS,
    arguments_of,
    failback_request,
    failover_request,
    readiness_request,
    site_request,
)
from tasks.run import StepEntry
from worker.celery_app import app
from worker.inventory import get_inventory
from worker.refusals import Refusal, RequestError, RunRefused
from worker.settings import get_settings

#: The stage after the last discovery phase: build the plan.
PLAN_STAGE = "plan"

log = logging.getLogger(__name__)


def start_failover(
    pool: str, target: str | None = None, dry_run: bool = False, *, queue: str | None = None
) -> AsyncResult:
    """Send ``lync.failover`` (as ``celery call`` does) to ``queue`` (default: the inventory's control queue);
    ``.get()`` on the result waits for the report."""
    return start(Request(pool=pool, target=target, dry_run=dry_run), queue=queue)


def start(request: AnyRequest, *, queue: str | None = None) -> AsyncResult:
    """Send the launcher of ``request`` with its arguments, as ``celery call`` would."""
    name, kwargs = launcher_call(request)
    return app.send_task(name, kwargs=kwargs, queue=queue or get_inventory().control_queue)


def launcher_call(request: AnyRequest) -> tuple[str, dict[str, Any]]:
    """The launcher task's name and keyword arguments for ``request``."""
    if isinstance(request, Request):
        return "lync.failover", {"pool": request.pool, "target": request.target, "dry_run": request.dry_run}
    if isinstance(request, SiteRequest):
        return "lync.failover_site", {"site": request.site, "dry_run": request.dry_run}
    if isinstance(request, FailbackRequest):
        kwargs = {"pool": request.pool, "dry_run": request.dry_run, "move_cms_back": request.move_cms_back}
        return "lync.failback", kwargs
    return "lync.readiness", {"site": request.site}


@app.task(name="lync.failover", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def failover(self: Task, *args: object, **kwargs: object) -> Any:
    """Fail a pool over (pool, target, dry_run): check the request, lock the pool (a dry run takes no lock),
    open the run record, and continue with discovery."""
    arguments = arguments_of("lync.failover", FAILOVER_ARGUMENTS, args, kwargs)
    request = failover_request(get_inventory(), arguments)
    if request.parent is not None:
        started_by_parent(request, self.request.id)
    return launch(self, request)


@app.task(name="lync.failover_site", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def failover_site(self: Task, *args: object, **kwargs: object) -> Any:
    """Fail over every Front End pool of a site (site, dry_run): the CMS and Edge changes once, then each
    pool in its own run, in parallel."""
    arguments = arguments_of("lync.failover_site", SITE_ARGUMENTS, args, kwargs)
    return launch(self, site_request(get_inventory(), arguments))


@app.task(name="lync.failback", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def failback(self: Task, *args: object, **kwargs: object) -> Any:
    """Return a recovered pool's users to it, and the Edge next hops its failover moved (pool, dry_run,
    move_cms_back)."""
    arguments = arguments_of("lync.failback", FAILBACK_ARGUMENTS, args, kwargs)
    return launch(self, failback_request(get_inventory(), arguments))


@app.task(name="lync.readiness", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def readiness(self: Task, *args: object, **kwargs: object) -> Any:
    """Check, changing nothing, that every pool (of ``site``) could fail over now."""
    arguments = arguments_of("lync.readiness", READINESS_ARGUMENTS, args, kwargs)
    return launch(self, readiness_request(get_inventory(), arguments))


@app.task(name="lync.plan", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def plan(self: Task, context: dict[str, Any] | list[dict[str, Any]], phase: str) -> Any:
    """Continue the run at ``phase``: the next discovery round, or (``plan``) the plan itself."""
    return continue_run(self, load_context(context), phase)


@app.task(name="lync.finish", bind=True, throws=(Refusal,))  # type: ignore[untyped-decorator]
def finish(self: Task, context: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    """The run completed: record and return its report, release its locks."""
    return finish_run(load_context(context), "succeeded")


def launch(task: Task, request: AnyRequest) -> Any:
    """Take the run's locks, open its record, and start discovery."""
    run_id: str = task.request.id
    inventory = get_inventory()
    context = Context(run_id=run_id, request=request, topology=topology(inventory))
    take_locks(context)
    RunRecord(run_id).create(request)
    context = context.model_copy(update={"facts": initial_facts(request, inventory)})
    emit("run.started", run_id, request.subject, message=request.model_dump_json())
    discovery, _ = request.phases()
    return continue_run(task, context, discovery[0])


def started_by_parent(request: Request, run_id: str) -> None:
    """RequestError unless ``request.parent`` is the site run that recorded ``run_id`` as its pool's run:
    ``parent`` and ``lost_site`` are a site run's to set, never an operator's."""
    parent = get_run(str(request.parent))
    if parent is None or parent.children.get(request.pool) != run_id:
        raise RequestError(
            f"parent {request.parent!r} is not the site run that started this run: lync.failover_site "
            "sets parent and lost_site for its pools' runs; leave them out"
        )


def take_locks(context: Context) -> None:
    """The locks of the run's pools (a site run's pool run takes its pool from the site run); RunRefused
    naming the run that holds one."""
    pools, request, ttl_s = locked_pools(context), context.request, get_settings().lock_ttl_s
    show_alive(context.run_id, 0)  # before it holds a lock, so no other trigger takes it for dead
    if isinstance(request, Request) and request.parent is not None and pools:
        holder = handover(redis_client(), request.pool, request.parent, context.run_id, ttl_s)
    else:
        holder = acquire_all(redis_client(), pools, context.run_id, ttl_s) if pools else None
        if holder is not None and not is_alive(holder):
            abandon(holder, context, pools)
            holder = acquire_all(redis_client(), pools, context.run_id, ttl_s)
    if holder is not None:
        held_by, waited = holding_run(holder)
        raise RunRefused(
            f"{request.subject} is held by {held_by}: wait for run {waited} (celery -A worker result "
            f"{waited}, lync-failover watch {waited}) before starting another"
        )


def holding_run(holder: str) -> tuple[str, str]:
    """The run that holds a lock in words, and the run to wait for: a site run's pool run names its site run,
    which the operator started and whose result says when every pool is done."""
    record = get_run(holder)
    parent = record.request.parent if record is not None and isinstance(record.request, Request) else None
    if parent is None:
        return f"run {holder}", holder
    return f"run {holder}, a pool run of site run {parent}", parent


def abandon(dead: str, context: Context, pools: list[str]) -> None:
    """The run ``dead`` holds some of ``pools`` but showed no sign of life for ``run_alive_s``: its record
    says it was taken for dead, and this run takes its locks (should it wake, it finds them gone, stops)."""
    silent_s = get_settings().run_alive_s
    taken = take_over(redis_client(), pools, dead, context.run_id, get_settings().lock_ttl_s)
    record = get_run(dead)
    message = (
        f"run {dead} was taken for dead: no sign of life for {silent_s} s (its workers are gone); run "
        f"{context.run_id} took over its locks of {', '.join(pools)}"
    )
    log.warning("%s (%s locks)", message, taken)
    if record is None:
        return
    if record.state == "running":
        RunRecord(dead).finish("failed", error=message)
        emit("run.failed", dead, record.subject, message=message)
    carried = {"id", "step", "phase", "server", "queue", "acting", "acting_since"}
    for step in record.steps:
        if step.acting:  # its act may still run on the server: this run's same step waits for its effect
            lost = f"run {dead} sent {step.acting} and was lost before it ended"
            entry = StepEntry.model_validate({**step.model_dump(include=carried), "summary": lost})
            RunRecord(context.run_id).put_step(entry)


def continue_run(task: Task, context: Context, phase: str) -> Any:
    """Replace ``task`` with the next discovery round and ``lync.plan``, then with the plan (a dry run
    returns its report instead); an error while planning ends the run (fail_planning)."""
    keep(context)
    show_alive(context.run_id, 0)
    pm = get_plugin_manager()
    record = RunRecord(context.run_id)
    record.set_facts(context.facts)
    discovery, actions = context.request.phases()
    rounds = discovery[discovery.index(phase) :] if phase in discovery else ()
    for index, current in enumerate(rounds):
        try:
            calls = [routed(call) for call in plan_phase(pm, current, context)]
        except Exception as error:
            log.exception("run %s: planning the %s phase failed", context.run_id, current)
            fail_planning(context, current, error)
        if calls:
            following = rounds[index + 1] if index + 1 < len(rounds) else PLAN_STAGE
            tail = control_signature("lync.plan", phase=following)
            return task.replace(build_chain(record, context, calls, tail, task.request.id))
    try:
        planned = build_plan(pm, context, actions)
        the_plan = planned.model_copy(update={"steps": [routed(call) for call in planned.steps]})
    except Exception as error:
        log.exception("run %s: building the plan failed", context.run_id)
        fail_planning(context, "/".join(actions), error)
    record.set_plan(the_plan)
    emit("run.planned", context.run_id, context.request.subject, message=f"{len(the_plan.steps)} steps")
    request = context.request
    pauses = () if isinstance(request, ReadinessRequest) else request.pause_before
    if isinstance(request, SiteRequest):
        tail = control_signature("lync.site_pools")
        steps = [] if request.dry_run else the_plan.steps
        return task.replace(build_chain(record, context, steps, tail, task.request.id, pauses))
    if request.dry_run:
        return finish_run(context, "planned")
    finish = control_signature("lync.finish")
    return task.replace(build_chain(record, context, the_plan.steps, finish, task.request.id, pauses))


__all__ = [
    "dump_context",
    "failback",
    "failover",
    "failover_site",
    "finish",
    "plan",
    "readiness",
    "start_failover",
]
