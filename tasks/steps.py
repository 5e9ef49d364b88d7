"""One Celery task per plugin step (``lync.<step>``): check, act, journal, and retry, remedy or fail.

When the step's server is unreachable (cannot connect), the step moves to the next Front End of the same pool
(same site, same queue); a command that reached its server and did not complete retries there. Transient
errors retry with exponential backoff and jitter until ``settings.retry_deadline_s`` after the step's first
attempt; one attempt may take ``settings.step_timeout_s`` in all. A remedy runs at most once per step; a
failure ends the run with a message naming the step, the server it ran on and the error.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from celery import Task
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from plugins.decisions import default_decision
from plugins.kit.errors import NotReadyError, PreconditionError
from plugins.kit.model import Context, Decision, Facts, StepCall, StepResult, StepSpec
from plugins.kit.shell import CmdletError, CommandInterrupted, Shell, TransportError
from plugins.manager import get_plugin_manager, step_registry
from tasks.canvas import build_chain
from tasks.context import dump_context, load_context, routed
from tasks.events import emit
from tasks.journaled_shell import JournaledShell
from tasks.lock import keep
from tasks.outcome import fail_run
from tasks.record import RunRecord, now
from worker.celery_app import app
from worker.executor import get_shell, step_deadline
from worker.settings import get_settings

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0


def backoff_s(attempt: int) -> float:
    """Exponential backoff with full jitter on the upper half: 0.25-0.5 s, 0.5-1 s, ... up to 15-30 s."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def run_step(
    task: Task, spec: StepSpec, context_data: dict[str, Any], call_data: dict[str, Any]
) -> dict[str, Any]:
    """Run one step call: skip it when its effect is in place, else act; return the updated context."""
    context = load_context(context_data)
    call = StepCall.model_validate(call_data)
    keep(context)
    record = RunRecord(context.run_id)
    entry = record.step_started(call, worker=task.request.hostname, task_id=task.request.id)
    attempt = entry.attempts
    first_started = entry.first_started or now()
    details = {"step": call.step, "server": call.server, "attempt": attempt}
    found = context.facts
    emit("step.started", context.run_id, context.failed_pool, **details)
    shell = JournaledShell(
        get_shell(),
        record,
        call.id,
        get_settings().journal_max_output,
        on_command=lambda server, command, outcome: emit(
            "command",
            context.run_id,
            context.failed_pool,
            step=call.step,
            server=server,
            message=f"{command}: {outcome}",
        ),
    )

    ran_on = call  # the call with the server the step is running on: where it fails, if it fails

    def moved(failed: StepCall, server: str, reason: str) -> None:
        nonlocal ran_on
        ran_on = failed.model_copy(update={"server": server})
        record.step_moved(failed, server)
        message = f"{reason}: moved to {server}"
        emit(
            "step.moved",
            context.run_id,
            context.failed_pool,
            **(details | {"server": server}),
            message=message,
        )

    try:
        if spec.mutating and context.request.dry_run:
            raise RuntimeError(
                f"{call.step} changes the deployment and this is a dry run: refusing to run it"
            )
        with step_deadline(get_settings().step_timeout_s):
            ran = check_and_act(spec, shell, context, call, moved)
    except Exception as error:
        return _handle_error(task, context, ran_on, error, attempt, first_started)
    call, details["server"] = ran.call, ran.call.server
    context = ran.context
    if context.facts != found:
        record.set_facts(context.facts)
    if ran.result is None:
        record.step_ended(call, "skipped", ran.skip or "")
        emit("step.skipped", context.run_id, context.failed_pool, message=ran.skip or "", **details)
        return dump_context(context)
    result = ran.result
    record.step_ended(call, "succeeded", result.summary)
    emit("step.succeeded", context.run_id, context.failed_pool, message=result.summary, **details)
    return dump_context(context)


@dataclass(frozen=True)
class Ran:
    """How a step call ran: on which server (``call``), with which context, skipped or with a result."""

    call: StepCall
    context: Context
    skip: str | None
    result: StepResult | None


