"""One failover per pool at a time: a Redis key holding the run id, with an expiry in case a run dies."""

from __future__ import annotations

import redis

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def lock_key(pool: str) -> str:
    """The lock's key for a pool."""
    return f"lync:lock:pool:{pool.lower()}"


def acquire(client: redis.Redis, pool: str, run_id: str, ttl_s: int) -> str | None:
    """Take the pool's lock for ``run_id``; return None on success, else the run id that holds it."""
    if client.set(lock_key(pool), run_id, nx=True, ex=ttl_s):
        return None
    holder = client.get(lock_key(pool))
    if holder == run_id:  # a redelivered launcher: the lock is already ours
        return None
    return str(holder) if holder is not None else acquire(client, pool, run_id, ttl_s)


def release(client: redis.Redis, pool: str, run_id: str) -> None:
    """Release the pool's lock if ``run_id`` holds it (a late duplicate never frees another run's lock)."""
    client.eval(_RELEASE, 1, lock_key(pool), run_id)
