"""Task messages the broker lost with a killed worker, sent again.

kombu's Redis transport takes a message off its queue (BRPOP) and records it as unacknowledged
(``QoS.append``, an HSET) in a second round trip (kombu/transport/redis.py): a worker killed between the two
loses the message, and no visibility timeout brings it back. A run whose next step was that message waits
forever.

So every task message the runner sends is kept, by task id, until a worker starts that task (or revokes or
rejects it). Every worker looks every ``SWEEP_S`` at the kept messages due for a look: one that is neither in
its queue nor among the unacknowledged messages of any worker, at two looks ``CONFIRM_S`` apart, was lost,
and is sent again as it was (at most ``RESENDS`` times). Should it not have been lost after all, the task runs
twice, which every task of the runner already tolerates (acks are late: kombu redelivers any message of a
dead worker, and a step's second copy stands down, tasks/lease.py).

The runner sends every task to a queue by name (kombu's anonymous exchange, the routing key the queue's name)
and without a priority, so a task's queue is one Redis list named as its routing key; a message sent otherwise
is not kept.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import cache
from typing import Any

import redis
from celery import Celery, signals

from worker.redis_connection import connect
from worker.settings import get_settings

log = logging.getLogger(__name__)

#: A kept message is first looked for this long after it was sent (a message is in its queue or with a worker
#: within milliseconds; this spares the sweep every message that starts at once).
FIRST_LOOK_S = 10
#: Missing at two looks this far apart, a message is lost (the second look rules out the moment between a
#: live worker's BRPOP and its HSET).
CONFIRM_S = 3
#: How often every worker looks.
SWEEP_S = 5
#: How often one message is sent again before it is given up (a purged queue's messages end so).
RESENDS = 3
#: The kept messages due for a look, by when (milliseconds, Redis's clock).
DUE_KEY = "lync:sent"

#: Keep ARGV[1] (a message) for task KEYS[1]'s id ARGV[2], for ARGV[3] seconds, first looked at in ARGV[4] ms.
_KEEP = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('hset', KEYS[1], 'message', ARGV[1], 'missing', '0')
redis.call('expire', KEYS[1], ARGV[3])
redis.call('zadd', KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
"""

#: The messages lost now: the kept messages due (KEYS[1] the due set, KEYS[2] kombu's unacknowledged hash,
#: ARGV: key prefix, batch, first look ms, confirm ms, resends, Celery's result key prefix). Each is started
#: (its result says so, should its worker have failed to forget it), in its queue, with a worker, missing
#: once (look again in a moment) or missing twice (returned, and its look put off). A retry's message is
#: not started while its result says RETRY. Atomic: two workers never both send one message again. Queue
#: lists and results are read by name: a single Redis, not a cluster.
_LOST = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('zrangebyscore', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then return {} end
local held = {}
for _, raw in ipairs(redis.call('hvals', KEYS[2])) do
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and type(entry[1]) == 'table' and type(entry[1].headers) == 'table' then
    held[tostring(entry[1].headers.id)] = true
  end
end
local queued = {}
local function in_queue(queue, id)
  if queued[queue] == nil then
    queued[queue] = {}
    for _, raw in ipairs(redis.call('lrange', queue, 0, -1)) do
      local ok, message = pcall(cjson.decode, raw)
      if ok and type(message) == 'table' and type(message.headers) == 'table' then
        queued[queue][tostring(message.headers.id)] = true
      end
    end
  end
  return queued[queue][id] == true
end
local function started(id)
  local meta = redis.call('get', ARGV[6] .. id)
  if not meta then return false end
  local ok, result = pcall(cjson.decode, meta)
  return ok and type(result) == 'table' and (result.status == 'STARTED' or result.status == 'SUCCESS'
    or result.status == 'FAILURE')
end
local lost = {}
for _, id in ipairs(due) do
  local key = ARGV[1] .. id
  local raw = redis.call('hget', key, 'message')
  if raw and started(id) then
    redis.call('del', key)
    raw = nil
  end
  if not raw then
    redis.call('zrem', KEYS[1], id)
  elseif held[id] or in_queue(cjson.decode(raw).routing_key, id) then
    redis.call('hset', key, 'missing', '0')
    redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), id)
  elseif redis.call('hget', key, 'missing') ~= '1' then
    redis.call('hset', key, 'missing', '1')
    redis.call('zadd', KEYS[1], now + tonumber(ARGV[4]), id)
  elseif redis.call('hincrby', key, 'resent', 1) > tonumber(ARGV[5]) then
    redis.call('del', key)
    redis.call('zrem', KEYS[1], id)
    table.insert(lost, cjson.encode({gave_up = raw}))
  else
    redis.call('hset', key, 'missing', '0')
    redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), id)
    table.insert(lost, raw)
  end