def check_and_act(
    spec: StepSpec,
    shell: Shell,
    context: Context,
    call: StepCall,
    moved: Callable[[StepCall, str, str], None],
) -> Ran:
    """The step's check, then (unless it says skip) its action, on the next Front End of the pool while
    the server cannot be reached (known unreachable ones last); ``moved(call, server, why)`` before a move."""
    others = [] if spec.server_bound else context.topology.other_front_ends(call.server)
    unreachable = context.facts.unreachable_servers
    servers = sorted([call.server, *others], key=lambda server: server in unreachable)
    if servers[0] != call.server:
        moved(call, servers[0], f"{call.server} was unreachable earlier in this run")
    for server, following in pairwise(servers):
        current = call.model_copy(update={"server": server})
        try:
            return _check_then_act(spec, shell, context, current)
        except TransportError as error:
            if isinstance(error, CommandInterrupted) or error.server.lower() != server:
                raise
            moved(current, following, f"{server} is unreachable ({error.message})")
            if server not in unreachable:
                unreachable = [*unreachable, server]
                context = context.with_facts(Facts(unreachable_servers=unreachable))
    return _check_then_act(spec, shell, context, call.model_copy(update={"server": servers[-1]}))


def with_result_facts(context: Context, call: StepCall, result: StepResult) -> Context:
    """The context with the facts ``result`` reports."""
    return context.with_facts(result.facts, result.own_facts)


def _check_then_act(spec: StepSpec, shell: Shell, context: Context, call: StepCall) -> Ran:
    skip = spec.check(shell, context, call) if spec.check else None
    if skip:
        return Ran(call, context, skip, None)
    try:
        result = spec.action(shell, context, call)
    except CmdletError as error:
        if not spec.mutating:
            raise
        return _decided_by_the_world(spec, shell, context, call, error)
    except ValidationError as error:
        if error.title not in (Facts.__name__, StepResult.__name__):
            raise
        problems = "; ".join(_fact_problem(problem) for problem in error.errors())
        raise PreconditionError(
            f"step {call.step} returned facts the run cannot keep ({problems}): StepResult.facts accepts "
            "only Facts fields (plugins.kit.model.Facts); a plugin keeps facts of its own in a PluginFacts "
            "subclass (StepResult.own_facts). Its action has run: fix the plugin, then run again"
        ) from None
    return Ran(call, with_result_facts(context, call, result), None, result)


def _decided_by_the_world(
    spec: StepSpec, shell: Shell, context: Context, call: StepCall, error: CmdletError
) -> Ran:
    """A mutating step's command failed: decide from the world, never from the error's wording. Its effect
    in place (its check, again) is success, e.g. an earlier attempt completed; else the step's diagnosis
    re-reads what it depends on and says why (retry, remedy or fail); else the error stands."""
    done = spec.check(shell, context, call) if spec.check else None
    if done:
        summary = f"{done} (its command reported: {' '.join(error.message.split())})"
        return Ran(call, context, None, StepResult(summary=summary))
    explained = spec.diagnose(shell, context, call, error) if spec.diagnose else None
    if explained is not None:
        raise explained from error
    raise error


def _fact_problem(problem: ErrorDetails) -> str:
    key = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        return f"{key!r} is not a Facts field"
    return f"{key!r}: {problem['msg']}"


def _handle_error(
    task: Task, context: Context, call: StepCall, error: Exception, attempt: int, first_started: datetime
) -> dict[str, Any]:
    decision: Decision = get_plugin_manager().hook.lync_failover_classify_error(
        step=call.step, error=error, context=context
    ) or default_decision(error)
    record = RunRecord(context.run_id)
    details = {"step": call.step, "server": call.server, "attempt": attempt}
    reason = decision.reason
    if decision.action == "retry":
        elapsed = (now() - first_started).total_seconds()
        if elapsed < get_settings().retry_deadline_s:
            record.step_retrying(call, reason, waiting=isinstance(error, NotReadyError))
            emit("step.retry", context.run_id, context.failed_pool, message=reason, **details)
            raise task.retry(countdown=backoff_s(attempt), max_retries=None)
        reason = f"gave up after {attempt} attempts in {elapsed:.0f} s: {reason}"
    elif decision.action == "remediate":
        if call.remedies == 0 and decision.remedy:
            record.step_remedying(call, reason)
            emit("step.remedy", context.run_id, context.failed_pool, message=reason, **details)
            again = call.model_copy(update={"remedies": call.remedies + 1})
            remedy = [routed(step) for step in decision.remedy]
            return task.replace(build_chain(record, context, [*remedy, again], None, task.request.id))  # type: ignore[no-any-return]
        reason = f"the remedy did not help: {reason}"
    fail_run(context, call, reason)


def _register(spec: StepSpec) -> None:
    @app.task(name=f"lync.{spec.name}", bind=True, acks_late=True, max_retries=None)  # type: ignore[untyped-decorator]
    def step_task(self: Task, context: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
        return run_step(self, spec, context, call)


for _spec in step_registry(get_plugin_manager()).values():
    _register(_spec)
