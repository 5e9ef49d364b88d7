"""The operator's tasks: a run's pause before a phase (``lync.gate``), and cancel, approve and reject as
Celery tasks (``celery -A worker call lync.cancel --args '["RUN"]'``), the same as the console's commands."""

from __future__ import annotations

from typing import Any

from celery import Task

from tasks.context import load_context
from tasks.control import answer, answer_at, ask_cancel, cancel_of
from tasks.events import emit
from tasks.lease import show_alive
from tasks.lock import keep
from tasks.outcome import cancel_run
from tasks.record import RunRecord, get_run, now
from tasks.run import Gate
from worker.celery_app import app
from worker.refusals import AwaitingApproval, Refusal

#: How often a paused run looks for the operator's answer.
GATE_POLL_S = 2.0
#: Who a Celery call's word is from, unless it says.
CELERY_CALLER = "celery call"


@app.task(name="lync.gate", bind=True, acks_late=True, max_retries=None, throws=(Refusal,))  # type: ignore[untyped-decorator]
def gate(self: Task, context: dict[str, Any] | list[dict[str, Any]], phase: str) -> Any:
    """Hold the run before ``phase`` until an operator approves (it goes on) or rejects it (it ends
    cancelled); the wait outlives workers (a retry in Redis, the answer in Redis)."""
    run = load_context(context)
    keep(run)
    record = RunRecord(run.run_id)
    word = cancel_of(run)
    if word is not None:
        cancel_run(
            run, word.by, f"run {run.run_id} cancelled by {word.by} while it waited before phase {phase}"
        )
    said = answer_at(run.run_id, phase)
    found = get_run(run.run_id)
    waiting = next((g for g in found.gates if g.phase == phase), None) if found is not None else None
    if said is None:
        if waiting is None:
            record.set_gate(Gate(phase=phase, since=now()))
            emit(
                "run.paused", run.run_id, run.request.subject, message=f"waiting for approval before {phase}"
            )
        show_alive(run.run_id, GATE_POLL_S)
        message = (
            f"run {run.run_id} waits for approval before phase {phase}: lync-failover approve {run.run_id} "
            f"(or reject)"
        )
        raise self.retry(countdown=GATE_POLL_S, max_retries=None, exc=AwaitingApproval(message))
    since = waiting.since if waiting is not None else said.at
    record.set_gate(
        Gate(
            phase=phase,
            state="approved" if said.approved else "rejected",
            since=since,
            by=said.by,
            at=said.at,
            reason=said.reason,
        )
    )
    if not said.approved:
        why = f": {said.reason}" if said.reason else ""
        cancel_run(run, said.by, f"run {run.run_id} rejected by {said.by} before phase {phase}{why}")
    emit("run.approved", run.run_id, run.request.subject, message=f"{phase} approved by {said.by}")
    return context


@app.task(name="lync.cancel", throws=(Refusal,))  # type: ignore[untyped-decorator]
def cancel(run_id: str, by: str = CELERY_CALLER) -> str:
    """Ask the run to stop at its next safe point."""
    ask_cancel(run_id, by)
    return f"run {run_id}: cancel asked by {by}; it stops at its next safe point"


@app.task(name="lync.approve", throws=(Refusal,))  # type: ignore[untyped-decorator]
def approve(run_id: str, by: str = CELERY_CALLER) -> str:
    """Let the run go on past its pause."""
    phase = answer(run_id, approve=True, by=by)
    return f"run {run_id}: phase {phase} approved by {by}"


@app.task(name="lync.reject", throws=(Refusal,))  # type: ignore[untyped-decorator]
def reject(run_id: str, by: str = CELERY_CALLER, reason: str = "") -> str:
    """End the run at its pause, cancelled."""
    phase = answer(run_id, approve=False, by=by, reason=reason)
    return f"run {run_id}: rejected by {by} before phase {phase}"
