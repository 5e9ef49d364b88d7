"""An operator's hand on a running run: cancel it, or approve or reject it where it pauses before a phase.

The word is written to Redis (it outlives any worker) and read by the run at its safe points: before each
step, before each command a step sends, at each pause, while a site run waits for its pools. A command
already sent runs to its end: stopping Invoke-CsPoolFailover midway leaves the pool FailingOver, worse than
letting it finish.
"""

from __future__ import annotations

from datetime import datetime

import redis
from pydantic import BaseModel, ConfigDict

from plugins.kit.model import Context
from plugins.kit.requests import Request
from tasks.record import get_run, now, redis_client, run_key
from tasks.run import Run
from worker.refusals import RequestError

#: How long an operator's word is kept in Redis (a week: longer than any run).
KEPT_S = 7 * 24 * 3600


class Word(BaseModel):
    """What an operator said, who, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str
    at: datetime
    reason: str = ""


class Answer(Word):
    """An operator's answer at a pause."""

    approved: bool


class CancelAsked(Exception):
    """An operator asked the run to stop: raised at the next safe point, ``before`` what."""

    def __init__(self, word: Word, before: str) -> None:
        super().__init__(f"cancelled by {word.by} at {word.at:%H:%M:%S}; it stopped before {before}")
        self.word = word


def cancel_key(run_id: str) -> str:
    """Set when an operator cancels the run."""
    return f"{run_key(run_id)}:cancel"


def answer_key(run_id: str, phase: str) -> str:
    """An operator's answer at the run's pause before ``phase``: approved or rejected."""
    return f"{run_key(run_id)}:gate:{phase}"


def ask_cancel(run_id: str, by: str, client: redis.Redis | None = None) -> Run:
    """Ask a running run (and a site run's pool runs) to stop at its next safe point; the run."""
    client = client or redis_client()
    run = running(run_id, client)
    word = Word(by=by, at=now()).model_dump_json()
    for target in [run_id, *run.children.values()]:
        client.set(cancel_key(target), word, nx=True, ex=KEPT_S)
    return run


def cancel_asked(run_id: str, parent: str | None = None, client: redis.Redis | None = None) -> Word | None:
    """The operator's word when the run (or the site run it is part of, ``parent``) was asked to stop."""
    client = client or redis_client()
    for asked in (run_id, parent):
        raw = client.get(cancel_key(asked)) if asked is not None else None
        if raw:
            return Word.model_validate_json(str(raw))
    return None


def cancel_of(context: Context) -> Word | None:
    """The operator's word when the run, or the site run it is part of, was asked to stop."""
    request = context.request
    return cancel_asked(context.run_id, request.parent if isinstance(request, Request) else None)


def stop_if_cancelled(context: Context, before: str) -> None:
    """A safe point (``before`` what): raise CancelAsked when the run was asked to stop."""
    word = cancel_of(context)
    if word is not None:
        raise CancelAsked(word, before)


def answer(run_id: str, approve: bool, by: str, reason: str = "", client: redis.Redis | None = None) -> str:
    """Approve or reject the run where it waits (a site run: its pool runs waiting too); the phase."""
    client = client or redis_client()
    run = running(run_id, client)
    waiting = [(run_id, run)] + [
        (child_id, child)
        for child_id in run.children.values()
        if (child := get_run(child_id, client)) is not None and child.waiting_gate is not None
    ]
    gates = [(target, found.waiting_gate) for target, found in waiting if found.waiting_gate is not None]
    if not gates:
        raise RequestError(
            f"run {run_id} is not waiting for approval (it pauses only before the phases it was started "
            "with --pause-before): nothing to approve or reject"
        )
    said = Answer(by=by, at=now(), reason=reason, approved=approve).model_dump_json()
    for target, gate in gates:
        client.set(answer_key(target, gate.phase), said, ex=KEPT_S)
    return gates[0][1].phase


def answer_at(run_id: str, phase: str, client: redis.Redis | None = None) -> Answer | None:
    """The operator's answer at the pause before ``phase``; None while it waits."""
    raw = (client or redis_client()).get(answer_key(run_id, phase))
    return Answer.model_validate_json(str(raw)) if raw else None


def running(run_id: str, client: redis.Redis) -> Run:
    """The run, refused unless it exists and still runs."""
    run = get_run(run_id, client)
    if run is None:
        raise RequestError(f"no run {run_id} in Redis: lync-failover runs lists the runs it keeps")
    if run.state != "running":
        raise RequestError(f"run {run_id} already ended ({run.state}): there is nothing to stop or approve")
    return run