end
return lost
"""
#: Where Celery's Redis result backend keeps a task's state (the runner's results are in the broker's Redis).
RESULT_PREFIX = "celery-task-meta-"
#: The most kept messages one sweep looks at.
BATCH = 200


def kept_key(task_id: str) -> str:
    """The kept message of one task."""
    return f"lync:sent:{task_id}"


@cache
def _client() -> redis.Redis:
    """This process's Redis client for kept messages."""
    return connect(get_settings().redis_url)


def keep(
    body: Any, exchange: str, routing_key: str, headers: dict[str, Any], properties: dict[str, Any]
) -> None:
    """Keep a message about to be sent until its task starts."""
    message = {
        "body": body,
        "exchange": exchange,
        "routing_key": routing_key,
        "headers": headers,
        "properties": properties,
    }
    task_id = str(headers["id"])
    try:
        _client().eval(
            _KEEP,
            2,
            kept_key(task_id),
            DUE_KEY,
            json.dumps(message),
            task_id,
            get_settings().record_ttl_s,
            FIRST_LOOK_S * 1000,
        )
    except redis.RedisError as error:  # Redis restarting or failing over: the publish itself waits for it
        log.warning("could not keep task %s's message (it is not sent again if lost): %s", task_id, error)


def forget(task_id: str) -> None:
    """A worker started (or revoked, or rejected) the task: its message is no longer kept."""
    pipe = _client().pipeline(transaction=False)
    pipe.delete(kept_key(task_id))
    pipe.zrem(DUE_KEY, task_id)
    try:
        pipe.execute()
    except redis.RedisError as error:  # a sweep finds the task started in its result
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
        RESULT_PREFIX,
    )
    messages = [json.loads(raw) for raw in found]
    for message in messages:
        if "gave_up" in message:
            given_up = json.loads(message["gave_up"])
            log.error(
                "task %s (%s) lost %d times: not sent again",
                given_up["headers"]["id"],
                given_up["headers"]["task"],
                RESENDS,
            )
    return [message for message in messages if "gave_up" not in message]


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
                    **message["properties"],
                )
    return len(messages)


class Sweeper:
    """A worker's thread that sends lost messages again until the worker stops."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.client = connect(get_settings().redis_url)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sweep, name="lync lost messages", daemon=True)

    def _sweep(self) -> None:
        while not self.stopped.wait(SWEEP_S):
            try:
                resend_lost(self.app, self.client)
            except Exception as error:  # Redis restarting or failing over: look again next time
                log.warning("could not look for lost task messages: %s", error)

    def stop(self) -> None:
        """Stop looking."""
        self.stopped.set()
        self.thread.join()


_sweepers: list[Sweeper] = []


def _sent(body: Any, exchange: str, routing_key: str, headers: dict[str, Any], **kwargs: Any) -> None:
    if exchange == "" and routing_key:  # sent to a queue by name, as the runner sends every task
        keep(body, exchange, routing_key, headers, kwargs["properties"])


def _started(task_id: str, **_: Any) -> None:
    forget(task_id)


def _dropped(request: Any = None, message: Any = None, id: str | None = None, **_: Any) -> None:
    """Revoked (a request), rejected (a message) or unknown (an id): the task never starts."""
    task_id = getattr(request, "id", None) or id or (message.headers.get("id") if message else None)
    if task_id:
        forget(str(task_id))


def _worker_ready(sender: Any, **_: Any) -> None:
    if not _sweepers:
        sweeper = Sweeper(sender.app)
        sweeper.thread.start()
        _sweepers.append(sweeper)


def _worker_stopping(**_: Any) -> None:
    while _sweepers:
        _sweepers.pop().stop()


def install() -> None:
    """Keep every task message this process sends until it starts; in a worker, send lost ones again."""
    signals.before_task_publish.connect(_sent, weak=False)
    signals.task_prerun.connect(_started, weak=False)
    signals.task_revoked.connect(_dropped, weak=False)
    signals.task_rejected.connect(_dropped, weak=False)
    signals.task_unknown.connect(_dropped, weak=False)
    signals.worker_ready.connect(_worker_ready, weak=False)
    signals.worker_shutdown.connect(_worker_stopping, weak=False)
