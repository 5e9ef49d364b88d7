"""One Celery task per plugin step (``lync.<step>``): check, act, journal, and retry, remedy or fail.

When the step's server is unreachable (cannot connect), the step moves to the next Front End of the same pool
(same site, same queue); a command that reached its server and did not complete retries there. Transient
errors retry with exponential backoff and jitter; a step waiting for a state it reads (NotReadyError) polls
every tenth of its wait so far; both until ``settings.retry_deadline_s`` after the step's first attempt. One
attempt may take ``settings.step_timeout_s`` in all. A remedy runs at most once per step; a failure ends
the run with a message naming the step, the server it ran on and the error.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, NoReturn

from celery import Task, uuid
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from plugins.decisions import default_decision
from plugins.kit.errors import NotReadyError, PreconditionError
from plugins.kit.model import Context, Decision, Facts, StepCall, StepResult, StepSpec
from plugins.kit.shell import CmdletError, CommandInterrupted, ConnectionDropped, Shell, TransportError
from plugins.manager import get_plugin_manager, step_registry
from tasks.canvas import build_chain
from tasks.context import dump_context, load_context, routed
from tasks.control import CancelAsked, cancel_of, stop_if_cancelled
from tasks.events import emit
from tasks.journaled_shell import JournaledShell
from tasks.lease import Lease, LeaseLost, held, lease_for, show_alive
from tasks.lock import keep
from tasks.outcome import cancel_run, fail_run
from tasks.record import RunRecord, now
from tasks.run import StepEntry
from worker.celery_app import app
from worker.executor import get_shell, step_deadline
from worker.quiet_refusals import QuietTask
from worker.refusals import Refusal
from worker.settings import LONGEST_COUNTDOWN_S, get_settings

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = float(LONGEST_COUNTDOWN_S)
#: The pause before a step retries after the link dropped requests that changed nothing: a drop is no failure.
DROPPED_RETRY_S = 0.5
#: A step waiting for the world (NotReadyError: replication, a failover under way) looks again after this
#: share of its wait so far, within POLL_MIN_S and POLL_MAX_S: it sees the state at most about a tenth of the
#: wait late, however long the wait (seconds in a drill, minutes in production).
POLL_SHARE = 0.1
POLL_MIN_S = 0.1
POLL_MAX_S = 10.0


def backoff_s(attempt: int) -> float:
    """Exponential backoff with full jitter on the upper half: 0.25-0.5 s, 0.5-1 s, ... up to 15-30 s."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retry_delay_s(error: Exception, attempt: int, waited_s: float) -> float:
    """How long a step waits before its next attempt, ``waited_s`` after its first: DROPPED_RETRY_S after
    dropped reads; a tenth of the wait so far for a state it awaits by reading (NotReadyError); else backoff,
    also for an act the server refused until a state is reached: each attempt sends the act again, and one
    sent just as the state arrives may be refused with nothing left to read that explains it."""
    if isinstance(error, ConnectionDropped):
        return DROPPED_RETRY_S
    if isinstance(error, NotReadyError) and not isinstance(error.__cause__, CmdletError):
        return min(POLL_MAX_S, max(POLL_MIN_S, waited_s * POLL_SHARE))
    return backoff_s(attempt)


