"""Which kept messages are lost, in a real Redis: task messages Celery sent, then left where kombu leaves them
(their queue, a worker's unacknowledged hash, a worker's unread BRPOP reply) or taken off their queue by a
worker that died before recording them.

A kept message is due for a look ``FIRST_LOOK_S`` after it was sent; the tests make it due at once.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from celery import Celery, signals
from celery.app.task import Context
from kombu.connection import Connection
from kombu.entity import Queue
from kombu.message import Message

from worker import lost_messages
from worker.celery_app import app, configure
from worker.lost_messages import DUE_KEY, RESENDS, SENDING_HEADER, kept_key, lost, resend_lost
from worker.presence import announce, holds_unread_reply
from worker.settings import Settings, get_settings

QUEUE = "lync.site.test"
UNACKED = "unacked"


@pytest.fixture
def sent(on_test_redis: None, redis_client: redis.Redis) -> str:
    """The id of a task message Celery sent to ``QUEUE`` in the test's Redis (kept, in its queue)."""
    configure(app)
    return send()


def send(**options: object) -> str:
    """Send a task message to ``QUEUE``; its id."""
    return str(app.send_task("lync.finish", args=({"run_id": "r"},), queue=QUEUE, **options).id)


def look(client: redis.Redis) -> list[str]:
    """The ids of the messages lost at a look now (every kept message made due first)."""
    for task_id in client.zrange(DUE_KEY, 0, -1):
        client.zadd(DUE_KEY, {str(task_id): 0})
    return [message["headers"]["id"] for message in lost(client, UNACKED)]


def taken_off_the_queue(client: redis.Redis) -> str:
    """The message a worker's BRPOP took off the queue."""
    raw = client.rpop(QUEUE)
    assert raw is not None
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

    again = json.loads(taken_off_the_queue(redis_client))
    original = json.loads(raw)
    for field in ("headers", "body", "content-type", "content-encoding"):
        assert again[field] == original[field], field
    again["properties"].pop("delivery_tag"), original["properties"].pop("delivery_tag")
    assert again["properties"] == original["properties"]
    assert redis_client.exists(kept_key(sent)), "kept until a worker starts it"


def test_a_message_in_an_unread_reply_is_lost_once_its_worker_no_longer_says_it_holds_one(
    sent: str, redis_client: redis.Redis
) -> None:
    taken_off_the_queue(redis_client)  # into a BRPOP reply the worker, out of credit, does not read yet
    announce(redis_client, "worker@busy", [QUEUE], unread=True)

    assert [look(redis_client) for _ in range(3)] == [[], [], []]
    announce(redis_client, "worker@busy", [QUEUE], unread=False)  # it read it (or died: the key expires)
    assert look(redis_client) + look(redis_client) == [sent]


def test_a_message_a_live_worker_holds_in_an_unread_reply_is_not_lost(
    sent: str, redis_client: redis.Redis, redis_url: str
) -> None:
    """kombu's consumer, out of prefetch credit with a BRPOP pending, leaves the reply unread: the message is
    in no queue and not unacknowledged until the worker's running task ends."""
    with Connection(redis_url) as connection:  # type: ignore[no-untyped-call]
        channel = connection.channel()
        channel.basic_qos(0, 2, False)
        delivered: list[Message] = []
        consumer = connection.Consumer(
            Queue(QUEUE),  # type: ignore[no-untyped-call]
            channel=channel,
            callbacks=[lambda _, m: delivered.append(m)],
        )
        consumer.consume()
        connection.drain_events(timeout=2)  # the first message runs
        with pytest.raises(TimeoutError):
            connection.drain_events(timeout=0.5)  # a BRPOP waits for the next
        channel.basic_qos(0, 1, False)  # Celery's decrement_eventually when a countdown ends: no credit left
        held = send()
        with pytest.raises(TimeoutError):
            connection.drain_events(timeout=1)
        worker = SimpleNamespace(connection=connection)
        assert len(delivered) == 1 and redis_client.llen(QUEUE) == 0 and redis_client.hlen(UNACKED) == 1
        announce(redis_client, "worker@busy", [QUEUE], unread=holds_unread_reply(worker))

        assert [look(redis_client) for _ in range(3)] == [[], [], []]
        channel.basic_qos(0, 2, False)  # the running task ended: the reply is read
        connection.drain_events(timeout=2)
        assert [m.headers["id"] for m in delivered] == [sent, held]
        assert not holds_unread_reply(worker)
        announce(redis_client, "worker@busy", [QUEUE], unread=False)
        assert [look(redis_client) for _ in range(3)] == [[], [], []]


