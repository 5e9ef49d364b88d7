"""How a run ends: the report, the record, the lock and the last event."""

from __future__ import annotations

from typing import Any, NoReturn

from plugins.kit.errors import PreconditionError
from plugins.kit.model import Context, StepCall
from tasks.events import emit
from tasks.lock import release
from tasks.record import RunRecord, get_run, redis_client
from tasks.run import Report, RunState


class RunFailed(Exception):
    """The run stopped; the message names the step, the server, the error and what to do."""


class RunRefused(Exception):
    """Another run already fails this pool over; the message names it."""


def report_of(run_id: str) -> Report:
    """The run's report, from its record."""
    run = get_run(run_id)
    assert run is not None, f"run {run_id} has no record"
    return Report.of(run)


def finish_run(context: Context, state: RunState) -> dict[str, Any]:
    """Record the end, release the pool's lock, tell the plugins; return the report (as JSON for Celery)."""
    record = RunRecord(context.run_id)
    record.set_facts(context.facts)
    record.finish(state)
    release(redis_client(), context.failed_pool, context.run_id)
    emit("run.succeeded", context.run_id, context.failed_pool, message=state)
    return report_of(context.run_id).model_dump(mode="json")


def fail_run(context: Context, call: StepCall, reason: str) -> NoReturn:
    """Record the failed step and the run's end, release the lock, tell the plugins, and raise RunFailed."""
    RunRecord(context.run_id).step_ended(call, "failed", reason)
    emit(
        "step.failed", context.run_id, context.failed_pool, step=call.step, server=call.server, message=reason
    )
    message = f"run {context.run_id} stopped at step {call.step} on {call.server}: {reason}"
    _stop(context, message, step=call.step, server=call.server)


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
    _stop(context, f"run {context.run_id} stopped while planning the {phase} phase: {reason}")


def _stop(context: Context, message: str, **details: str) -> NoReturn:
    record = RunRecord(context.run_id)
    record.set_facts(context.facts)
    record.finish("failed", error=message)
    release(redis_client(), context.failed_pool, context.run_id)
    emit("run.failed", context.run_id, context.failed_pool, message=message, **details)
    raise RunFailed(message)
