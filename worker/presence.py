"""Which queues a live worker consumes: every worker writes its name under each of its queues every few
seconds; one silent for ``PRESENCE_S`` is gone. ``lync-failover watch`` and the readiness check read it.

A worker also says whether it holds a reply to its BRPOP unread (out of prefetch credit, kombu pauses that
socket until a task of its ends, and a message taken off a queue waits in it): worker/lost_messages.py does
not take a message of its queues for lost meanwhile."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis
from celery import signals

from worker.redis_connection import connect
from worker.settings import get_settings

log = logging.getLogger(__name__)

#: Where the presence keys of every queue start.
PRESENCE_PREFIX = "lync:queue:"
#: A worker not heard of for this long is gone.
PRESENCE_S = 15.0
#: How often a worker says it is there.
BEAT_S = PRESENCE_S / 3


def presence_key(queue: str) -> str:
    """The names of the workers that said they consume ``queue``."""
    return f"{PRESENCE_PREFIX}{queue}:workers"


def worker_key(queue: str, hostname: str) -> str:
    """Present while ``hostname`` consumes ``queue`` (it expires: Redis's clock decides, not a worker's)."""
    return f"{PRESENCE_PREFIX}{queue}:worker:{hostname}"


def unread_key(queue: str, hostname: str) -> str:
    """Present while ``hostname``, consuming ``queue``, holds a BRPOP reply unread."""
    return f"{PRESENCE_PREFIX}{queue}:unread:{hostname}"


def announce(client: redis.Redis, hostname: str, queues: Iterable[str], *, unread: bool = False) -> None:
    """``hostname`` consumes ``queues`` now (and holds a BRPOP reply unread, or not)."""
    pipe = client.pipeline()
    for queue in queues:
        pipe.sadd(presence_key(queue), hostname)
        pipe.set(worker_key(queue, hostname), "1", ex=int(PRESENCE_S))
        if unread:
            pipe.set(unread_key(queue, hostname), "1", ex=int(PRESENCE_S))
        else:
            pipe.delete(unread_key(queue, hostname))
    pipe.execute()


def withdraw(client: redis.Redis, hostname: str, queues: Iterable[str]) -> None:
    """``hostname`` stops (a warm shutdown)."""
    pipe = client.pipeline()
    for queue in queues:
        pipe.srem(presence_key(queue), hostname)
        pipe.delete(worker_key(queue, hostname), unread_key(queue, hostname))
    pipe.execute()


def live_workers(client: redis.Redis, queue: str) -> list[str]:
    """The workers that said within ``PRESENCE_S`` that they consume ``queue``."""
    names = sorted(str(name) for name in client.smembers(presence_key(queue)))
    alive = [name for name in names if client.exists(worker_key(queue, name))]
    gone = set(names) - set(alive)
    if gone:
        client.srem(presence_key(queue), *gone)
    return alive


class Presence:
    """A worker's presence: a thread that announces its queues until the worker stops."""

    def __init__(self, hostname: str, queues: list[str], holds_unread: Callable[[], bool] = bool) -> None:
        self.hostname, self.queues, self.holds_unread = hostname, queues, holds_unread
        self.client = connect(get_settings().redis_url)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="lync presence", daemon=True)

    def _beat(self) -> None:
        while True:
            try:
                announce(self.client, self.hostname, self.queues, unread=self.holds_unread())
            except redis.RedisError as error:  # Redis restarting or failing over: say so next time
                log.warning("could not announce this worker's queues: %s", error)
            if self.stopped.wait(BEAT_S):
                return

    def stop(self) -> None:
        """Stop announcing, and say the worker is gone."""
        self.stopped.set()
        self.thread.join()
        try:
            withdraw(self.client, self.hostname, self.queues)
        except redis.RedisError as error:
            log.warning("could not withdraw this worker's queues: %s", error)


_running: list[Presence] = []


def _started(sender: Any, **_: object) -> None:
    """A worker is ready: announce its queues from now on (once: a consumer restarted after a broker
    reconnection is ready again)."""
    if any(presence.hostname == sender.hostname for presence in _running):
        return
    queues = sorted(queue.name for queue in sender.task_consumer.queues)
    presence = Presence(sender.hostname, queues, lambda: holds_unread_reply(sender))
    presence.thread.start()
    _running.append(presence)


def holds_unread_reply(consumer: Any) -> bool:
    """Whether the worker's connection has a BRPOP reply it does not read now (kombu's Redis transport pauses
    the socket of a BRPOP while the worker is out of prefetch credit: the reply may hold a message)."""
    poller = getattr(getattr(consumer.connection, "_transport", None), "cycle", None)  # no new transport
    return bool(getattr(poller, "_paused_brpop", None))


def _stopping(sender: Any, **_: object) -> None:
    """A worker stops warmly: it is gone."""
    while _running:
        _running.pop().stop()


def install() -> None:
    """Announce the queues of this process's worker while it runs."""
    signals.worker_ready.connect(_started, weak=False)
    signals.worker_shutdown.connect(_stopping, weak=False)
