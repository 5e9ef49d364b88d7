"""How a run ends: the report, the record, the locks, what to remember, and the last event."""

from __future__ import annotations

from typing import Any, Literal, NoReturn

from plugins.kit.errors import PreconditionError
from plugins.kit.model import Context, StepCall
from plugins.kit.requests import FailbackRequest, ReadinessRequest, Request
from tasks.events import emit
from tasks.lock import release_all
from tasks.memory import forget_edge_moves, remember_edge_moves, remember_readiness
from tasks.record import RunRecord, get_run, redis_client, run_key
from tasks.run import Report, RunState
from worker.refusals import RunCancelled, RunFailed


def report_of(run_id: str) -> Report:
    """The run's report, from its record."""
    run = get_run(run_id)
    if run is None:
        raise RunFailed(
            f"run {run_id} has no record in Redis any more (lost with a Redis failover, or expired): its "
            "steps ran; see each server's own logs for what they did"
        )
    return Report.of(run)


def finish_run(context: Context, state: RunState) -> dict[str, Any]:
    """Record the end, remember what a later run needs, release the locks, tell the plugins; return the
    report (as JSON for Celery)."""
    record = RunRecord(context.run_id)
    record.set_facts(context.facts)
    record.finish(state)
    if state == "succeeded":
        remember(context)
    release_all(context)
    tell_site_run(context)
    emit("run.succeeded", context.run_id, context.request.subject, message=state)
    return report_of(context.run_id).model_dump(mode="json")


def pool_ended_key(site_run_id: str) -> str:
    """The ids of a site run's pool runs that ended, each pushed as it ends: the site run waits on it."""
    return f"{run_key(site_run_id)}:pool_ended"


def tell_site_run(context: Context) -> None:
    """A pool's run in a site run ended: wake the site run, which waits for its pools (tasks/site.py)."""
    request = context.request
    if isinstance(request, Request) and request.parent is not None:
        pipe = redis_client().pipeline(transaction=False)
        pipe.rpush(pool_ended_key(request.parent), context.run_id)
        pipe.expire(pool_ended_key(request.parent), RunRecord(context.run_id).ttl)
        pipe.execute()


def remember(context: Context) -> None:
    """A failover's Edge moves are kept for the failback; a failback forgets those it moved back; a
    readiness check is the last one, and each of its failed checks is an event (sites page someone)."""
    request, moves = context.request, context.facts.edge_moves
    if isinstance(request, ReadinessRequest):
        remember_readiness(context.run_id)
        for finding in context.facts.findings:
            if not finding.ok:
                about = f"{finding.pool}: " if finding.pool else ""
                message = f"{about}{finding.check}: {finding.detail}. {finding.fix}".strip()
                emit("readiness.failed", context.run_id, request.subject, message=message)
    elif isinstance(request, FailbackRequest):
        forget_edge_moves(request.pool, [move.edge_pool for move in moves if move.to_pool == request.pool])
    elif not request.dry_run:
        remember_edge_moves(moves)


def fail_run(context: Context, call: StepCall, reason: str) -> NoReturn:
    """Record the failed step and the run's end, release the lock, tell the plugins, and raise RunFailed."""
    RunRecord(context.run_id).step_ended(call, "failed", reason)
    subject = context.request.subject
    emit("step.failed", context.run_id, subject, step=call.step, server=call.server, message=reason)
    message = f"run {context.run_id} stopped at step {call.step} on {call.server}: {reason}"
    stop_run(context, message, step=call.step, server=call.server)


def fail_planning(context: Context, phase: str, error: Exception) -> NoReturn:
    """Planning ``phase`` raised ``error``: record the run's end, release the lock, tell the plugins, raise.

    A PreconditionError's message is the plugin's word on what to do; any other error is named by type.
    """
    if isinstance(error, PreconditionError):
        reason = str(error)
    else:
        text = error.args[0] if isinstance(error, KeyError) and error.args else error
        reason = (
            f"{type(error).__name__}: {text}. This run changed nothing: check that the inventory lists every "
            "pool and server of the deployment (docs/inventory.md) and that site plugins are up to date, "
            "then run again"
        )
    stop_run(context, f"run {context.run_id} stopped while planning the {phase} phase: {reason}")


def cancel_run(context: Context, by: str, message: str) -> NoReturn:
    """End the run as cancelled by ``by`` (a cancel, or a rejection at a pause); raise RunCancelled."""
    _end(context, "cancelled", message, cancelled_by=by)
    raise RunCancelled(message)


def stop_run(context: Context, message: str, **details: str) -> NoReturn:
    """End the run as failed; raise RunFailed(message)."""
    _end(context, "failed", message, **details)
    raise RunFailed(message)


def _end(
    context: Context,
    state: Literal["failed", "cancelled"],
    message: str,
    cancelled_by: str = "",
    **details: str,
) -> None:
    """Record the end, remember the Edge moves made so far (a failback must know them), release the locks,
    tell the plugins (``run.failed``, ``run.cancelled``)."""
    record = RunRecord(context.run_id)
    record.set_facts(context.facts)
    record.finish(state, error=message, cancelled_by=cancelled_by)
    if not isinstance(context.request, FailbackRequest):
        remember(context)
    release_all(context)
    tell_site_run(context)
    emit(
        "run.failed" if state == "failed" else "run.cancelled",
        context.run_id,
        context.request.subject,
        message=message,
        **details,
    )