def run_step(
    task: Task,
    spec: StepSpec,
    context_data: dict[str, Any] | list[dict[str, Any]],
    call_data: dict[str, Any],
    turn: int,
) -> dict[str, Any]:
    """Run one step call under its lease (one execution at a time), and go on with the run only once.

    ``turn`` counts the call's own retries: a copy of an older turn (Redis handed its message out again while
    it ran, and that execution went on to retry or remedy) stands down instead of running a second line.
    """
    context = load_context(context_data)
    call = StepCall.model_validate(call_data)
    lease = lease_for(context.run_id, call.id, token=uuid())
    if lease.take() is not None:  # this step runs elsewhere now: this copy stands by, and looks again
        countdown = get_settings().lease_s / 2
        show_alive(context.run_id, countdown)
        raise task.retry(countdown=countdown, max_retries=None)
    record = RunRecord(context.run_id)
    after, going_on = dump_context(context), False
    with held(lease):
        if not record.went_on(call) and record.take_turn(call, turn):
            try:
                after = execute_step(
                    task, spec, context, call, lease, turn, joined=isinstance(context_data, list)
                )
                going_on = record.go_on_once(call, after)
            except LeaseLost:
                log.warning("%s: another execution took the step over; this one stands down", call.id)
        elif (lost := record.lost_continuation(call)) is not None:
            # The execution that went on died before Celery sent the next step (or, for a member of a
            # parallel step, counted it into the chord): send it, with its context. A duplicate, should it
            # have been sent after all, stands down at the next step like a redelivery; Celery counts a chord
            # member once.
            log.warning("%s: the execution that went on was lost before the next step was sent", call.id)
            after, going_on = lost, True
    if going_on:
        task.request.went_on_from = call.id  # the next step is sent on return; StepTask.on_success says so
    else:  # another execution of this call goes (or went) on with the run
        task.request.chain = task.request.chord = None
    return after


class StepTask(QuietTask):
    """A step's task: once Celery has sent the run's next step (it does on a successful return), the
    record says so, so that no copy of the step sends it again."""

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        """Record that the continuation of the step call this execution went on from was sent."""
        call_id = getattr(self.request, "went_on_from", None)
        if call_id is not None and isinstance(retval, dict):
            RunRecord(str(retval["run_id"])).continuation_sent(str(call_id))


