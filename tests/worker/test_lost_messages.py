"""Which kept messages are lost, in a real Redis: a task message Celery sent, then left where kombu leaves it
(its queue, a worker's unacknowledged hash) or taken off its queue by a worker that died before recording it.

A kept message is due for a look ``FIRST_LOOK_S`` after it was sent; the tests make it due at once.
"""

from __future__ import annotations

import json
import logging

import pytest
import redis

from worker import lost_messages
from worker.celery_app import app, configure
from worker.lost_messages import DUE_KEY, RESENDS, kept_key, lost, resend_lost

QUEUE = "lync.site.test"
UNACKED = "unacked"


@pytest.fixture
def sent(on_test_redis: None, redis_client: redis.Redis) -> str:
    """The id of a task message Celery sent to ``QUEUE`` in the test's Redis (kept, in its queue)."""
    configure(app)
    return str(app.send_task("lync.finish", args=({"run_id": "r"},), queue=QUEUE).id)


def look(client: redis.Redis) -> list[str]:
    """The ids of the messages lost at a look now (every kept message made due first)."""
    for task_id in client.zrange(DUE_KEY, 0, -1):
        client.zadd(DUE_KEY, {str(task_id): 0})
    return [message["headers"]["id"] for message in lost(client, UNACKED)]


def taken_off_the_queue(client: redis.Redis) -> str:
    """The message a worker's BRPOP took off the queue."""
    (raw,) = client.lrange(QUEUE, 0, -1)
    client.delete(QUEUE)
    return str(raw)


def test_a_message_waiting_in_its_queue_is_not_lost(sent: str, redis_client: redis.Redis) -> None:
    assert [look(redis_client) for _ in range(3)] == [[], [], []]
    assert redis_client.exists(kept_key(sent))


def test_a_message_a_worker_recorded_as_unacknowledged_is_not_lost(
    sent: str, redis_client: redis.Redis
) -> None:
    raw = taken_off_the_queue(redis_client)
    redis_client.hset(UNACKED, "tag-1", json.dumps([json.loads(raw), "", QUEUE]))  # kombu's QoS.append

    assert [look(redis_client) for _ in range(3)] == [[], [], []]


def test_a_message_missing_at_two_looks_is_lost_once_and_sent_again_as_it_was(
    sent: str, redis_client: redis.Redis
) -> None:
    raw = taken_off_the_queue(redis_client)  # ... and that worker was killed before recording it

    assert look(redis_client) == []  # missing once: a live worker may be between its BRPOP and its HSET
    assert resend_lost(app, redis_client) == 0  # the second look is CONFIRM_S later
    redis_client.zadd(DUE_KEY, {sent: 0})
    assert resend_lost(app, redis_client) == 1
    assert resend_lost(app, redis_client) == 0  # its next look is put off: no second copy at once

    (again,) = redis_client.lrange(QUEUE, 0, -1)
    assert json.loads(again)["headers"] == json.loads(raw)["headers"]
    assert json.loads(again)["body"] == json.loads(raw)["body"]
    assert redis_client.exists(kept_key(sent)), "kept until a worker starts it"


def test_a_started_task_is_no_longer_kept(sent: str, redis_client: redis.Redis) -> None:
    taken_off_the_queue(redis_client)
    lost_messages.forget(sent)  # task_prerun

    assert [look(redis_client) for _ in range(2)] == [[], []]
    assert not redis_client.exists(kept_key(sent)) and redis_client.zcard(DUE_KEY) == 0


def test_a_task_whose_result_says_it_started_is_not_sent_again(sent: str, redis_client: redis.Redis) -> None:
    taken_off_the_queue(redis_client)
    app.backend.mark_as_started(sent)  # ... and its worker could not forget it (Redis failing over)

    assert [look(redis_client) for _ in range(2)] == [[], []]
    assert not redis_client.exists(kept_key(sent))


def test_a_retry_lost_before_it_started_again_is_sent_again(sent: str, redis_client: redis.Redis) -> None:
    taken_off_the_queue(redis_client)
    app.backend.mark_as_retry(sent, RuntimeError("the server is busy"))  # the message is the retry's

    assert look(redis_client) + look(redis_client) == [sent]


def test_a_message_lost_again_and_again_is_given_up_and_said_so(
    sent: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    found = []
    for _ in range(2 * RESENDS):  # every copy sent again is taken off its queue too, and never recorded
        redis_client.delete(QUEUE)
        found += look(redis_client)
    assert found == [sent] * RESENDS

    with caplog.at_level(logging.ERROR, logger=lost_messages.__name__):
        assert look(redis_client) + look(redis_client) == []
    assert f"task {sent} (lync.finish) lost {RESENDS} times: not sent again" in caplog.text
    assert not redis_client.exists(kept_key(sent)) and redis_client.zcard(DUE_KEY) == 0
