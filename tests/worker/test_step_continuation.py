"""The run goes on after a step even when the execution that went on from it dies before Celery sends the
next step (the reliability suite's lost worker found a site run stalled so): a copy of the step sends it, with
the context that execution went on with; once Celery has sent it, a copy stands down.

The window (between the step's return and Celery's publish) cannot be hit on purpose, so the record is left
as that execution leaves it, in a real Redis, and the real step task's run_step takes the copy's place.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from plugins.kit.model import Context, Facts, Topology, step_call
from plugins.kit.requests import Request
from plugins.manager import get_plugin_manager, step_registry
from tasks.context import dump_context
from tasks.record import RunRecord
from tasks.steps import run_step
from worker.celery_app import app, configure

CALL = step_call("pool.fail_over", "pool", "fe01.pool2.contoso.com")
CONTEXT = Context(
    run_id="run-continuation", request=Request(pool="pool1.contoso.com"), topology=Topology(pools=[])
)
#: The rest of the run as Celery carries it in the step's message (next step last).
CHAIN = [{"task": "lync.finish", "args": [], "kwargs": {}, "options": {}}]


@pytest.fixture
def record(on_test_redis: None, redis_client: redis.Redis) -> RunRecord:
    """A running run's record; this process's settings on the test's Redis and a small inventory."""
    run = RunRecord(CONTEXT.run_id, redis_client)
    run.create(CONTEXT.request)
    return run


def copy_of_the_step(chord: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any, Any]:
    """What a redelivered copy of the step returns, and the chain and chord it leaves for Celery (``chord``:
    the step is a member of a parallel step, and this the step after it)."""
    task = app.tasks[f"lync.{CALL.step}"]
    spec = step_registry(get_plugin_manager())[CALL.step]
    chain = None if chord else list(CHAIN)
    task.push_request(id="copy", chain=chain, chord=chord, group="group" if chord else None)
    try:
        returned = run_step(task, spec, dump_context(CONTEXT), CALL.model_dump(mode="json"), 0)
        return returned, task.request.chain, task.request.chord
    finally:
        task.pop_request()


def test_a_copy_sends_on_the_next_step_the_execution_that_went_on_never_sent(record: RunRecord) -> None:
    went_on_with = dump_context(CONTEXT.with_facts(Facts(backup_pool="pool2.contoso.com")))
    assert record.go_on_once(
        CALL, went_on_with
    )  # ... and that execution died before Celery sent the next step

    returned, chain, _ = copy_of_the_step()

    assert returned == went_on_with, "the copy must go on with the context the dead execution went on with"
    assert chain == CHAIN, "the copy cleared the chain: nothing sends the next step, the run stalls"


def test_a_copy_of_a_parallel_step_member_that_went_on_still_counts_it_into_the_chord(
    record: RunRecord,
) -> None:
    went_on_with = dump_context(CONTEXT)
    assert record.go_on_once(CALL, went_on_with)  # ... and that execution died before Celery counted it

    returned, _, chord = copy_of_the_step(chord=CHAIN[0])

    assert returned == went_on_with
    assert chord == CHAIN[0], "the copy left the chord: it never completes, the run stalls"


def test_once_celery_sent_the_next_step_a_copy_stands_down(record: RunRecord) -> None:
    went_on_with = dump_context(CONTEXT)
    assert record.go_on_once(CALL, went_on_with)
    task = app.tasks[f"lync.{CALL.step}"]
    task.push_request(id="original", went_on_from=CALL.id)
    try:
        task.on_success(went_on_with, "original", (), {})  # Celery calls it once it has sent the next step
    finally:
        task.pop_request()

    _, chain, _ = copy_of_the_step()
    _, _, chord = copy_of_the_step(chord=CHAIN[0])

    assert chain is None and chord is None


def test_celery_counts_a_member_of_a_parallel_step_once_however_often_its_copies_return(
    record: RunRecord, redis_client: redis.Redis
) -> None:
    """What a copy that counts itself into the chord again relies on (Celery 5.7's Redis backend)."""
    configure(app)
    body = app.signature("lync.finish", queue="lync.site.test")
    app.backend.set_chord_size("group", 2)

    def member(task_id: str, index: int) -> SimpleNamespace:
        return SimpleNamespace(id=task_id, group="group", group_index=index, chord=body)

    app.backend.on_chord_part_return(member("fe02", 0), "SUCCESS", {"run_id": CONTEXT.run_id})
    app.backend.on_chord_part_return(member("fe02", 0), "SUCCESS", {"run_id": CONTEXT.run_id})  # its copy
    assert redis_client.llen("lync.site.test") == 0, "the chord went on before its other member ended"
    app.backend.on_chord_part_return(member("fe03", 1), "SUCCESS", {"run_id": CONTEXT.run_id})

    sent = [json.loads(raw)["headers"]["task"] for raw in redis_client.lrange("lync.site.test", 0, -1)]
    assert sent == ["lync.finish"]
