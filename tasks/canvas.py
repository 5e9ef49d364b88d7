"""Build the chains a run executes, celery-director style: ids up front, recorded before sending.

Every signature carries its queue explicitly (a queue set on a task is not carried along a chain). The
last signature of a replacement chain takes the replaced task's id (``Task.replace``), so it gets no id here.
Calls of a parallel step (``StepSpec.parallel``) that stand next to each other run as one Celery group: each
on its own worker, the chain going on when all are done.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from celery import chain, group, uuid
from celery.canvas import Signature

from plugins.kit.model import Context, StepCall
from plugins.manager import get_plugin_manager, step_registry
from tasks.context import dump_context
from tasks.record import RunRecord
from worker.celery_app import app
from worker.inventory import get_inventory


def build_chain(
    record: RunRecord,
    context: Context,
    calls: list[StepCall],
    tail: Signature | None,
    replaced_id: str,
    pause_before: Collection[str] = (),
) -> Signature:
    """``chain(calls..., tail)``, each call recorded with its task id before anything is sent; the last
    signature inherits ``replaced_id`` (the task being replaced). A ``lync.gate`` stands before the first
    call of each phase in ``pause_before``."""
    signatures: list[Signature] = []
    task_ids: dict[str, str] = {}
    paused: set[str] = set()
    for stage in _stages(calls, last_alone=tail is None):
        phase = stage[0].phase
        if phase in pause_before and phase not in paused:
            paused.add(phase)
            signatures.append(control_signature("lync.gate", phase=phase))
        members = []
        for call in stage:
            last = tail is None and call is calls[-1]
            task_ids[call.id] = replaced_id if last else uuid()
            signature = step_signature(call, None)
            members.append(signature if last else signature.set(task_id=task_ids[call.id]))
        signatures.append(members[0] if len(members) == 1 else group(members))
    record.queue_steps(calls, task_ids)
    if tail is not None:
        signatures.append(tail)
    signatures[0] = _given(signatures[0], context)
    return chain(*signatures)


def _given(first: Signature, context: Context) -> Signature:
    """The chain's first signature (or each member of a first group) with the run's context."""
    data = (dump_context(context),)
    if isinstance(first, group):
        return group([member.clone(args=data) for member in first.tasks])
    return first.clone(args=data)


def _stages(calls: list[StepCall], *, last_alone: bool) -> list[list[StepCall]]:
    """The calls in order, the neighbouring calls of one parallel step together (never the chain's last
    call, which takes the replaced task's id)."""
    parallel = {name for name, spec in step_registry(get_plugin_manager()).items() if spec.parallel}
    stages: list[list[StepCall]] = []
    for index, call in enumerate(calls):
        alone = last_alone and index == len(calls) - 1
        previous = stages[-1][-1] if stages else None
        if previous is not None and not alone and call.step in parallel and previous.step == call.step:
            stages[-1].append(call)
        else:
            stages.append([call])
    return stages


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
