"""Which execution of a step call may run, in Redis: a copy of an older turn stands down.

Redis hands a long step's message out again while the step still runs (the visibility timeout); that copy
waits on the step's lease. If the running execution then retries, or replaces itself with a remedy, the copy
must not start a second line of executions.
"""

from __future__ import annotations

import redis

from plugins.kit.model import step_call
from tasks.record import RunRecord

CALL = step_call("pool.fail_over", "pool", "fe01.pool2.contoso.com")


def test_a_copy_of_a_retried_execution_stands_down(redis_client: redis.Redis) -> None:
    record = RunRecord("run-turns-1", redis_client)
    assert record.take_turn(CALL, 0)  # the first execution

    record.pass_turn(CALL, 1)  # it retries

    assert not record.take_turn(CALL, 0), "the copy of the first message ran a second line"
    assert record.take_turn(CALL, 1)  # the retry runs
    assert record.take_turn(CALL, 1)  # and so does its own redelivery (same turn, after the lease)


def test_a_copy_of_an_execution_that_called_a_remedy_stands_down(redis_client: redis.Redis) -> None:
    record = RunRecord("run-turns-2", redis_client)
    assert record.take_turn(CALL, 3)
    again = CALL.model_copy(update={"remedies": 1})

    record.pass_turn(again, 0)  # the remedy runs, then the call again

    assert not record.take_turn(CALL, 3) and not record.take_turn(CALL, 9)
    assert record.take_turn(again, 0)