def execute_step(
    task: Task, spec: StepSpec, context: Context, call: StepCall, lease: Lease, turn: int, *, joined: bool
) -> dict[str, Any]:
    """Run one step call: skip it when its effect is in place, else act; return the updated context."""
    keep(context)
    word = cancel_of(context)
    if word is not None:
        end_cancelled(context, call, CancelAsked(word, f"step {call.step} on {call.server}"))
    record = RunRecord(context.run_id)
    if joined:  # after parallel steps: their facts, joined, are the run's
        record.set_facts(context.facts)
    entry = record.step_started(call, worker=task.request.hostname, task_id=task.request.id)
    attempt = entry.attempts
    first_started = entry.first_started or now()
    earlier = EarlierAct.of(entry, get_settings().step_timeout_s)
    details = {"step": call.step, "server": call.server, "attempt": attempt}
    found = context.facts
    emit("step.started", context.run_id, context.request.subject, **details)
    shell = JournaledShell(
        get_shell(),
        record,
        call,
        get_settings().journal_max_output,
        before_command=functools.partial(safe_point, context, lease),
        on_command=lambda server, command, outcome: emit(
            "command",
            context.run_id,
            context.request.subject,
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
            context.request.subject,
            **(details | {"server": server}),
            message=message,
        )

    try:
        if spec.mutating and context.request.dry_run:
            raise RuntimeError(
                f"{call.step} changes the deployment and this is a dry run: refusing to run it"
            )
        with step_deadline(get_settings().step_timeout_s):
            ran = check_and_act(spec, shell, context, call, moved, earlier)
    except LeaseLost:
        raise
    except Exception as error:
        return _handle_error(task, context, ran_on, error, attempt, first_started, turn)
    call, details["server"] = ran.call, ran.call.server
    context = ran.context
    if context.facts != found:
        record.set_facts(context.facts)
    if ran.result is None:
        record.step_ended(call, "skipped", ran.skip or "")
        emit("step.skipped", context.run_id, context.request.subject, message=ran.skip or "", **details)
        return dump_context(context)
    result = ran.result
    record.step_ended(call, "succeeded", result.summary)
    emit("step.succeeded", context.run_id, context.request.subject, message=result.summary, **details)
    return dump_context(context)


@dataclass(frozen=True)
class EarlierAct:
    """An act of the step that an earlier execution started and never ended: its worker died while it ran
    (or lost Redis). It may still be running on the server until its deadline (the step timeout)."""

    line: str
    since: datetime
    until: datetime

    @classmethod
    def of(cls, entry: StepEntry, timeout_s: float) -> EarlierAct | None:
        """The act the step's entry shows in flight, if any."""
        if not entry.acting or entry.acting_since is None:
            return None
        return cls(entry.acting, entry.acting_since, entry.acting_since + timedelta(seconds=timeout_s))

    def may_still_run(self) -> bool:
        """Whether it may still be running (acting again now could do it twice)."""
        return now() < self.until

    def waiting_reason(self, server: str) -> str:
        """Why the step waits rather than acts."""
        return (
            f"an earlier attempt's {self.line} started at {self.since:%H:%M:%S} and never ended: it may "
            f"still run on {server}; waiting for its effect until {self.until:%H:%M:%S} before acting again"
        )


class EarlierActPending(NotReadyError):
    """The step waits for the effect of an earlier act that may still run on its server."""

    def __init__(self, earlier: EarlierAct, server: str, seen: str = "") -> None:
        super().__init__(earlier.waiting_reason(server) + (f" ({seen})" if seen else ""))
        self.until = earlier.until


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
    earlier: EarlierAct | None = None,
) -> Ran:
    """The step's check, then (unless it says skip) its action, on the next Front End of the pool while
    the server cannot be reached (known unreachable ones last); ``moved(call, server, why)`` before a move.
    A server-bound step whose server cannot be reached is skipped: a dead server never holds the run.
    While an ``earlier`` act of the step may still run, the step waits for its effect instead of acting."""
    if spec.server_bound:
        return _on_its_server(spec, shell, context, call, earlier)
    others = context.topology.other_front_ends(call.server)
    unreachable = context.facts.unreachable_servers
    servers = sorted([call.server, *others], key=lambda server: server in unreachable)
    if servers[0] != call.server:
        moved(call, servers[0], f"{call.server} was unreachable earlier in this run")
    for server, following in pairwise(servers):
        current = call.model_copy(update={"server": server})
        try:
            return _check_then_act(spec, shell, context, current, earlier)
        except TransportError as error:
            if isinstance(error, CommandInterrupted) or error.server.lower() != server:
                raise
            moved(current, following, f"{server} is unreachable ({error.message})")
            if server not in unreachable:
                unreachable = [*unreachable, server]
                context = context.with_facts(Facts(unreachable_servers=unreachable))
    return _check_then_act(spec, shell, context, call.model_copy(update={"server": servers[-1]}), earlier)


def _on_its_server(
    spec: StepSpec, shell: Shell, context: Context, call: StepCall, earlier: EarlierAct | None
) -> Ran:
    """A server-bound step: on its server, or skipped saying the server is down."""
    try:
        return _check_then_act(spec, shell, context, call, earlier)
    except TransportError as error:
        if isinstance(error, CommandInterrupted) or error.server.lower() != call.server:
            raise
    unreachable = [*context.facts.unreachable_servers, call.server]
    reason = f"{call.server} is down (cannot connect): run {call.step} there once it is back"
    return Ran(call, context.with_facts(Facts(unreachable_servers=unreachable)), reason, None)


def with_result_facts(context: Context, call: StepCall, result: StepResult) -> Context:
    """The context with the facts ``result`` reports."""
    return context.with_facts(result.facts, result.own_facts)


