"""The run-level tasks: ``lync.failover`` (the launcher), ``lync.plan`` (discovery rounds, then the plan),
``lync.finish`` (the report). The id ``celery call lync.failover`` prints is the run id, and ends up the id of
the run's last task: ``celery -A worker result <id>`` is the report, or the error that stopped the run.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.result import AsyncResult

from plugins.kit.model import ACTION_PHASES, DISCOVERY_PHASES, Context
from plugins.manager import get_plugin_manager
from plugins.planning import build_plan, plan_phase
from tasks.canvas import build_chain, control_signature
from tasks.context import dump_context, load_context, routed, topology
from tasks.events import emit
from tasks.lock import acquire, keep
from tasks.outcome import RunRefused, fail_planning, finish_run
from tasks.record import RunRecord, redis_client
from tasks.requests import validate_request
from worker.celery_app import app
from worker.inventory import get_inventory
from worker.settings import get_settings

#: The stage after the last discovery phase: build the plan.
PLAN_STAGE = "plan"
#: How a planning failure after discovery names where it happened.
ACTION_STAGE = "/".join(ACTION_PHASES)

log = logging.getLogger(__name__)


def start_failover(
    pool: str, target: str | None = None, dry_run: bool = False, *, queue: str | None = None
) -> AsyncResult:
    """Send ``lync.failover`` (as ``celery call`` does) to ``queue`` (default: the inventory's control queue);
    ``.get()`` on the result waits for the report."""
    return failover.apply_async(
        kwargs={"pool": pool, "target": target, "dry_run": dry_run},
        queue=queue or get_inventory().control_queue,
    )


@app.task(name="lync.failover", bind=True)  # type: ignore[untyped-decorator]
def failover(self: Task, pool: str, target: str | None = None, dry_run: bool = False) -> Any:
    """Check the request, lock the pool (a dry run changes nothing and takes no lock), open the run record,
    and continue with discovery."""
    inventory = get_inventory()
    request = validate_request(inventory, pool, target, dry_run)
    run_id: str = self.request.id
    holder = (
        None if request.dry_run else acquire(redis_client(), request.pool, run_id, get_settings().lock_ttl_s)
    )
    if holder is not None:
        raise RunRefused(
            f"{request.pool} is already being failed over by run {holder}: wait for it "
            f"(celery -A worker result {holder}) before starting another"
        )
    RunRecord(run_id).create(request)
    context = Context(run_id=run_id, request=request, topology=topology(inventory))
    emit("run.started", run_id, request.pool, message=request.model_dump_json())
    return continue_run(self, context, DISCOVERY_PHASES[0])


@app.task(name="lync.plan", bind=True)  # type: ignore[untyped-decorator]
def plan(self: Task, context: dict[str, Any], phase: str) -> Any:
    """Continue the run at ``phase``: the next discovery round, or (``plan``) the plan itself."""
    return continue_run(self, load_context(context), phase)


@app.task(name="lync.finish", bind=True)  # type: ignore[untyped-decorator]
def finish(self: Task, context: dict[str, Any]) -> dict[str, Any]:
    """The run completed: record and return its report, release the pool."""
    return finish_run(load_context(context), "succeeded")


def continue_run(task: Task, context: Context, phase: str) -> Any:
    """Replace ``task`` with the next discovery round and ``lync.plan``, then with the plan (a dry run
    returns its report instead); an error while planning ends the run (fail_planning)."""
    keep(context)
    pm = get_plugin_manager()
    record = RunRecord(context.run_id)
    record.set_facts(context.facts)
    rounds = DISCOVERY_PHASES[DISCOVERY_PHASES.index(phase) :] if phase in DISCOVERY_PHASES else ()
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
        planned = build_plan(pm, context)
        the_plan = planned.model_copy(update={"steps": [routed(call) for call in planned.steps]})
    except Exception as error:
        log.exception("run %s: building the plan failed", context.run_id)
        fail_planning(context, ACTION_STAGE, error)
    record.set_plan(the_plan)
    emit("run.planned", context.run_id, context.failed_pool, message=f"{len(the_plan.steps)} steps")
    if context.request.dry_run:
        return finish_run(context, "planned")
    tail = control_signature("lync.finish")
    return task.replace(build_chain(record, context, the_plan.steps, tail, task.request.id))


__all__ = ["dump_context", "failover", "finish", "plan", "start_failover"]
