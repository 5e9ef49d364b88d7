"""How a run ends: the report, the record, the lock and the last event."""

from __future__ import annotations

from typing import Any, NoReturn

from plugins.kit.errors import PreconditionError
from plugins.kit.model import Context, StepCall
from tasks.events import emit
from tasks.lock import release
from tasks.record import RunRecord, get_run, now, redis_client


class RunFailed(Exception):
    """The run stopped; the message names the step, the server, the error and what to do."""


class RunRefused(Exception):
    """Another run already fails this pool over; the message names it."""


def report(context: Context, state: str, error: str = "") -> dict[str, Any]:
    """The run's report: request, facts, plan, each step's outcome, and the verification results."""
    run = get_run(context.run_id) or {}
    plan = run.get("plan", {}).get("steps", [])
    final_facts = context.facts.model_dump(mode="json")
    steps = [
        {key: step.get(key) for key in ("id", "state", "server", "worker", "attempts", "summary", "error")}
        for step in run.get("steps", [])
    ]
    report: dict[str, Any] = {
        "run_id": context.run_id,
        "state": state,
        "pool": context.failed_pool,
        "target": context.facts.backup_pool,
        "dry_run": context.request.dry_run,
        "request": context.request.model_dump(mode="json"),
        # The facts the plan rests on (as discovered); the steps update them as they act.
        "facts": run.get("plan", {}).get("facts") or final_facts,
        "final_facts": final_facts,
        "plan": plan,
        "steps": steps,
        "verification": [
            step.get("summary") for step in run.get("steps", []) if step.get("phase") == "verify"
        ],
    }
    if error:
        report["error"] = error
    return report


def finish_run(context: Context, state: str) -> dict[str, Any]:
    """Record the report, release the pool's lock, tell the plugins; return the report."""
    result = report(context, state)
    RunRecord(context.run_id).finish(state, result)
    release(redis_client(), context.failed_pool, context.run_id)
    emit("run.succeeded", context.run_id, context.failed_pool, message=state)
    return result


def fail_run(context: Context, call: StepCall, reason: str) -> NoReturn:
    """Record the failed step and the run's end, release the lock, tell the plugins, and raise RunFailed."""
    RunRecord(context.run_id).update_step(call, state="failed", error=reason, ended=now())
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
    RunRecord(context.run_id).finish("failed", report(context, "failed", message), error=message)
    release(redis_client(), context.failed_pool, context.run_id)
    emit("run.failed", context.run_id, context.failed_pool, message=message, **details)
    raise RunFailed(message)
