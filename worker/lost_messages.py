"""Task messages the broker lost with a killed worker, sent again.

kombu's Redis transport takes a message off its queue (BRPOP) and records it as unacknowledged
(``QoS.append``, an HSET) in a second round trip (kombu/transport/redis.py): a worker killed between the two
loses the message, and no visibility timeout brings it back. A run whose next step was that message waits
forever.

So every task message the runner sends is kept, by task id, with a token of that sending (a header), until a
worker starts the task it carries (or revokes or rejects it). Every worker looks every ``SWEEP_S`` at the kept
messages due for a look: one that is neither in its queue nor among the unacknowledged messages of any worker,
at two looks ``CONFIRM_S`` apart, was lost, and is sent again as it was (at most ``RESENDS`` times). Should it
not have been lost after all, the task runs twice, which every task of the runner already tolerates (acks are
late: kombu redelivers any message of a dead worker, and a step's second copy stands down, tasks/lease.py).

One more place holds a message: a worker out of prefetch credit keeps a BRPOP reply unread until a task of
its ends (kombu pauses that socket). Such a worker says so with its presence (worker/presence.py), and a
message of a queue it consumes is not taken for lost while it does.

The runner sends every task to a queue by name (kombu's anonymous exchange, the routing key the queue's name)
and without a priority, so a task's queue is one Redis list named as its routing key; a message sent otherwise
is not kept. A kept message whose sending failed is never sent again (it is due for a look only once sent).
The looks read whole queue lists: cheap for a runbook's tens of messages, not meant for a backlog of
thousands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache, partial
from typing import Any, cast

import redis
from celery import Celery, signals, uuid
from celery.app.amqp import AMQP
from kombu.utils import json as kombu_json
from kombu.utils.objects import cached_property

from worker.presence import presence_key, unread_key
from worker.redis_connection import connect
from worker.settings import get_settings

log = logging.getLogger(__name__)

#: kombu's JSON (what a message carries: dates, UUIDs and decimals too), typed.
dumps = cast(Callable[[Any], str], kombu_json.dumps)
loads = cast(Callable[[str | bytes], Any], kombu_json.loads)

#: A kept message is first looked for this long after it was sent (a message is in its queue or with a worker
#: within milliseconds; this spares the sweep every message that starts at once). Above the presence beat,
#: so that a worker holding an unread reply has said so by then.
FIRST_LOOK_S = 10
#: Missing at two looks this far apart, a message is lost. The second look rules out the moment between a
#: live worker's BRPOP and its HSET, and comes after a presence beat: a worker that holds the message in an
#: unread reply has said so by then.
CONFIRM_S = 8
#: How often every worker looks.
SWEEP_S = 5
#: How often one message is sent again (lost each time) before it is given up.
RESENDS = 3
#: The kept messages due for a look, by when (milliseconds, Redis's clock).
DUE_KEY = "lync:sent"
#: The header that tells one sending of a task's message from another (a retry, a replacement reuse the id).
SENDING_HEADER = "lync_sending"
#: The most kept messages one sweep looks at.
BATCH = 200

#: Due for a look in ARGV[2] ms: the kept message KEYS[1] of task ARGV[1], if it is this sending's (ARGV[3]).
_DUE = """
if redis.call('hget', KEYS[1], 'sending') ~= ARGV[3] then return 0 end
local t = redis.call('time')
redis.call('zadd', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
return 1
"""
#: Forget the kept message KEYS[1] of task ARGV[1] if it is the sending ARGV[2].
_FORGET = """
if redis.call('hget', KEYS[1], 'sending') ~= ARGV[2] then return 0 end
redis.call('del', KEYS[1])
redis.call('zrem', KEYS[2], ARGV[1])
return 1
"""
#: The messages lost now, among the kept messages due (KEYS[1] the due set, KEYS[2] kombu's unacknowledged
#: hash; ARGV: kept key prefix, batch, first look ms, confirm ms, resends, a queue's workers key as a
#: string.format template, the sending header, a worker's unread key as a template). Each is in its queue,
#: with a worker, possibly in an unread reply (a live worker of its queue says it holds one), missing once
#: (look again in a moment) or missing twice (returned, and its next look put off). A message is known by
#: its sending's token, found as text (no JSON decoding to fail on). Atomic: two workers never both send one
#: message again. Queue lists and presence keys are read by name: a single Redis (or a Sentinel set's
#: primary), not a cluster.
_LOST = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('zrangebyscore', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then return {} end
local pattern = '"' .. ARGV[7] .. '":%s*"([%x%-]+)"'
local held = {}
for _, raw in ipairs(redis.call('hvals', KEYS[2])) do
  local sending = string.match(raw, pattern)
  if sending then held[sending] = true end
end
local queued, unread = {}, {}
local function waits(queue, sending)
  if queued[queue] == nil then
    queued[queue] = {}
    for _, raw in ipairs(redis.call('lrange', queue, 0, -1)) do
      local found = string.match(raw, pattern)
      if found then queued[queue][found] = true end
    end
    unread[queue] = false
    for _, host in ipairs(redis.call('smembers', string.format(ARGV[6], queue))) do
      if redis.call('exists', string.format(ARGV[8], queue, host)) == 1 then unread[queue] = true end
    end
  end
  return queued[queue][sending] == true or unread[queue]
end
local lost = {}
for _, id in ipairs(due) do
  local key = ARGV[1] .. id
  local kept = redis.call('hmget', key, 'message', 'queue', 'sending', 'missing')
  if not kept[1] then
    redis.call('zrem', KEYS[1], id)
  elseif held[kept[3]] or waits(kept[2], kept[3]) then
    redis.call('hset', key, 'missing', '0')
    redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), id)
  elseif kept[4] ~= '1' then
    redis.call('hset', key, 'missing', '1')
    redis.call('zadd', KEYS[1], now + tonumber(ARGV[4]), id)
  elseif redis.call('hincrby', key, 'resent', 1) > tonumber(ARGV[5]) then
    redis.call('del', key)
    redis.call('zrem', KEYS[1], id)
    table.insert(lost, {'gave up', kept[1]})
  else
    redis.call('hset', key, 'missing', '0')
    redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), id)
    table.insert(lost, {'lost', kept[1]})
  end
end
return lost
"""


def kept_key(task_id: str) -> str:
    """The kept message of one task."""
    return f"lync:sent:{task_id}"


def broker_client(app: Celery) -> redis.Redis:
    """A client of ``app``'s broker, where its messages and their kept copies are (a process may configure
    its app otherwise than its environment says, as the rehearsal and the tests do)."""
    return _client_of(app.conf.broker_url, app.conf.broker_transport_options.get("master_name"))


@cache
def _client_of(url: str, master_name: str | None) -> redis.Redis:
    return connect(url, master_name)


def keep(
    client: redis.Redis,
    body: Any,
    exchange: str,
    routing_key: str,
    headers: dict[str, Any],
    properties: dict[str, Any],
) -> None:
    """Keep a message about to be sent (marking its sending in ``headers``) until its task starts."""
    task_id, sending = str(headers["id"]), uuid()
    message = {
        "body": body,
        "exchange": exchange,
        "routing_key": routing_key,
        "headers": headers,
        "properties": properties,
    }
    try:
        headers[SENDING_HEADER] = sending
        pipe = client.pipeline(transaction=False)
        pipe.delete(kept_key(task_id))  # an earlier sending's counts are not this one's
        pipe.hset(
            kept_key(task_id),
            mapping={"message": dumps(message), "queue": routing_key, "sending": sending, "missing": "0"},
        )
        pipe.expire(kept_key(task_id), get_settings().record_ttl_s)
        pipe.execute()
    except Exception as error:  # Redis failing over (the publish waits for it), an argument JSON cannot carry
        log.warning("could not keep task %s's message (it is not sent again if lost): %s", task_id, error)


def sent(client: redis.Redis, headers: dict[str, Any]) -> None:
    """The kept message of this sending went out: due for its first look."""
    task_id = str(headers["id"])
    try:
        client.eval(
            _DUE, 2, kept_key(task_id), DUE_KEY, task_id, FIRST_LOOK_S * 1000, headers.get(SENDING_HEADER, "")
        )
    except redis.RedisError as error:
        log.warning(
            "could not mark task %s's kept message sent (it is not sent again if lost): %s", task_id, error
        )


def forget(client: redis.Redis, task_id: str, sending: str) -> None:
    """A worker started (or revoked, or rejected) the task this sending carried."""
    try:
        client.eval(_FORGET, 2, kept_key(task_id), DUE_KEY, task_id, sending)
    except redis.RedisError as error:  # kept, found acknowledged and sent again: a copy tolerated, as ever
        log.warning("could not forget task %s's kept message: %s", task_id, error)


def lost(client: redis.Redis, unacked_key: str) -> list[dict[str, Any]]:
    """The kept messages lost now (each returned once, its next look put off); given-up ones are logged."""
    found = client.eval(
        _LOST,
        2,
        DUE_KEY,
        unacked_key,
        kept_key(""),
        BATCH,
        FIRST_LOOK_S * 1000,
        CONFIRM_S * 1000,
        RESENDS,
        presence_key("%s"),
        SENDING_HEADER,
        unread_key("%s", "%s"),
    )
    messages = []
    for verdict, raw in found:
        message = loads(raw)
        if verdict == "lost":
            messages.append(message)
        else:
            headers = message["headers"]
            log.error(
                "task %s (%s) was sent again %d times and lost each time: given up",
                headers["id"],
                headers["task"],
                RESENDS,
            )
    return messages


def resend_lost(app: Celery, client: redis.Redis) -> int:
    """Send again every kept message lost now, as it was sent; how many."""
    messages = lost(client, app.conf.broker_transport_options.get("unacked_key", "unacked"))
    if messages:
        with app.producer_or_acquire() as producer:
            for message in messages:
                headers = message["headers"]
                log.warning(
                    "task %s (%s) was lost with a worker before it started: sending it again",
                    headers["id"],
                    headers["task"],
                )
                producer.publish(
                    message["body"],
                    exchange=message["exchange"],
                    routing_key=message["routing_key"],
                    headers=headers,
                    serializer=app.conf.task_serializer,
                    retry=True,
                    retry_policy=app.conf.task_publish_retry_policy,
                    **message["properties"],
                )
    return len(messages)


#: The app sending a task message now, in this thread (set by ``KeepingAMQP``): whose broker keeps it.
_sending: ContextVar[Celery | None] = ContextVar("lync_sending_app", default=None)


class KeepingAMQP(AMQP):  # type: ignore[misc]
    """Celery's AMQP for an app whose task messages are kept: Celery's publish signals name no app, so its
    sender says which app sends (another app in the process, a control client, keeps nothing)."""

    @cached_property
    def send_task_message(self) -> Callable[..., Any]:
        """Celery's task sender, with this app marked as the one sending."""
        send = self._create_task_sender()

        def sending(*args: Any, **kwargs: Any) -> Any:
            token = _sending.set(self.app)
            try:
                return send(*args, **kwargs)
            finally:
                _sending.reset(token)

        return sending


class Sweeper:
    """A worker's thread that sends lost messages again until the worker stops."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sweep, name="lync lost messages", daemon=True)

    def _sweep(self) -> None:
        while not self.stopped.wait(SWEEP_S):
            try:
                resend_lost(self.app, broker_client(self.app))
            except Exception as error:  # Redis restarting or failing over: look again next time
                log.warning("could not look for lost task messages: %s", error)

    def stop(self) -> None:
        """Stop looking."""
        self.stopped.set()
        self.thread.join()


_sweepers: list[Sweeper] = []


def _keep_kept(body: Any, exchange: str, routing_key: str, headers: dict[str, Any], **kwargs: Any) -> None:
    app, properties = _sending.get(), kwargs["properties"]
    if app and exchange == "" and routing_key and not properties.get("priority"):  # a queue by name
        keep(broker_client(app), body, exchange, routing_key, headers, properties)


def _sent(headers: dict[str, Any], **_: Any) -> None:
    app = _sending.get()
    if app and SENDING_HEADER in headers:
        sent(broker_client(app), headers)


def _started(app: Celery, task_id: str, task: Any, **_: Any) -> None:
    sending = task.request.get(SENDING_HEADER)
    if sending:  # a message never kept carries none
        forget(broker_client(app), task_id, str(sending))


def _dropped(app: Celery, request: Any = None, message: Any = None, **_: Any) -> None:
    """Revoked (the request's context) or rejected or unknown (a message): the task never starts."""
    found = request if request is not None else getattr(message, "headers", None) or {}
    if found.get("id") and found.get(SENDING_HEADER):
        forget(broker_client(app), str(found.get("id")), str(found.get(SENDING_HEADER)))


def _worker_ready(sender: Any, **_: Any) -> None:
    if not _sweepers:
        sweeper = Sweeper(sender.app)
        sweeper.thread.start()
        _sweepers.append(sweeper)


def _worker_stopping(**_: Any) -> None:
    while _sweepers:
        _sweepers.pop().stop()


def install(app: Celery) -> None:
    """Keep every task message an app with ``KeepingAMQP`` sends until it starts; in a worker of ``app``, send
    lost ones again."""
    signals.before_task_publish.connect(_keep_kept, weak=False)
    signals.after_task_publish.connect(_sent, weak=False)
    signals.task_prerun.connect(partial(_started, app), weak=False)
    for dropped in (signals.task_revoked, signals.task_rejected, signals.task_unknown):
        dropped.connect(partial(_dropped, app), weak=False)
    signals.worker_ready.connect(_worker_ready, weak=False)
    signals.worker_shutdown.connect(_worker_stopping, weak=False)
