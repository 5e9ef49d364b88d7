"""An operator's hand on a running run: ``cancel``, and ``approve`` or ``reject`` where it pauses."""

from __future__ import annotations

import getpass
import socket
from typing import Annotated

import typer

from tasks.control import answer, ask_cancel
from worker.console import preflight
from worker.console.app import RunId, app, console, fail
from worker.refusals import RequestError

By = Annotated[
    str | None,
    typer.Option("--by", help="Who decides, for the record (default: your user name on this host)."),
]


def operator(by: str | None) -> str:
    """Who decides: ``--by``, else ``user@host``."""
    return by or f"{getpass.getuser()}@{socket.gethostname()}"


@app.command()
def cancel(run_id: RunId, by: By = None) -> None:
    """Stop a run at its next safe point: the command under way completes, no later command or step starts,
    the lock is released, the record says cancelled and by whom (a site run: its pools' runs too)."""
    preflight.redis_reachable()
    try:
        ask_cancel(run_id, operator(by))
    except RequestError as error:
        fail(error.message)
    console.print(
        f"Run {run_id}: cancel asked; it stops at its next safe point (lync-failover watch {run_id})."
    )


@app.command()
def approve(run_id: RunId, by: By = None) -> None:
    """Let a run paused before a phase (--pause-before) go on."""
    preflight.redis_reachable()
    try:
        phase = answer(run_id, approve=True, by=operator(by))
    except RequestError as error:
        fail(error.message)
    console.print(f"Run {run_id}: phase {phase} approved; it goes on.")


@app.command()
def reject(
    run_id: RunId,
    by: By = None,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
) -> None:
    """End a run paused before a phase (--pause-before): it changes nothing more and ends cancelled."""
    preflight.redis_reachable()
    try:
        phase = answer(run_id, approve=False, by=operator(by), reason=reason)
    except RequestError as error:
        fail(error.message)
    console.print(f"Run {run_id}: rejected before phase {phase}; it ends cancelled.")