def _check_then_act(
    spec: StepSpec, shell: Shell, context: Context, call: StepCall, earlier: EarlierAct | None
) -> Ran:
    skip = spec.check(shell, context, call) if spec.check else None
    if skip:
        return Ran(call, context, skip, None)
    ended = ""
    if earlier is not None and earlier.may_still_run() and not spec.repeatable:
        seen = spec.earlier_act(shell, context, call) if spec.earlier_act else None
        if seen is None or seen.state == "running":
            raise EarlierActPending(earlier, call.server, seen.reason if seen else "")
        if seen.state == "done":
            return Ran(call, context, None, StepResult(summary=seen.reason))
        ended = f" (an earlier attempt's act had ended without its effect: {seen.reason})"
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
    if ended:
        result = result.model_copy(update={"summary": result.summary + ended})
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
    task: Task,
    context: Context,
    call: StepCall,
    error: Exception,
    attempt: int,
    first_started: datetime,
    turn: int,
) -> dict[str, Any]:
    if isinstance(error, CancelAsked):
        end_cancelled(context, call, error)
    decision: Decision = get_plugin_manager().hook.lync_failover_classify_error(
        step=call.step, error=error, context=context
    ) or default_decision(error)
    record = RunRecord(context.run_id)
    details = {"step": call.step, "server": call.server, "attempt": attempt}
    reason = decision.reason
    if decision.action == "retry":
        elapsed = (now() - first_started).total_seconds()
        if elapsed < _retry_deadline_s(error, first_started):
            record.step_retrying(call, reason, waiting=isinstance(error, NotReadyError))
            emit("step.retry", context.run_id, context.request.subject, message=reason, **details)
            countdown = retry_delay_s(error, attempt, elapsed)
            show_alive(context.run_id, countdown)
            record.pass_turn(call, turn + 1)
            raise task.retry(
                countdown=countdown, max_retries=None, kwargs={**task.request.kwargs, "turn": turn + 1}
            )
        reason = f"gave up after {attempt} attempts in {elapsed:.0f} s: {reason}"
    elif decision.action == "remediate":
        if call.remedies == 0 and decision.remedy:
            record.step_remedying(call, reason)
            emit("step.remedy", context.run_id, context.request.subject, message=reason, **details)
            again = call.model_copy(update={"remedies": call.remedies + 1})
            record.pass_turn(again, 0)
            remedy = [routed(step) for step in decision.remedy]
            return task.replace(build_chain(record, context, [*remedy, again], None, task.request.id))  # type: ignore[no-any-return]
        reason = f"the remedy did not help: {reason}"
    fail_run(context, call, reason)


def safe_point(context: Context, lease: Lease, before: str) -> None:
    """Before each command a step sends: stop if another execution took the step over, or if an operator
    cancelled the run."""
    lease.ensure_held(before)
    stop_if_cancelled(context, before)


def _retry_deadline_s(error: Exception, first_started: datetime) -> float:
    """How long after its first attempt a step may retry: the retry deadline, or for a wait on an earlier
    act, until that act's own deadline has passed (then the step acts again)."""
    deadline = float(get_settings().retry_deadline_s)
    if isinstance(error, EarlierActPending):
        deadline = max(deadline, (error.until - first_started).total_seconds() + BACKOFF_MAX_S)
    return deadline


def end_cancelled(context: Context, call: StepCall, asked: CancelAsked) -> NoReturn:
    """An operator cancelled the run: the step ends cancelled where it stood, and so does the run."""
    RunRecord(context.run_id).step_ended(call, "cancelled", str(asked))
    cancel_run(context, asked.word.by, f"run {context.run_id} {asked}")


def _register(spec: StepSpec) -> None:
    @app.task(  # type: ignore[untyped-decorator]
        name=f"lync.{spec.name}",
        base=StepTask,
        bind=True,
        acks_late=True,
        max_retries=None,
        throws=(Refusal,),
    )
    def step_task(
        self: Task, context: dict[str, Any] | list[dict[str, Any]], call: dict[str, Any], turn: int = 0
    ) -> dict[str, Any]:
        return run_step(self, spec, context, call, turn)


for _spec in step_registry(get_plugin_manager()).values():
    _register(_spec)