def test_a_started_task_is_no_longer_kept(sent: str, redis_client: redis.Redis) -> None:
    sending = json.loads(taken_off_the_queue(redis_client))["headers"][SENDING_HEADER]
    lost_messages.forget(redis_client, sent, sending)  # task_prerun

    assert [look(redis_client) for _ in range(2)] == [[], []]
    assert not redis_client.exists(kept_key(sent)) and redis_client.zcard(DUE_KEY) == 0


def test_a_task_revoked_or_expired_before_it_started_is_no_longer_kept(
    sent: str, redis_client: redis.Redis
) -> None:
    headers = json.loads(taken_off_the_queue(redis_client))["headers"]
    signals.task_revoked.send(  # as a worker sends it: the request's context
        sender=None, request=Context(headers), terminated=False, signum=None, expired=True
    )

    assert not redis_client.exists(kept_key(sent)) and look(redis_client) == []


def test_an_earlier_sending_of_the_same_task_starting_does_not_forget_a_later_one(
    sent: str, redis_client: redis.Redis
) -> None:
    """A retry, or a replacement (``Task.replace``), is sent with the id of the task that sends it."""
    first = json.loads(taken_off_the_queue(redis_client))["headers"][SENDING_HEADER]
    assert send(task_id=sent) == sent
    taken_off_the_queue(redis_client)  # the later sending, lost with its worker

    lost_messages.forget(redis_client, sent, first)  # a late copy of the first sending starts

    assert look(redis_client) + look(redis_client) == [sent]


def test_a_process_that_configures_its_app_apart_from_its_environment_keeps_in_the_app_broker(
    on_test_redis: None, redis_client: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rehearsal and the reliability suite configure the app on a Redis of their own."""
    inventory = Path(os.environ["LYNC_FAILOVER_INVENTORY"])
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens there
    get_settings.cache_clear()
    configure(app, Settings(redis_url=redis_url, inventory_path=inventory))

    task_id = send()

    assert redis_client.exists(kept_key(task_id)) and redis_client.zcard(DUE_KEY) == 1


def test_a_message_another_app_in_the_process_sends_is_not_kept(
    sent: str, redis_client: redis.Redis, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A client app (the reliability suite's, a control client) is not the runner: nothing kept, no noise."""
    client = Celery("lync_failover", broker=redis_url)
    try:
        other = str(client.send_task("lync.finish", args=({"run_id": "r"},), queue=QUEUE).id)
    finally:
        client.close()

    assert not redis_client.exists(kept_key(other)) and redis_client.exists(kept_key(sent))
    assert "could not keep" not in caplog.text


def test_a_message_never_kept_starting_under_the_same_id_does_not_forget_the_kept_one(
    sent: str, redis_client: redis.Redis
) -> None:
    """One sent with a priority, by another app, or before the runner kept messages carries no token."""
    untokened = SimpleNamespace(request=Context({"id": sent}))
    signals.task_prerun.send(sender=None, task_id=sent, task=untokened, args=(), kwargs={})

    assert redis_client.exists(kept_key(sent))


def test_a_message_sent_with_a_priority_is_not_kept(sent: str, redis_client: redis.Redis) -> None:
    prioritised = send(priority=5)  # kombu puts it in a list of its own, which a look does not read

    assert not redis_client.exists(kept_key(prioritised))
    assert [look(redis_client) for _ in range(2)] == [[], []]


def test_a_message_lost_again_and_again_is_given_up_and_said_so(
    sent: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    resent = 0
    for _ in range(RESENDS):  # every copy sent again is taken off its queue too, and never recorded
        taken_off_the_queue(redis_client)
        assert look(redis_client) == []
        redis_client.zadd(DUE_KEY, {sent: 0})
        resent += resend_lost(app, redis_client)
    assert resent == RESENDS
    taken_off_the_queue(redis_client)

    with caplog.at_level(logging.ERROR, logger=lost_messages.__name__):
        assert look(redis_client) + look(redis_client) == []
    assert (
        f"task {sent} (lync.finish) was sent again {RESENDS} times and lost each time: given up"
        in caplog.text
    )
    assert not redis_client.exists(kept_key(sent)) and redis_client.zcard(DUE_KEY) == 0
