"""Liveness: a lease per running step, renewed by the worker running it, and a heartbeat per run.

A worker that dies (its process or its host) leaves its messages unacknowledged; Redis hands them out again
after the visibility timeout (``visibility_timeout_s``, short), and a copy of a step may so arrive while the
step still runs elsewhere. One execution of a step call at a time: a copy whose step still runs (its lease is
fresh) stands by and looks again; once the lease expired (its worker is gone) it runs, and finds what the dead
one did (an act it started and never ended waits for its effect, tasks/steps.py). A run shows it is alive
while any of its steps runs or waits to retry; one silent for ``run_alive_s`` is dead, and a new run may take
its pools' locks (tasks/runbook.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from tasks.record import redis_client
from worker.settings import get_settings

log = logging.getLogger(__name__)

#: Hold KEYS[1] for ARGV[1] unless another holds it (return that holder), and keep the run alive for at least
#: ARGV[3] ms. Taking and renewing are the same: a lease lost with a Redis failover is taken again.
_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('pttl', KEYS[2]) < tonumber(ARGV[3]) then redis.call('set', KEYS[2], '1', 'PX', ARGV[3]) end
return ''
"""
_DROP = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LeaseLost(Exception):
    """Another execution holds this step now (this one stalled past its lease): this one stops acting."""


def lease_key(run_id: str, call_id: str) -> str:
    """The lease of one step call of a run."""
    return f"lync:lease:{run_id}:{call_id}"


def alive_key(run_id: str) -> str:
    """A run's heartbeat: present while the run shows signs of life."""
    return f"lync:run:{run_id}:alive"


def show_alive(run_id: str, for_s: float, client: redis.Redis | None = None) -> None:
    """The run is alive for at least ``for_s`` more seconds (a step waits to retry, a site run waits)."""
    client = client or redis_client()
    wanted = int((for_s + get_settings().run_alive_s) * 1000)
    if int(client.pttl(alive_key(run_id))) < wanted:
        client.set(alive_key(run_id), "1", px=wanted)


def is_alive(run_id: str, client: redis.Redis | None = None) -> bool:
    """Whether the run showed a sign of life within ``run_alive_s``."""
    return bool((client or redis_client()).exists(alive_key(run_id)))


@dataclass
class Lease:
    """One execution's lease on a step call of a run (``token`` tells executions apart)."""

    run_id: str
    call_id: str
    token: str
    client: redis.Redis
    #: Set when a renewal found another execution holding it.
    lost: bool = False

    @property
    def key(self) -> str:
        """Its Redis key."""
        return lease_key(self.run_id, self.call_id)

    def take(self) -> str | None:
        """Hold (or renew) the lease; None when held now, else the token of the execution that holds it."""
        holder = str(self.client.eval(_TAKE, 2, self.key, alive_key(self.run_id), self.token, *_ttls()))
        return holder or None

    def renew(self) -> None:
        """Extend it; note when it was lost; a Redis error is left for the next renewal."""
        try:
            self.lost = self.lost or self.take() is not None
        except redis.RedisError as error:
            log.warning("could not renew the lease of %s: %s", self.call_id, error)

    def ensure_held(self, before: str) -> None:
        """A safe point: raise LeaseLost when another execution took the step over."""
        if self.lost:
            raise LeaseLost(f"{self.call_id}: another execution holds it now; this one stops before {before}")

    def drop(self) -> None:
        """The execution ended."""
        self.client.eval(_DROP, 1, self.key, self.token)


@contextmanager
def held(lease: Lease) -> Iterator[None]:
    """Renew ``lease`` every third of its life while the block runs, then drop it."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(get_settings().lease_s / 3):
            lease.renew()

    beat = threading.Thread(target=renew, name=f"lease {lease.call_id}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        lease.drop()


def lease_for(run_id: str, call_id: str, token: str, client: redis.Redis | None = None) -> Lease:
    """A lease of a run's step call for the execution ``token``."""
    return Lease(run_id, call_id, token, client or redis_client())


def _ttls() -> tuple[int, int]:
    """A lease's and a run heartbeat's lifetimes, in milliseconds."""
    settings = get_settings()
    return settings.lease_s * 1000, settings.run_alive_s * 1000
