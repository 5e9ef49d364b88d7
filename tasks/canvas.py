"""Build the chains a run executes, celery-director style: ids up front, recorded before sending.

Every signature carries its queue explicitly (a queue set on a task is not carried along a chain). The
last signature of a replacement chain takes the replaced task's id (``Task.replace``), so it gets no id here.
"""

from __future__ import annotations

from typing import Any

from celery import chain, uuid
from celery.canvas import Signature

from plugins.kit.model import Context, StepCall
from tasks.context import dump_context
from tasks.record import RunRecord
from worker.celery_app import app
from worker.inventory import get_inventory


def build_chain(
    record: RunRecord, context: Context, calls: list[StepCall], tail: Signature | None, replaced_id: str
) -> Signature:
    """``chain(calls..., tail)``, each call recorded with its task id before anything is sent; the last
    signature inherits ``replaced_id`` (the task being replaced)."""
    record.queue_steps(calls)
    signatures: list[Signature] = []
    for index, call in enumerate(calls):
        last = tail is None and index == len(calls) - 1
        task_id = replaced_id if last else uuid()
        signature = step_signature(call, context if index == 0 else None)
        signatures.append(signature if last else signature.set(task_id=task_id))
        record.assign_task(call, task_id)
    if tail is not None:
        if not signatures:
            tail = tail.clone(args=(dump_context(context),))
        signatures.append(tail)
    return chain(*signatures)


def step_signature(call: StepCall, context: Context | None) -> Signature:
    """The signature of one step call, routed to its server's site; readable, secret-free reprs for Flower."""
    args: tuple[Any, ...] = (dump_context(context),) if context is not None else ()
    return app.signature(
        f"lync.{call.step}",
        args=args,
        kwargs={"call": call.model_dump(mode="json")},
        queue=call.queue,
        argsrepr="(<context>,)",
        kwargsrepr=repr({"call": call.id}),
    )


def control_signature(name: str, context: Context | None = None, **kwargs: Any) -> Signature:
    """A run-level task (``lync.plan``, ``lync.finish``) on the control queue."""
    args: tuple[Any, ...] = (dump_context(context),) if context is not None else ()
    return app.signature(
        name,
        args=args,
        kwargs=kwargs,
        queue=get_inventory().control_queue,
        argsrepr="(<context>,)",
        kwargsrepr=repr(kwargs),
    )
