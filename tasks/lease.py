"""Liveness of a running step: a lease in Redis that the worker running it renews while it runs.

One execution of a step call at a time: a redelivered copy of a step whose first execution still runs (its
lease is fresh) waits instead of running beside it. A lease that expired means the worker running the step is
gone (its process or its host): a reconciler (tasks.reconcile) sends the step again, and whoever runs it finds
what the dead one did (an act it started and never ended waits for its effect, steps.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from pydantic import BaseModel, ConfigDict

from tasks.record import now, redis_client

#: How long a lease lives without renewal; the worker renews it every third of that.
LEASE_S = 15.0
#: Every lease of every run: run id + call id -> the lease's key (the reconciler walks it).
LEASES_KEY = "lync:leases"

_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
"""
_RENEW = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('pexpire', KEYS[1], ARGV[2])
return 1
"""
_DROP = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Delivery(BaseModel):
    """Where a running step's message is: the reconciler sends it again from there when its lease expires."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    call_id: str
    step: str
    queue: str
    delivery_tag: str
    task_id: str


def lease_key(run_id: str, call_id: str) -> str:
    """The lease of one step call of a run."""
    return f"lync:lease:{run_id}:{call_id}"


@dataclass
class Lease:
    """One execution's lease on a step call (``token`` tells executions apart)."""

    delivery: Delivery
    token: str
    client: redis.Redis

    @property
    def key(self) -> str:
        """Its Redis key."""
        return lease_key(self.delivery.run_id, self.delivery.call_id)

    def take(self) -> str | None:
        """Hold the lease; None when held now, else the token of the live execution that holds it."""
        holder = str(self.client.eval(_TAKE, 1, self.key, self.token, int(LEASE_S * 1000)))
        if holder:
            return holder
        self.client.hset(LEASES_KEY, self.key, self.delivery.model_dump_json())
        return None

    def renew(self) -> bool:
        """Extend it; False when it was lost (it expired and another execution took it)."""
        return bool(self.client.eval(_RENEW, 1, self.key, self.token, int(LEASE_S * 1000)))

    def drop(self) -> None:
        """The execution ended: the step needs no reconciling."""
        if self.client.eval(_DROP, 1, self.key, self.token):
            self.client.hdel(LEASES_KEY, self.key)


@contextmanager
def held(lease: Lease) -> Iterator[None]:
    """Renew ``lease`` every third of its life while the block runs, then drop it."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE_S / 3):
            lease.renew()

    beat = threading.Thread(target=renew, name=f"lease {lease.delivery.call_id}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        lease.drop()


def lease_for(delivery: Delivery, token: str, client: redis.Redis | None = None) -> Lease:
    """A lease of ``delivery`` for the execution ``token``."""
    return Lease(delivery, token, client or redis_client())


__all__ = ["LEASES_KEY", "Delivery", "Lease", "held", "lease_for", "lease_key", "now"]
